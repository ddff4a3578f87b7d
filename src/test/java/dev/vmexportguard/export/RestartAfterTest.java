package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.support.AcceptedJobs;
import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterSimulator.Power;
import dev.vmexportguard.support.Requests;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.Watch;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * restartAfter keeps its word: the VMs the guard stopped are started again once they are Stopped, however the export
 * ended and however long they take to stop, up to the restart deadline; with the run strategy they had, and
 * Harvester's annotation of it in agreement.
 */
@QuarkusTest
@TestProfile(RestartAfterTest.ShortWaits.class)
class RestartAfterTest extends GuardIntegrationTest {
    private static final String HARVESTER_RUN_STRATEGY = "harvesterhci.io/vmRunStrategy";

    public static class ShortWaits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.exports.stop-timeout", "2s", "guard.exports.restart-deadline", "12s");
        }
    }

    @Inject
    ExportJobs jobs;

    Watch vmControllers;

    @BeforeEach
    void createDiskAndPlayVmControllers() {
        cluster.volume(ns, DISK);
        vmControllers = simulator.playVmControllers(ns);
    }

    @AfterEach
    void stopPlaying() {
        vmControllers.close();
    }

    GenericKubernetesResource vm() {
        return cluster.vms(ns).withName("vm1").get();
    }

    Object runStrategy() {
        return vm().get("spec", "runStrategy");
    }

    String annotation() {
        Map<String, String> annotations = vm().getMetadata().getAnnotations();
        return annotations == null ? null : annotations.get(HARVESTER_RUN_STRATEGY);
    }

    ExportJob.State state(String id) {
        return jobs.find(id).map(j -> j.state).orElse(null);
    }

    void awaitEnded(String id) {
        await().atMost(Duration.ofSeconds(30)).until(() -> state(id) == ExportJob.State.ENDED);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "RerunOnFailure | vm1 stop {}; vm1 start {}",
        // KubeVirt's stop turned it into Halted; it is put back by setting the strategy, not by a start call
        "Always         | vm1 stop {}"})
    void vmStoppedOnlyAfterTheStopTimeoutIsStartedAgainOnceStopped(String strategy, String calls) {
        simulator.runningVm(ns, "vm1", strategy, DISK);
        simulator.runStrategyAnnotation(ns, "vm1", strategy);
        simulator.servePower(server, ns, "vm1", Duration.ofSeconds(5), Power.STOPS_LATE);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        Event failed = awaitEvent(id, "FAILED");
        assertThat(failed.reason()).isEqualTo("STOP_TIMEOUT");
        assertThat(failed.message()).contains(ns + "/vm1 (Stopping");
        // the export has ended: the job holds no slot, and waits for the VM to stop
        await().until(() -> state(id) == ExportJob.State.RESTARTING);
        assertThat(state(id).holdsSlot()).isFalse();
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}");

        Event restarted = awaitEvent(id, "VM_RESTARTED");

        assertThat(restarted.message()).contains(ns + "/vm1");
        awaitEnded(id);
        assertThat(types(id)).containsExactly("STOPPING_VM", "FAILED", "VM_RESTARTED");
        assertThat(simulator.subresourceCalls()).containsExactly(calls.split("; "));
        assertThat(runStrategy()).isEqualTo(strategy);
        assertThat(annotation()).isEqualTo(strategy);
        await().untilAsserted(() -> assertThat((Object) vm().get("status", "printableStatus")).isEqualTo("Running"));
        assertThat(cluster.allImages(ns)).isEmpty();
        AuditApi.export(id, 4).body("status", equalTo("VM_RESTARTED"));
    }

    @Test
    void vmThatNeverStopsGetsRestartFailedAtTheDeadline() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(100), Power.STOP_NEVER_COMPLETES);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        assertThat(awaitEvent(id, "FAILED").reason()).isEqualTo("STOP_TIMEOUT");
        await().until(() -> state(id) == ExportJob.State.RESTARTING);
        Event gaveUp = awaitEvent(id, "RESTART_FAILED");

        assertThat(gaveUp.reason()).isEqualTo("RESTART_FAILED");
        assertThat(gaveUp.message()).contains(ns + "/vm1").contains("had not reached Stopped 12s after the export ended")
                .contains("it shows Running, VMI phase Running").contains("start it by hand");
        awaitEnded(id);
        assertThat(types(id)).containsExactly("STOPPING_VM", "FAILED", "RESTART_FAILED");
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}");
        AuditApi.export(id, 4).body("status", equalTo("RESTART_FAILED")).body("reason", equalTo("RESTART_FAILED"));
    }

    /**
     * Harvester's webhook gives a VM leaving Halted the strategy of its annotation: the guard writes both, so the VM
     * gets the strategy it had, and the annotation says so, also when the annotation was behind.
     */
    @ParameterizedTest(name = "{0}, annotation {1}")
    @CsvSource({"Once, Once", "Always, RerunOnFailure"})
    void runStrategyIsPutBackWithHarvestersAnnotation(String strategy, String annotated) {
        simulator.runningVm(ns, "vm1", strategy, DISK);
        simulator.runStrategyAnnotation(ns, "vm1", annotated);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(300), Power.STOPS_LATE);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        assertThat(runStrategy()).isEqualTo("Halted");
        simulator.complete(ns, image, 1);
        awaitEvent(id, "VM_RESTARTED");
        awaitEnded(id);

        await().untilAsserted(() -> assertThat((Object) vm().get("status", "printableStatus")).isEqualTo("Running"));
        assertThat(runStrategy()).isEqualTo(strategy);
        assertThat(annotation()).isEqualTo(strategy);
        assertThat(types(id)).containsExactly("STOPPING_VM", "VM_STOPPED", "STARTED", "COMPLETED", "VM_RESTARTED");
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}");
    }

    /**
     * A job whose start of {@code vm} was recorded (ASKED) by a leader that stopped before or after asking:
     * {@code askedAtVersion} is the VM's resourceVersion it recorded.
     */
    private String restartingJob(String vm, String disk, String askedAtVersion) {
        String id = Requests.newRequestId();
        ExportJob job = AcceptedJobs.pending(id, ns, disk);
        job.vmName = vm;
        job.state = ExportJob.State.RESTARTING;
        job.outcome = "COMPLETED";
        job.endedAt = Instant.now();
        job.restartDeadline = Instant.now().plus(Duration.ofMinutes(10));
        job.stoppedVms = new ArrayList<>(List.of(
                new ExportJob.StoppedVm(vm, "RerunOnFailure", ExportJob.Restart.ASKED, askedAtVersion)));
        QuarkusTransaction.requiringNew().run(() -> jobs.accept(job));
        return id;
    }

    /**
     * A leader that stopped between recording a VM's start and asking for it: the VM is unchanged since (a start that
     * reached the API server changes it), so the next leader asks for it, once; a VM that changed since the start was
     * recorded is not asked a second time.
     */
    @Test
    void aStartRecordedButNeverAskedIsAskedByTheNextLeaderAndAChangedVmIsNotAskedAgain() {
        cluster.vm(ns, "vm1", "Stopped", DISK);
        cluster.volume(ns, "vm2-disk-0");
        cluster.vm(ns, "vm2", "Stopped", "vm2-disk-0");
        String unchanged = vm().getMetadata().getResourceVersion();
        String vm2Then = cluster.vms(ns).withName("vm2").get().getMetadata().getResourceVersion();
        // vm2 changed after its start was recorded: the start may have reached KubeVirt, and someone stopped it since
        cluster.vms(ns).withName("vm2").edit(v -> {
            v.getMetadata().setLabels(Map.of("touched", "after-the-start"));
            return v;
        });

        simulator.servePower(server, ns, "vm1", Duration.ofMillis(100), Power.WORKS);
        String neverAsked = restartingJob("vm1", DISK, unchanged);
        String mayHaveBeenAsked = restartingJob("vm2", "vm2-disk-0", vm2Then);

        Event restarted = awaitEvent(neverAsked, "VM_RESTARTED");
        assertThat(restarted.message()).contains(ns + "/vm1");
        awaitEnded(neverAsked);
        assertThat(runStrategy()).isEqualTo("RerunOnFailure");
        await().atMost(Duration.ofSeconds(10)).until(() -> "Running".equals(vm().get("status", "printableStatus")));
        await().during(GuardTopics.SETTLE).atMost(Duration.ofSeconds(5))
                .until(() -> topics.results(mayHaveBeenAsked).isEmpty());
        assertThat(state(mayHaveBeenAsked)).isEqualTo(ExportJob.State.RESTARTING);
        assertThat(cluster.vms(ns).withName("vm2").get().<String>get("spec", "runStrategy")).isEqualTo("Halted");
        assertThat(types(neverAsked)).containsExactly("VM_RESTARTED");
    }
}
