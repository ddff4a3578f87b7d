package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterSimulator;
import dev.vmexportguard.support.OneExportSlot;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A queued export is decided again when it gets its slot, and so are the requester's rights. */
@QuarkusTest
@TestProfile(OneExportSlot.class)
class RightsAtSlotTest extends GuardIntegrationTest {

    @Test
    void aQueuedStopNeverStopsAVmThatJoinedTheVolumeLaterAndThatTheRequesterMayNotStop() {
        String requester = "alice-" + ns + "@example.com";
        stoppedVm("holder", "holder-disk");
        String holding = send("holder", null);
        Event started = awaitEvent(holding, "STARTED");
        stoppedVm("vm1", DISK);
        String queued = sendAs(requester, "vm1", ",\"onRunning\":\"STOP\"");
        awaitEvent(queued, "QUEUED");

        // while it waits, a VM the requester may not stop starts using the volume
        cluster.vm(ns, "intruder", "Running", DISK);
        cluster.vmi(ns, "intruder", "Running", DISK);
        simulator.servePower(server, ns, "intruder", Duration.ofSeconds(1), HarvesterSimulator.Power.WORKS);
        ScriptedAuthorizer.deny(requester, ScriptedAuthorizer.Rule.of("subresources.kubevirt.io", "virtualmachines/stop", "update")
                .named("intruder"));
        simulator.complete(ns, started.body().path("image").path("name").asText(), 1);

        Event rejected = awaitFinal(queued);
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("FORBIDDEN");
        assertThat(rejected.message()).isEqualTo("Refused: " + requester + " may not update"
                + " virtualmachines/stop (subresources.kubevirt.io) intruder in namespace " + ns + ", so the guard does"
                + " not do it on their behalf; nothing was exported. Ask for that permission, or have someone who has"
                + " it send the request.");
        assertThat(simulator.subresourceCalls()).noneMatch(call -> call.startsWith("intruder "));
        assertThat(cluster.vms(ns).withName("intruder").get().get("status", "printableStatus").toString())
                .isEqualTo("Running");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }
}
