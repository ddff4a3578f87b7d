package dev.vmexportguard.export;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.cluster.ResourceWatches;
import dev.vmexportguard.support.AcceptedJobs;
import dev.vmexportguard.support.ApiServerRequests;
import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterCluster;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Exports followed to their end, with Harvester's image controller and KubeVirt played by the simulator. */
@QuarkusTest
@TestProfile(LifecycleTest.TwoSlots.class)
class LifecycleTest extends GuardIntegrationTest {

    @Inject
    ResourceWatches watches;

    public static class TwoSlots implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.exports.max-concurrent", "2");
        }
    }

    @jakarta.inject.Inject
    ExportJobs jobs;

    final List<String> requests = new ArrayList<>();

    record Export(String requestId, String vm, String disk, String image) {
    }

    /** Every export a test left running is completed, so that the next test has both slots. */
    @AfterEach
    void endLeftovers() {
        for (String id : requests) {
            if (finalEvent(id) == null) {
                cluster.guardImages(ns).stream()
                        .filter(i -> id.equals(i.getMetadata().getAnnotations().get("vm-export-guard.dev/request-id")))
                        .forEach(i -> simulator.complete(ns, i.getMetadata().getName(), 1));
            }
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> requests.stream().allMatch(id -> finalEvent(id) != null));
    }

    /** Every request sent is remembered, for {@link #endLeftovers}. */
    @Override
    protected String send(String vm, String disk) {
        String id = super.send(vm, disk);
        requests.add(id);
        return id;
    }

    Export started(String vm) {
        String disk = vm + "-disk-0-abcde";
        stoppedVm(vm, disk);
        String id = send(vm, null);
        Event started = awaitEvent(id, "STARTED");
        return new Export(id, vm, disk, started.body().path("image").path("name").asText());
    }

    @Test
    void exportIsFollowedToCompletionWithProgressInOrder() {
        Export export = started("vm1");
        assertThat(lockOf("vm1")).isEqualTo(export.requestId());

        simulator.progress(ns, export.image(), 35);
        awaitEvents(export.requestId(), 2);
        simulator.progress(ns, export.image(), 20);
        simulator.progress(ns, export.image(), 38);
        simulator.progress(ns, export.image(), 72);
        awaitEvents(export.requestId(), 3);
        simulator.complete(ns, export.image(), 10_737_418_240L);

        Event completed = awaitFinal(export.requestId());
        List<Event> events = topics.results(export.requestId());
        assertThat(events).extracting(Event::type).containsExactly("STARTED", "PROGRESS", "PROGRESS", "COMPLETED");
        assertThat(events.get(1).body().path("image").path("progress").asInt()).isEqualTo(35);
        assertThat(events.get(1).message()).contains("30%");
        assertThat(events.get(2).message()).contains("70%");
        assertThat(completed.reason()).isNull();
        assertThat(completed.headers()).containsEntry("ce_type", "dev.vmexportguard.export.completed");
        assertThat(events.get(0).headers()).containsEntry("ce_type", "dev.vmexportguard.export.started");
        assertThat(events.get(1).headers()).containsEntry("ce_type", "dev.vmexportguard.export.progress");
        assertThat(events.get(2).headers()).containsEntry("ce_type", "dev.vmexportguard.export.progress");
        assertThat(completed.body().path("image").path("size").asLong()).isEqualTo(10_737_418_240L);
        assertThat(completed.body().path("image").path("virtualSize").asLong()).isEqualTo(10_737_418_240L);
        assertThat(completed.body().path("image").path("storageClassName").asText()).isEqualTo("lh-" + export.image());
        assertThat(completed.body().path("image").path("displayName").asText()).isNotEmpty();
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
        assertThat(cluster.guardImages(ns)).hasSize(1);
        AuditApi.export(export.requestId(), 5).body("status", equalTo("COMPLETED"))
                .body("history.type", contains("RECEIVED", "STARTED", "PROGRESS", "PROGRESS", "COMPLETED"));
    }

    private void awaitEvents(String id, int count) {
        topics.awaitResults(id, count);
    }

    @Test
    void harvesterGivingUpFailsTheExportWithItsMessage() {
        Export export = started("vm1");

        simulator.failAfterRetries(ns, export.image(), "backing image download failed");

        Event failed = awaitFinal(export.requestId());
        assertThat(failed.type()).isEqualTo("FAILED");
        assertThat(failed.reason()).isEqualTo("EXPORT_FAILED");
        assertThat(failed.message()).contains("retry attempted 3/3 failed");
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @Test
    void imageDeletedBeforeCompletionFailsTheExport() {
        Export export = started("vm1");

        simulator.delete(ns, export.image());

        Event failed = awaitFinal(export.requestId());
        assertThat(failed.reason()).isEqualTo("IMAGE_DELETED");
        assertThat(failed.message()).contains(export.image());
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
    }

    @Test
    void vmStartedDuringTheCopyEndsTheExportAndRemovesTheImage() {
        Export export = started("vm1");
        simulator.progress(ns, export.image(), 15);

        simulator.startVm(ns, "vm1", export.disk());

        Event failed = awaitFinal(export.requestId());
        assertThat(failed.type()).isEqualTo("FAILED");
        assertThat(failed.reason()).isEqualTo("VM_STARTED_DURING_EXPORT");
        assertThat(failed.message()).contains(ns + "/vm1").contains("deleted");
        // the VMI is seen as soon as it exists, before KubeVirt gives it a phase
        assertThat(failed.body().path("observed").path("vms").get(0).path("vmiPhase").isTextual()).isTrue();
        await().untilAsserted(() -> assertThat(cluster.guardImages(ns)).isEmpty());
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
    }

    @Test
    void vmStartedBetweenTheCheckAndTheCopyIsCaughtByTheSecondCheck() {
        String disk = "vm1-disk-0-abcde";
        stoppedVm("vm1", disk);
        var vmi = cluster.vmi(ns, "vm1", "Scheduling", disk);
        // the request's check (on the watches) and the first fresh read (when the export gets its slot) do not
        // see the VMI yet: it appears between them and the image creation
        await().until(() -> watches.decisionView(ns, disk, "vm1") != null
                && watches.decisionView(ns, disk, "vm1").vmi("vm1").isPresent());
        watches.gone(vmi);
        server.expect().get().withPath("/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachineinstances")
                .andReturn(200, "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"VirtualMachineInstanceList\","
                        + "\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}").once();

        String id = send("vm1", null);

        Event failed = awaitFinal(id);
        assertThat(topics.results(id)).extracting(Event::type).containsExactly("FAILED");
        assertThat(failed.reason()).isEqualTo("VM_STARTED_DURING_EXPORT");
        assertThat(failed.message()).contains("vm1").contains("Scheduling");
        await().untilAsserted(() -> assertThat(cluster.allImages(ns)).isEmpty());
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
    }

    @Test
    void secondRequestForAVolumeBeingExportedIsRefused() {
        Export first = started("vm1");

        String second = send(null, first.disk());

        Event rejected = awaitFinal(second);
        assertThat(rejected.reason()).isEqualTo("EXPORT_IN_PROGRESS");
        assertThat(rejected.message()).contains(first.requestId());
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @Test
    void twoRequestsForOneVolumeAtOnceStartOneExport() {
        String disk = "vm1-disk-0-abcde";
        stoppedVm("vm1", disk);

        String a = send("vm1", null);
        String b = send(null, disk);

        List<Event> finals = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            finals.clear();
            topics.results(a).stream().filter(e -> !e.type().equals("PROGRESS")).findFirst().ifPresent(finals::add);
            topics.results(b).stream().filter(e -> !e.type().equals("PROGRESS")).findFirst().ifPresent(finals::add);
            return finals.size() == 2;
        });
        assertThat(finals).extracting(Event::type).containsExactlyInAnyOrder("STARTED", "REJECTED");
        assertThat(finals).filteredOn(e -> e.type().equals("REJECTED")).extracting(Event::reason)
                .containsExactly("EXPORT_IN_PROGRESS");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    /** Replicas of the guard share the database: the unique index, not memory, keeps one export per volume. */
    @Test
    void databaseAcceptsOneExportPerVolumeUnderConcurrentReplicas() throws Exception {
        // a stopped VM's volume: the export accepted first runs, and stays active while the others try
        stoppedVm("vm-shared", "shared-disk");
        int replicas = 6;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(replicas);
        List<java.util.concurrent.Future<Boolean>> outcomes = new ArrayList<>();
        for (int i = 0; i < replicas; i++) {
            String id = newRequestId();
            outcomes.add(pool.submit(() -> {
                go.await();
                try {
                    io.quarkus.narayana.jta.QuarkusTransaction.requiringNew().run(() -> jobs.accept(AcceptedJobs.pending(id, ns, "shared-disk")));
                    return true;
                } catch (ExportJobs.VolumeBusyException e) {
                    return false;
                }
            }));
        }
        go.countDown();
        long accepted = 0;
        for (var outcome : outcomes) {
            accepted += outcome.get(30, java.util.concurrent.TimeUnit.SECONDS) ? 1 : 0;
        }
        pool.shutdown();
        assertThat(accepted).isEqualTo(1);
        assertThat(jobs.activeOn(ns, "shared-disk")).isPresent();
        // the accepted job is started by the guard; its copy done, it ends
        await().atMost(Duration.ofSeconds(30)).until(() -> !cluster.guardImages(ns).isEmpty());
        simulator.complete(ns, cluster.guardImages(ns).get(0).getMetadata().getName(), 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> jobs.activeOn(ns, "shared-disk").isEmpty());
    }

    @Test
    void exportsBeyondTheLimitAreQueuedAndStartedWithFreshChecks() {
        Export a = started("vm-a");
        Export b = started("vm-b");
        stoppedVm("vm-c", "vm-c-disk-0-abcde");
        stoppedVm("vm-d", "vm-d-disk-0-abcde");

        String c = send("vm-c", null);
        Event queuedC = awaitEvent(c, "QUEUED");
        String d = send("vm-d", null);
        Event queuedD = awaitEvent(d, "QUEUED");

        assertThat(queuedC.body().path("queuePosition").asInt()).isEqualTo(1);
        assertThat(queuedD.body().path("queuePosition").asInt()).isEqualTo(2);
        assertThat(queuedC.message()).contains("position 1");
        assertThat(queuedC.headers().get("ce_type")).isEqualTo("dev.vmexportguard.export.queued");
        // the Kubernetes Event on the VM says it waits, and where
        await().untilAsserted(() -> assertThat(server.getClient().v1().events().inNamespace(ns).list().getItems())
                .filteredOn(e -> "vm-c".equals(e.getInvolvedObject().getName()) && "ExportQueued".equals(e.getReason()))
                .singleElement().satisfies(e -> {
                    assertThat(e.getType()).isEqualTo("Normal");
                    assertThat(e.getMessage()).contains("position 1");
                }));
        // d's VM is started while it waits: when its turn comes, the check done again refuses it
        simulator.startVm(ns, "vm-d", "vm-d-disk-0-abcde");

        simulator.complete(ns, a.image(), 1);
        Event startedC = awaitEvent(c, "STARTED");
        assertThat(startedC.body().path("image").path("name").asText()).isNotEmpty();
        simulator.complete(ns, b.image(), 1);

        Event refusedD = awaitFinal(d);
        assertThat(refusedD.type()).isEqualTo("REJECTED");
        assertThat(refusedD.reason()).isEqualTo("VM_RUNNING");
        assertThat(topics.results(d)).extracting(Event::type).containsExactly("QUEUED", "REJECTED");
        assertThat(cluster.guardImages(ns)).hasSize(3);
    }

    /**
     * Exports of different namespaces are started at the same time: a namespace whose pods the API server lists
     * slowly (3 s for each of the two fresh reads of a start) holds back its own export's start, not another
     * namespace's, accepted after it.
     */
    @Test
    void aNamespaceThatTheApiServerReadsSlowlyDoesNotHoldBackAnotherNamespacesStart() {
        stoppedVm("vm-slow", "vm-slow-disk-0-abcde");
        slowList("/api/v1/namespaces/" + ns + "/pods", new PodListBuilder().build(), 3000);
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(other, "web-disk");
        cluster.vm(other, "web", "Stopped", "web-disk");

        String slow = send("vm-slow", null);
        await().atMost(Duration.ofSeconds(10)).until(() -> jobs.find(slow)
                .map(j -> j.state == ExportJob.State.STARTING).orElse(false));
        String fast = newRequestId();
        topics.send(fast, request(fast, other, "web", null));

        Event fastStarted = awaitEvent(fast, "STARTED", Duration.ofSeconds(5));
        assertThat(topics.results(slow)).as("the slow namespace's export, accepted first, is still being started")
                .isEmpty();
        simulator.complete(other, fastStarted.body().path("image").path("name").asText(), 1);
        assertThat(awaitFinal(fast).type()).isEqualTo("COMPLETED");
        awaitEvent(slow, "STARTED", Duration.ofSeconds(30));
    }

    /**
     * The API server fails right after the image is created, before the guard has looked at the VMs once more: the
     * export ends FAILED with the API server's trouble as its reason, and the image it created is removed.
     */
    @Test
    void aClusterErrorRightAfterTheImageIsCreatedFailsTheExportAndRemovesTheImage() {
        stoppedVm("vm1", DISK);
        String pods = "/api/v1/namespaces/" + ns + "/pods";
        dev.vmexportguard.support.LostAnswers.afterCreate(server,
                dev.vmexportguard.support.LostAnswers.path("/apis/harvesterhci.io/v1beta1", ns, "virtualmachineimages"),
                () -> server.expect().get().withPath(pods)
                        .andReturn(500, dev.vmexportguard.support.LostAnswers.serverError()).always());

        String id = send("vm1", null);

        Event failed = awaitFinal(id);
        assertThat(failed.type()).isEqualTo("FAILED");
        assertThat(failed.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
        assertThat(failed.message()).contains("list pods in namespace " + ns);
        assertThat(failed.body().path("image").path("name").asText()).startsWith("vmexport-");
        assertThat(topics.results(id)).extracting(Event::type).containsExactly("FAILED");
        await().untilAsserted(() -> assertThat(cluster.allImages(ns)).isEmpty());
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
        AuditApi.export(id, 2).body("status", equalTo("FAILED")).body("reason", equalTo("CLUSTER_UNAVAILABLE"));
    }

    /** The README's promise: a request refused when it was decided is decided anew when sent again. */
    @Test
    void aRequestRefusedWhenDecidedIsServedWhenSentAgainOnceTheCauseIsFixed() {
        String id = send("vm1", null);
        Event refused = awaitFinal(id);
        assertThat(refused.reason()).isEqualTo("VM_NOT_FOUND");

        stoppedVm("vm1", DISK);
        topics.send(id, request(id, ns, "vm1", null));

        Event started = awaitEvent(id, "STARTED");
        String image = started.body().path("image").path("name").asText();
        assertThat(image).startsWith("vmexport-");
        assertThat(cluster.guardImages(ns)).hasSize(1);
        simulator.complete(ns, image, 1);
        awaitEvent(id, "COMPLETED");
        assertThat(topics.results(id)).extracting(Event::type)
                .containsSubsequence("REJECTED", "STARTED", "COMPLETED").doesNotContain("FAILED");
        assertThat(topics.results(id).get(0).type()).isEqualTo("REJECTED");
    }

    @Test
    void requestDeliveredAgainAfterCompletionGetsItsCurrentStateAndNoSecondImage() {
        Export export = started("vm1");
        simulator.complete(ns, export.image(), 1);
        Event completed = awaitFinal(export.requestId());
        AuditApi.export(export.requestId(), 3);
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
        ApiServerRequests api = new ApiServerRequests(server);
        api.drain();

        topics.send(export.requestId(), request(export.requestId(), ns, "vm1", null));

        List<Event> events = topics.awaitResults(export.requestId(), 3);
        Event again = events.get(2);
        assertThat(again.type()).isEqualTo("COMPLETED");
        assertThat(again.body().path("eventId").asText()).isEqualTo(completed.body().path("eventId").asText());
        assertThat(cluster.guardImages(ns)).hasSize(1);
        // between the two answers nothing in the namespace was created, changed or deleted
        List<ApiServerRequests.Request> between = api.drain();
        assertThat(ApiServerRequests.changes(between)).as("changing calls in %s", between)
                .noneMatch(r -> r.path().contains("/namespaces/" + ns + "/"));
    }
}
