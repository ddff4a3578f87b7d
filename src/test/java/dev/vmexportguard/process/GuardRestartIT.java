package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.support.ApiServerRequests;
import dev.vmexportguard.support.EventOrder;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.GuardProcessTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.HarvesterSimulator.Power;
import dev.vmexportguard.support.KafkaBrokerResource;
import dev.vmexportguard.support.Requests;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built guard, killed with SIGKILL during a burst of requests and again while exports run, then started again:
 * every request ends with exactly one final outcome, nothing is exported twice. Then a SIGTERM stops it cleanly.
 */
class GuardRestartIT extends GuardProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NS = "burst";
    private static final int STOPPED_VMS = 16;
    private static final int RUNNING_VMS = 4;
    private static final String GUIDED = "guided";
    private static final int GUIDED_VMS = 3;

    /** Harvester's backup controller answers only once a test lets it. */
    static final java.util.concurrent.atomic.AtomicBoolean backupsReady = new java.util.concurrent.atomic.AtomicBoolean();

    @BeforeAll
    static void startBackingServices() {
        startBackingServices("default", Map.of("GUARD_EXPORTS_MAX_CONCURRENT", "3", "QUARKUS_SHUTDOWN_TIMEOUT", "20s"));
        every(300, () -> simulator.advanceImages(NS, 10));
        every(300, () -> {
            if (backupsReady.get()) {
                simulator.readyBackups(GUIDED);
            }
            simulator.advanceImages(GUIDED, 5);
        });
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

        GuardProcess first = guard("first");
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

        GuardProcess second = guard("second");
        second.awaitReady(Duration.ofSeconds(60));
        // while exports run: some completed, others started and copying
        await().atMost(Duration.ofSeconds(90)).until(() -> count(topics, stopped, "COMPLETED") >= 3
                && count(topics, stopped, "STARTED") > count(topics, stopped, "COMPLETED"));
        second.kill();

        GuardProcess third = guard("third");
        third.awaitReady(Duration.ofSeconds(60));
        List<String> all = new ArrayList<>(stopped);
        all.addAll(running);
        await().atMost(Duration.ofSeconds(180)).until(() -> all.stream().allMatch(id -> finalTypes(topics, id).size() >= 1));

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
        for (String id : all) {
            List<String> published = EventOrder.checkTopic(id, topics.results(id));
            List<String> audited = EventOrder.checkAudit(id, auditHistory(third, id));
            assertThat(audited).as("events of %s in the audit and on the topic", id)
                    .containsExactlyInAnyOrderElementsOf(published);
        }
        // what reached the API server: one image created for each stopped VM's request, none for the others, whatever
        // the kills interrupted (a create asked again after a kill is answered 409 and changes nothing)
        List<String> created = calls.all().stream()
                .filter(r -> r.method().equals("POST") && r.succeeded()
                        && r.path().startsWith("/apis/harvesterhci.io/v1beta1/namespaces/" + NS + "/virtualmachineimages"))
                .map(r -> requestIdOf(r.body())).toList();
        assertThat(created).as("images created, by requestId").containsExactlyInAnyOrderElementsOf(stopped);
        List<ApiServerRequests.Request> burst = calls.all().stream()
                .filter(r -> r.path().contains("/namespaces/" + NS + "/")).toList();
        assertThat(burst.stream().filter(r -> r.path().startsWith("/apis/subresources.kubevirt.io/")))
                .as("no VM stopped or started").isEmpty();
        assertThat(burst.stream().filter(r -> r.method().equals("DELETE") && r.path().contains("virtualmachineimages")))
                .as("no image deleted").isEmpty();
        List<GenericKubernetesResource> images = api.getClient()
                .genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE).inNamespace(NS).list().getItems();
        Map<String, Long> imagesPerRequest = images.stream().collect(Collectors.groupingBy(
                i -> i.getMetadata().getAnnotations().get(KubernetesResources.ANNOTATION_REQUEST_ID), Collectors.counting()));
        assertThat(imagesPerRequest).hasSize(STOPPED_VMS).allSatisfy((id, n) -> assertThat(n).isEqualTo(1L));
        assertThat(imagesPerRequest.keySet()).containsExactlyInAnyOrderElementsOf(stopped);
        for (int i = 0; i < STOPPED_VMS; i++) {
            GenericKubernetesResource vm = api.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE)
                    .inNamespace(NS).withName("s" + i).get();
            assertThat(vm.getMetadata().getAnnotations()).as("lock of s%d", i)
                    .doesNotContainKey(KubernetesResources.ANNOTATION_EXPORT_LOCK);
        }

        // SIGTERM: the guard stops within its shutdown timeout and has committed what it consumed; a dashboard left
        // open does not hold the stop for the shutdown timeout: its live stream ends
        var dashboard = third.stream("/api/dashboard/stream");
        assertThat(dashboard.statusCode()).isEqualTo(200);
        long stopping = System.nanoTime();
        assertThat(third.terminate(Duration.ofSeconds(30))).as("stopped on SIGTERM").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - stopping)).as("stopped with a dashboard open")
                .isLessThan(Duration.ofSeconds(15));
        assertThat(new String(dashboard.body().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                .as("the stream ended").contains("\"type\":\"CONNECTED\"");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KafkaBrokerResource.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("vm-export-guard")
                    .partitionsToOffsetAndMetadata().get();
            TopicPartition partition = new TopicPartition(GuardTopics.REQUESTS, 0);
            long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition).get().offset();
            assertThat(committed.get(partition).offset()).isEqualTo(end);
        }
    }

    /**
     * Guided exports (stop, back up, export, start again), the guard killed while KubeVirt stops the VMs, again while
     * it waits for the backups, and again as the exports end: each VM is stopped once and started once, each backup
     * and image created once, each request ends once with its events in order, and the VMs run again.
     */
    @Test
    void killedWhileStoppingWaitingForBackupsAndEndingEachVmStoppedAndStartedOnce() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < GUIDED_VMS; i++) {
            String disk = "g" + i + "-disk-0-aaaaa";
            new HarvesterCluster(api.getClient()).volume(GUIDED, disk);
            simulator.runningVm(GUIDED, "g" + i, "RerunOnFailure", disk);
            simulator.servePower(api, GUIDED, "g" + i, Duration.ofSeconds(4), Power.WORKS);
            ids.add(Requests.newRequestId());
        }
        GuardTopics topics = GuardTopics.get();

        GuardProcess first = guard("guided-first");
        first.awaitReady(Duration.ofSeconds(60));
        for (int i = 0; i < GUIDED_VMS; i++) {
            topics.send(ids.get(i), Requests.request(ids.get(i), GUIDED, "g" + i, null).replace("}",
                    ",\"onRunning\":\"STOP\",\"backupFirst\":true,\"restartAfter\":true}"));
        }
        // KubeVirt is stopping the VMs (they take 4 s)
        await().atMost(Duration.ofSeconds(60)).until(() -> count(topics, ids, "STOPPING_VM") == GUIDED_VMS);
        first.kill();
        assertThat(count(topics, ids, "VM_STOPPED")).as("killed while the VMs stop").isLessThan(GUIDED_VMS);

        GuardProcess second = guard("guided-second");
        second.awaitReady(Duration.ofSeconds(60));
        // every backup asked for, none ready
        await().atMost(Duration.ofSeconds(60)).until(() -> api.getClient().genericKubernetesResources(
                KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(GUIDED).list().getItems().size() == GUIDED_VMS);
        second.kill();
        assertThat(count(topics, ids, "BACKUP_READY")).isZero();

        backupsReady.set(true);
        GuardProcess third = guard("guided-third");
        third.awaitReady(Duration.ofSeconds(60));
        // the first export ends: killed as the exports end and the VMs are started again
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(50))
                .until(() -> count(topics, ids, "COMPLETED") >= 1);
        third.kill();

        GuardProcess fourth = guard("guided-fourth");
        fourth.awaitReady(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(120)).until(() -> count(topics, ids, "VM_RESTARTED") == GUIDED_VMS);

        for (String id : ids) {
            List<String> published = EventOrder.checkTopic(id, topics.results(id));
            assertThat(finalTypes(topics, id)).as("final events of %s", id).containsOnly("COMPLETED");
            assertThat(EventOrder.checkAudit(id, auditHistory(fourth, id))).as("audit of %s", id)
                    .containsExactlyInAnyOrderElementsOf(published);
        }
        List<ApiServerRequests.Request> guided = calls.all().stream()
                .filter(r -> r.path().contains("/namespaces/" + GUIDED + "/")).toList();
        for (int i = 0; i < GUIDED_VMS; i++) {
            String vm = "g" + i;
            assertThat(guided.stream().filter(r -> r.method().equals("PUT") && r.path().endsWith("/" + vm + "/stop")))
                    .as("stops of %s", vm).hasSize(1);
            assertThat(guided.stream().filter(r -> r.method().equals("PUT") && r.path().endsWith("/" + vm + "/start")))
                    .as("starts of %s", vm).hasSize(1);
            GenericKubernetesResource current = api.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE)
                    .inNamespace(GUIDED).withName(vm).get();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(api.getClient()
                    .genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(GUIDED).withName(vm).get()
                    .<String>get("status", "printableStatus")).as("%s runs again", vm).isEqualTo("Running"));
            Map<String, String> annotations = current.getMetadata().getAnnotations();
            assertThat(annotations == null ? Map.of() : annotations).doesNotContainKey(KubernetesResources.ANNOTATION_EXPORT_LOCK);
        }
        List<String> imagesCreated = guided.stream().filter(r -> r.method().equals("POST") && r.succeeded()
                && r.path().endsWith("/virtualmachineimages")).map(r -> requestIdOf(r.body())).toList();
        assertThat(imagesCreated).as("images created, by requestId").containsExactlyInAnyOrderElementsOf(ids);
        List<String> backupsCreated = guided.stream().filter(r -> r.method().equals("POST") && r.succeeded()
                && r.path().endsWith("/virtualmachinebackups")).map(r -> requestIdOf(r.body())).toList();
        assertThat(backupsCreated).as("backups created, by requestId").containsExactlyInAnyOrderElementsOf(ids);
        assertThat(fourth.terminate(Duration.ofSeconds(30))).as("stopped on SIGTERM").isTrue();
    }

    private static String requestIdOf(String body) {
        try {
            return JSON.readTree(body).path("metadata").path("annotations").path(KubernetesResources.ANNOTATION_REQUEST_ID)
                    .asText();
        } catch (Exception e) {
            throw new AssertionError("an image create whose body is not JSON: " + body, e);
        }
    }

    /** The request's audit rows, oldest first, as {@link EventOrder} reads them. */
    private static List<EventOrder.Seen> auditHistory(GuardProcess guard, String id) throws Exception {
        JsonNode rows = JSON.readTree(guard.get("/api/audit?limit=500&requestId=" + id)).path("items");
        List<JsonNode> sorted = new ArrayList<>();
        rows.forEach(sorted::add);
        sorted.sort(java.util.Comparator.comparingLong(row -> row.path("id").asLong()));
        return sorted.stream().map(row -> new EventOrder.Seen(row.path("eventId").asText(), row.path("type").asText()))
                .toList();
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
