package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.support.ApiServerRequests;
import dev.vmexportguard.support.EventOrder;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.HarvesterSimulator;
import dev.vmexportguard.support.HarvesterSimulator.Power;
import dev.vmexportguard.support.KafkaBrokerResource;
import dev.vmexportguard.support.ProcessBackingServices;
import dev.vmexportguard.support.Requests;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built guard, killed with SIGKILL during a burst of requests and again while exports run, then started again:
 * every request ends with exactly one final outcome, its events in order, and nothing is exported twice (counted in
 * what reached the API server). Then a SIGTERM stops it cleanly. Again with exports that stop their VMs, back them
 * up and start them again: killed while it stops VMs, while it waits for the backups and while it ends the exports;
 * no VM is stopped or started twice, no backup or image is created twice.
 */
class GuardRestartIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NS = "burst";
    private static final int STOPPED_VMS = 16;
    private static final int RUNNING_VMS = 4;
    private static final String GUIDED_NS = "guided";
    private static final int GUIDED_VMS = 4;

    static ProcessBackingServices services;
    static KubernetesServer api;
    static Map<String, String> environment;
    static ScheduledExecutorService imageController;
    static HarvesterSimulator simulator;
    static final AtomicBoolean backupsBecomeReady = new AtomicBoolean();

    @BeforeAll
    static void startBackingServices() {
        services = ProcessBackingServices.start("default");
        api = services.api();
        environment = services.environment();
        environment.put("GUARD_EXPORTS_MAX_CONCURRENT", "3");
        environment.put("QUARKUS_SHUTDOWN_TIMEOUT", "20s");
        imageController = Executors.newSingleThreadScheduledExecutor();
        simulator = new HarvesterSimulator(api.getClient());
        imageController.scheduleWithFixedDelay(() -> {
            simulator.advanceImages(NS, 10);
            simulator.advanceImages(GUIDED_NS, 10);
            if (backupsBecomeReady.get()) {
                try {
                    simulator.readyBackups(GUIDED_NS);
                } catch (RuntimeException e) {
                    // changed under us: next tick
                }
            }
        }, 300, 300, TimeUnit.MILLISECONDS);
    }

    @AfterAll
    static void stopBackingServices() {
        imageController.shutdownNow();
        services.stop();
    }

    @Test
    void killedTwiceEveryRequestEndsOnceAndNothingIsExportedTwice() throws Exception {
        HarvesterCluster cluster = new HarvesterCluster(api.getClient());
        List<String> stopped = new ArrayList<>();
        List<String> running = new ArrayList<>();
        for (int i = 0; i < STOPPED_VMS; i++) {
            cluster.volume(NS, "s" + i + "-disk-0-aaaaa");
            cluster.vm(NS, "s" + i, "Stopped", "s" + i + "-disk-0-aaaaa");
            stopped.add(Requests.newRequestId());
        }
        for (int i = 0; i < RUNNING_VMS; i++) {
            cluster.volume(NS, "r" + i + "-disk-0-aaaaa");
            cluster.vm(NS, "r" + i, "Running", "r" + i + "-disk-0-aaaaa");
            cluster.vmi(NS, "r" + i, "Running", "r" + i + "-disk-0-aaaaa");
            running.add(Requests.newRequestId());
        }
        GuardTopics topics = GuardTopics.get();

        GuardProcess first = GuardProcess.start("first", environment);
        first.awaitReady(Duration.ofSeconds(60));
        // the built guard serves no OpenAPI document or Swagger UI unless switched on, and no API without a token
        assertThat(first.status("/q/openapi")).isEqualTo(404);
        assertThat(first.status("/q/swagger-ui/")).isEqualTo(404);
        assertThat(first.status("/api/audit")).isEqualTo(401);
        for (int i = 0; i < STOPPED_VMS; i++) {
            String id = stopped.get(i);
            topics.send(id, Requests.request(id, NS, "s" + i, null));
            if (i % 4 == 0) {
                topics.send(id, Requests.request(id, NS, "s" + i, null));
            }
            if (i < RUNNING_VMS) {
                topics.send(running.get(i), Requests.request(running.get(i), NS, "r" + i, null));
            }
        }
        // during the burst: some requests answered, most not
        await().atMost(Duration.ofSeconds(60)).until(() -> answered(topics, stopped) >= 2);
        first.kill();

        GuardProcess second = GuardProcess.start("second", environment);
        second.awaitReady(Duration.ofSeconds(60));
        // while exports run: some completed, others started and copying
        await().atMost(Duration.ofSeconds(90)).until(() -> count(topics, stopped, "COMPLETED") >= 3
                && count(topics, stopped, "STARTED") > count(topics, stopped, "COMPLETED"));
        second.kill();

        GuardProcess third = GuardProcess.start("third", environment);
        third.awaitReady(Duration.ofSeconds(60));
        List<String> all = new ArrayList<>(stopped);
        all.addAll(running);
        await().atMost(Duration.ofSeconds(180)).until(() -> all.stream().allMatch(id -> finalTypes(topics, id).size() >= 1));
        // late duplicates would come now
        Thread.sleep(GuardTopics.SETTLE.toMillis());

        for (String id : stopped) {
            assertThat(finalTypes(topics, id)).as("final events on the topic for %s", id).containsOnly("COMPLETED");
            assertThat(auditedFinalTypes(third, id)).as("final events in the audit for %s", id).containsOnly("COMPLETED");
        }
        for (String id : all) {
            Map<String, Set<String>> idsPerType = new HashMap<>();
            topics.results(id).forEach(e -> idsPerType.computeIfAbsent(e.type() + (e.type().equals("PROGRESS")
                    ? e.message() : ""), k -> new HashSet<>()).add(e.body().path("eventId").asText()));
            assertThat(idsPerType).as("an event published again keeps its eventId (%s)", id)
                    .allSatisfy((type, ids) -> assertThat(ids).hasSize(1));
        }
        for (String id : running) {
            assertThat(finalTypes(topics, id)).as("final events for %s", id).isNotEmpty().containsOnly("REJECTED");
            assertThat(auditedFinalTypes(third, id)).isNotEmpty().containsOnly("REJECTED");
        }
        checkEventOrder(topics, third, all);
        // what reached the API server: one image created for each stopped VM's request, none for a running one's
        Map<String, Long> imageCreates = creates(NS, "virtualmachineimages");
        assertThat(imageCreates).as("image creates per request").containsOnlyKeys(stopped)
                .allSatisfy((id, n) -> assertThat(n).as("image creates of %s", id).isEqualTo(1L));
        assertThat(ApiServerRequests.changes(services.requests().all()))
                .as("nothing deleted in the namespace").noneMatch(r -> r.method().equals("DELETE")
                        && r.path().contains("/namespaces/" + NS + "/virtualmachineimages"));
        for (int i = 0; i < STOPPED_VMS; i++) {
            GenericKubernetesResource vm = api.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE)
                    .inNamespace(NS).withName("s" + i).get();
            assertThat(vm.getMetadata().getAnnotations()).as("lock of s%d", i)
                    .doesNotContainKey(KubernetesResources.ANNOTATION_EXPORT_LOCK);
        }

        // SIGTERM: the guard stops within its shutdown timeout and has committed what it consumed
        assertThat(third.terminate(Duration.ofSeconds(30))).as("stopped on SIGTERM").isTrue();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KafkaBrokerResource.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("vm-export-guard")
                    .partitionsToOffsetAndMetadata().get();
            TopicPartition partition = new TopicPartition(GuardTopics.REQUESTS, 0);
            long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition).get().offset();
            assertThat(committed.get(partition).offset()).isEqualTo(end);
        }
    }

    @Test
    void killedWhileStoppingWhileWaitingForBackupsAndWhileEndingNothingIsDoneTwice() throws Exception {
        HarvesterCluster cluster = new HarvesterCluster(api.getClient());
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < GUIDED_VMS; i++) {
            String disk = "g" + i + "-disk-0-aaaaa";
            cluster.volume(GUIDED_NS, disk);
            simulator.runningVm(GUIDED_NS, "g" + i, "RerunOnFailure", disk);
            simulator.servePower(api, GUIDED_NS, "g" + i, Duration.ofSeconds(4), Power.WORKS);
            ids.add(Requests.newRequestId());
        }
        GuardTopics topics = GuardTopics.get();
        List<String> calls = simulator.subresourceCalls();

        // killed while it stops VMs: a stop asked, the VMs still stopping
        GuardProcess first = GuardProcess.start("guided-first", environment);
        first.awaitReady(Duration.ofSeconds(60));
        for (int i = 0; i < GUIDED_VMS; i++) {
            String id = ids.get(i);
            topics.send(id, Requests.request(id, GUIDED_NS, "g" + i, null).replace("}",
                    ",\"onRunning\":\"STOP\",\"backupFirst\":true,\"restartAfter\":true}"));
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> calls.stream().anyMatch(c -> c.contains(" stop ")));
        first.kill();
        assertThat(calls.stream().filter(c -> c.contains(" start "))).isEmpty();

        // killed while it waits for the backups: created, none ready
        GuardProcess second = GuardProcess.start("guided-second", environment);
        second.awaitReady(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
                .until(() -> creates(GUIDED_NS, "virtualmachinebackups").size() >= 2);
        second.kill();
        assertThat(count(topics, ids, "STARTED")).isZero();

        // killed while it ends the exports: a VM being started again
        backupsBecomeReady.set(true);
        GuardProcess third = GuardProcess.start("guided-third", environment);
        third.awaitReady(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(50))
                .until(() -> calls.stream().anyMatch(c -> c.contains(" start ")));
        third.kill();

        GuardProcess fourth = GuardProcess.start("guided-fourth", environment);
        fourth.awaitReady(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(120)).until(() -> count(topics, ids, "VM_RESTARTED") == GUIDED_VMS);
        Thread.sleep(GuardTopics.SETTLE.toMillis());

        for (String id : ids) {
            assertThat(finalTypes(topics, id)).as("final events on the topic for %s", id).containsOnly("COMPLETED");
        }
        checkEventOrder(topics, fourth, ids);
        // what reached the API server: each VM stopped once and started once, one backup and one image per request
        for (int i = 0; i < GUIDED_VMS; i++) {
            String vm = "g" + i;
            assertThat(calls.stream().filter(c -> c.startsWith(vm + " stop "))).as("stops of %s in %s", vm, calls)
                    .hasSize(1);
            assertThat(calls.stream().filter(c -> c.startsWith(vm + " start "))).as("starts of %s in %s", vm, calls)
                    .hasSize(1);
            GenericKubernetesResource current = api.getClient()
                    .genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(GUIDED_NS).withName(vm)
                    .get();
            Map<String, String> annotations = current.getMetadata().getAnnotations();
            assertThat(annotations == null ? Map.of() : annotations).as("lock of %s", vm)
                    .doesNotContainKey(KubernetesResources.ANNOTATION_EXPORT_LOCK);
        }
        assertThat(creates(GUIDED_NS, "virtualmachinebackups")).as("backup creates per request")
                .containsOnlyKeys(ids).allSatisfy((id, n) -> assertThat(n).as("backup creates of %s", id).isEqualTo(1L));
        assertThat(creates(GUIDED_NS, "virtualmachineimages")).as("image creates per request")
                .containsOnlyKeys(ids).allSatisfy((id, n) -> assertThat(n).as("image creates of %s", id).isEqualTo(1L));
        assertThat(fourth.terminate(Duration.ofSeconds(30))).as("stopped on SIGTERM").isTrue();
    }

    /**
     * Each request's events on the topic and in the audit in their order, one final event; the audit holds the same
     * events as the topic, in the same order.
     */
    private static void checkEventOrder(GuardTopics topics, GuardProcess guard, List<String> ids) throws Exception {
        for (String id : ids) {
            List<String> published = EventOrder.checkTopic(id, topics.results(id));
            List<EventOrder.Seen> history = new ArrayList<>();
            JSON.readTree(guard.get("/api/exports/" + id + "?limit=500")).path("history").forEach(row ->
                    history.add(new EventOrder.Seen(row.path("eventId").asText(), row.path("type").asText())));
            assertThat(EventOrder.checkAudit(id, history)).as("audited events of %s", id).isEqualTo(published);
        }
    }

    /** POSTs of {@code resource} in {@code ns} that reached the API server, per request (the request-id annotation). */
    private static Map<String, Long> creates(String ns, String resource) {
        return services.requests().all().stream()
                .filter(r -> r.method().equals("POST") && r.path().startsWith(
                        "/apis/harvesterhci.io/v1beta1/namespaces/" + ns + "/" + resource))
                .collect(Collectors.groupingBy(r -> {
                    try {
                        return JSON.readTree(r.body()).path("metadata").path("annotations")
                                .path(KubernetesResources.ANNOTATION_REQUEST_ID).asText();
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException(r.body(), e);
                    }
                }, Collectors.counting()));
    }

    private static long answered(GuardTopics topics, List<String> ids) {
        return ids.stream().filter(id -> !topics.results(id).isEmpty()).count();
    }

    private static long count(GuardTopics topics, List<String> ids, String type) {
        return ids.stream().filter(id -> topics.results(id).stream().anyMatch(e -> e.type().equals(type))).count();
    }

    private static Set<String> finalTypes(GuardTopics topics, String id) {
        Set<String> types = new HashSet<>();
        topics.results(id).stream().map(GuardTopics.Event::type)
                .filter(t -> t.equals("REJECTED") || t.equals("COMPLETED") || t.equals("FAILED")).forEach(types::add);
        return types;
    }

    private static Set<String> auditedFinalTypes(GuardProcess guard, String id) throws Exception {
        JsonNode rows = JSON.readTree(guard.get("/api/audit?limit=500&requestId=" + id)).path("items");
        Set<String> types = new HashSet<>();
        rows.forEach(row -> {
            String type = row.path("type").asText();
            if (type.equals("REJECTED") || type.equals("COMPLETED") || type.equals("FAILED")) {
                types.add(type);
            }
        });
        return types;
    }
}
