package dev.vmexportguard.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.ResourceWatches;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.export.ExportJobs;
import dev.vmexportguard.support.ApiServerRequests;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Requests are decided on what the guard's watches show, with no API read, and a refusal because something uses the
 * volume stands on it; but whatever acts reads afresh first. Here the watches are made to lag behind the cluster, as
 * a watch does for a moment after each change: what they show is set to an older state of the objects, exactly as
 * the informers' handlers set what a watch tells.
 */
@QuarkusTest
class WatchedDecisionsTest extends GuardIntegrationTest {

    @Inject
    ResourceWatches watches;

    @Inject
    ClusterReader reader;

    @Inject
    ExportJobs jobs;

    @Test
    void aVmStartedBetweenTheWatchedReadAndTheFreshOneIsStillCaught() {
        cluster.volume(ns, DISK);
        GenericKubernetesResource stopped = cluster.vm(ns, "vm1", "Stopped", DISK);
        awaitWatched(view -> view.vm("vm1").map(vm -> "Stopped".equals(vm.printableStatus())).orElse(false));
        // the VM starts; the watches have not caught up yet: they still show it stopped, with no VMI and no pod
        GenericKubernetesResource vmi = cluster.vmi(ns, "vm1", "Running", DISK);
        Pod launcher = cluster.launcherPod(ns, "vm1", "Running", DISK);
        GenericKubernetesResource running = cluster.vms(ns).withName("vm1").get();
        running.setAdditionalProperty("status", java.util.Map.of("printableStatus", "Running", "created", true,
                "ready", true, "runStrategy", "RerunOnFailure"));
        String startedAt = cluster.vms(ns).resource(running).updateStatus().getMetadata().getResourceVersion();
        awaitWatched(view -> view.vmi("vm1").isPresent() && !view.pods().isEmpty()
                && view.vm("vm1").map(vm -> "Running".equals(vm.printableStatus())).orElse(false));
        watches.seen(stopped);
        watches.gone(vmi);
        watches.gone(launcher);

        String id = send(null, DISK);

        // decided on the watches, which show the VM stopped: accepted (an export job is recorded); then the fresh
        // read before the image is created sees it running: refused, nothing created, the VM untouched
        Event end = awaitFinal(id);
        assertThat(jobs.find(id)).as("accepted on the watches").isPresent();
        assertThat(end.type()).isEqualTo("REJECTED");
        assertThat(end.reason()).isEqualTo("VM_RUNNING");
        assertThat(end.body().path("observed").path("vms").get(0).path("printableStatus").asText())
                .isEqualTo("Running");
        assertThat(cluster.allImages(ns)).isEmpty();
        assertThat(types(id)).containsExactly("REJECTED");
        assertThat(cluster.vms(ns).withName("vm1").get().getMetadata().getResourceVersion()).isEqualTo(startedAt);
    }

    @Test
    void aRefusalBecauseTheVolumeIsInUseStandsOnTheWatchesWithNoRead() {
        vmWithDisk("vm1", "Running", DISK);
        cluster.vmi(ns, "vm1", "Running", DISK);
        cluster.launcherPod(ns, "vm1", "Running", DISK);
        awaitWatched(view -> view.vmi("vm1").isPresent() && !view.pods().isEmpty());
        ApiServerRequests api = new ApiServerRequests(server).recordInBackground();
        api.drain();

        String id = send(null, DISK);
        Event refused = topics.awaitResult(id);

        assertThat(refused.type()).isEqualTo("REJECTED");
        assertThat(refused.reason()).isEqualTo("VM_RUNNING");
        assertThat(jobs.find(id)).as("refused at once, never accepted").isEmpty();
        List<ApiServerRequests.Request> reads = api.drain().stream()
                .filter(r -> "GET".equals(r.method()) && r.path().contains("/namespaces/" + ns + "/"))
                .toList();
        assertThat(reads).as("API reads of the namespace made to decide").isEmpty();
        api.close();
    }

    @Test
    void aRefusalBecauseSomethingIsMissingIsReadAgainFresh() {
        // the VM and its volume were created a moment ago: the watches have not shown them yet
        cluster.volume(ns, DISK);
        GenericKubernetesResource vm = cluster.vm(ns, "vm1", "Stopped", DISK);
        awaitWatched(view -> view.vm("vm1").isPresent() && view.volume(DISK).isPresent());
        watches.gone(vm);
        watches.gone(cluster.client().persistentVolumeClaims().inNamespace(ns).withName(DISK).get());
        assertThat(reader.watched(ns, DISK, "vm1")).hasValueSatisfying(view -> assertThat(view.vms()).isEmpty());

        String id = send("vm1", null);

        Event first = topics.awaitResult(id);
        assertThat(first.type()).as("%s %s", first.reason(), first.message()).isEqualTo("STARTED");
        Event started = first;
        simulator.complete(ns, started.body().path("image").path("name").asText(), 1);
        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");
    }

    private void awaitWatched(java.util.function.Predicate<ClusterSnapshot> shows) {
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            Optional<ClusterSnapshot> view = reader.watched(ns, DISK, "vm1");
            return view.isPresent() && shows.test(view.get());
        });
    }
}
