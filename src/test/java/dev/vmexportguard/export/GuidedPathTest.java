package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;

import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterSimulator.Power;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** One message from a chat user: stop the VM, back it up, export, start it again; and only if they may. */
@QuarkusTest
@TestProfile(GuidedPathTest.ShortWaits.class)
class GuidedPathTest extends GuardIntegrationTest {
    private static final java.nio.file.Path REQUESTER_ROLE = java.nio.file.Path.of("k8s/rbac/vm-export-guard-requester.yaml");

    public static class ShortWaits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.exports.stop-timeout", "4s", "guard.exports.backup-timeout", "4s");
        }
    }

    @BeforeEach
    void createDisk() {
        cluster.volume(ns, DISK);
    }

    String imageOf(String id) {
        return awaitEvent(id, "STARTED").body().path("image").path("name").asText();
    }

    GenericKubernetesResource vm() {
        return cluster.vms(ns).withName("vm1").get();
    }

    /** Each event's ce_type is the prefix, a dot and its type in lower case ({@code _} written {@code -}). */
    void assertCloudEventTypes(String id) {
        assertThat(topics.results(id)).isNotEmpty().allSatisfy(e -> assertThat(e.headers().get("ce_type"))
                .isEqualTo("dev.vmexportguard.export." + e.type().toLowerCase(java.util.Locale.ROOT).replace('_', '-')));
    }

    /** The Kubernetes Events on vm1 of the reason, as type: message. */
    List<String> kubernetesEvents(String reason) {
        return server.getClient().v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> "vm1".equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason()))
                .map(e -> e.getType() + ": " + e.getMessage()).toList();
    }

    List<String> kubernetesEventReasons() {
        return server.getClient().v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> "vm1".equals(e.getInvolvedObject().getName()))
                .map(io.fabric8.kubernetes.api.model.Event::getReason).toList();
    }

    @Test
    void stopBackUpExportAndStartAgain() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(500), Power.WORKS);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"stopGracePeriodSeconds\":30,\"backupFirst\":true,"
                + "\"restartAfter\":true");

        Event stopping = awaitEvent(id, "STOPPING_VM");
        assertThat(stopping.message()).contains(ns + "/vm1");
        assertThat(stopping.body().path("observed").path("vms").get(0).path("runStrategy").asText()).isEqualTo("RerunOnFailure");
        awaitEvent(id, "VM_STOPPED");
        String backup = "vmexport-" + dev.vmexportguard.decision.ImagePlan.requestHash(id).substring(0, 12) + "-vm1";
        GenericKubernetesResource backupObject = await().until(() -> server.getClient()
                .genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(ns).withName(backup).get(),
                b -> b != null);
        assertThat((Map<String, Object>) backupObject.get("spec")).containsEntry("type", "snapshot")
                .containsEntry("source", Map.of("apiGroup", "kubevirt.io", "kind", "VirtualMachine", "name", "vm1"));
        assertThat(types(id)).doesNotContain("STARTED");
        simulator.backupReady(ns, backup);
        assertThat(awaitEvent(id, "BACKUP_READY").message()).contains(backup);
        String image = imageOf(id);
        simulator.complete(ns, image, 1);
        awaitEvent(id, "COMPLETED");
        Event restarted = awaitEvent(id, "VM_RESTARTED");

        assertThat(restarted.message()).contains(ns + "/vm1");
        assertThat(types(id)).containsExactly("STOPPING_VM", "VM_STOPPED", "BACKUP_READY", "STARTED", "COMPLETED",
                "VM_RESTARTED");
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {\"gracePeriod\":30}", "vm1 start {}");
        await().untilAsserted(() -> assertThat((Map<String, Object>) vm().get("status")).containsEntry("printableStatus", "Running"));
        assertThat(vm().getMetadata().getAnnotations()).doesNotContainKey(KubernetesResources.ANNOTATION_EXPORT_LOCK);
        await().untilAsserted(() -> assertThat(kubernetesEventReasons()).contains("VmStoppingForExport",
                "VmStoppedForExport", "BackupReadyForExport", "ExportStarted", "ExportCompleted", "VmRestartedAfterExport"));
        assertCloudEventTypes(id);
        assertThat(topics.results(id)).extracting(e -> e.headers().get("ce_type")).contains(
                "dev.vmexportguard.export.stopping-vm", "dev.vmexportguard.export.vm-stopped",
                "dev.vmexportguard.export.backup-ready", "dev.vmexportguard.export.vm-restarted");
        AuditApi.export(id, 7).body("status", equalTo("VM_RESTARTED"))
                .body("history.type", hasItems("STOPPING_VM", "VM_STOPPED", "BACKUP_READY", "COMPLETED", "VM_RESTARTED"));
    }

    /**
     * KubeVirt starts the VM the guard stopped by itself (a start request of its own on the VM's status, as it adds
     * when a RerunOnFailure VM's VMI failed): no change to the VM, so the lock's admission policy cannot refuse it.
     * The guard sees the new VMI, ends the export and removes the image.
     */
    @Test
    void vmStartedByKubeVirtItselfDuringTheCopyEndsTheExportAndRemovesTheImage() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(300), Power.WORKS);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\"");
        String image = imageOf(id);
        simulator.progress(ns, image, 20);
        simulator.controllerRestarts(ns, "vm1");

        Event failed = awaitEvent(id, "FAILED");
        assertThat(failed.reason()).isEqualTo("VM_STARTED_DURING_EXPORT");
        assertThat(failed.message()).contains(ns + "/vm1").contains("deleted");
        await().untilAsserted(() -> assertThat(cluster.guardImages(ns)).isEmpty());
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}");
        // a PROGRESS event may come before the end or not, as the image controller and the watch race
        assertThat(types(id)).containsSubsequence("STOPPING_VM", "VM_STOPPED", "STARTED", "FAILED")
                .doesNotContain("COMPLETED").endsWith("FAILED");
        AuditApi.export(id, 1 + types(id).size()).body("status", equalTo("FAILED"))
                .body("reason", equalTo("VM_STARTED_DURING_EXPORT"));
    }

    /**
     * A RerunOnFailure VM whose VMI failed, removed by KubeVirt, which waits out its start back-off with a Start
     * request on the VM's status: it shows Stopped with no VMI, and is refused all the same, with nothing created.
     */
    @Test
    void vmShowingStoppedWithAStartPendingIsRefused() {
        cluster.vm(ns, "vm1", "Stopped", DISK);
        GenericKubernetesResource waiting = vm();
        Map<String, Object> spec = new java.util.LinkedHashMap<>((Map<String, Object>) waiting.get("spec"));
        spec.put("runStrategy", "RerunOnFailure");
        waiting.setAdditionalProperty("spec", spec);
        waiting = cluster.vms(ns).resource(waiting).update();
        Map<String, Object> status = new java.util.LinkedHashMap<>((Map<String, Object>) waiting.get("status"));
        status.put("runStrategy", "RerunOnFailure");
        status.put("stateChangeRequests", List.of(Map.of("action", "Start")));
        waiting.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(waiting).updateStatus();

        String id = sendAs("alice", "vm1", "");

        Event rejected = awaitEvent(id, "REJECTED");
        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.message()).contains(ns + "/vm1 (Stopped, a start pending)");
        assertThat(rejected.body().path("observed").path("vms").get(0).path("startPending").asBoolean()).isTrue();
        assertThat(cluster.guardImages(ns)).isEmpty();
        assertThat(simulator.subresourceCalls()).isEmpty();
    }

    @Test
    void runStrategyAlwaysIsPutBack() {
        simulator.runningVm(ns, "vm1", "Always", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(300), Power.WORKS);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        String image = imageOf(id);
        assertThat((Map<String, Object>) vm().get("spec")).containsEntry("runStrategy", "Halted");
        simulator.complete(ns, image, 1);
        awaitEvent(id, "VM_RESTARTED");
        assertThat((Map<String, Object>) vm().get("spec")).containsEntry("runStrategy", "Always");
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}");
    }

    @Test
    void vmThatNeverStopsFailsWithStopTimeoutAndNothingIsExported() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(100), Power.STOP_NEVER_COMPLETES);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        Event failed = awaitEvent(id, "FAILED");
        assertThat(failed.reason()).isEqualTo("STOP_TIMEOUT");
        assertThat(failed.message()).contains("4s").contains(ns + "/vm1 (Running");
        assertThat(cluster.allImages(ns)).isEmpty();
        // it has not stopped: nothing started again (the guard waits for it until guard.exports.restart-deadline)
        assertThat(types(id)).containsExactly("STOPPING_VM", "FAILED");
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}");
        assertThat(failed.headers()).containsEntry("ce_type", "dev.vmexportguard.export.failed");
        await().untilAsserted(() -> assertThat(kubernetesEvents("ExportFailed")).singleElement().asString()
                .startsWith("Warning: " + failed.message()));
    }

    /**
     * Someone stopped the VM from Harvester a moment before (its strategy is Halted, it still shows Stopping):
     * KubeVirt answers the guard's stop 409 (Halted takes only a shorter grace period), and the guard waits for the
     * VM like any other, exports, and leaves it stopped, as its owner wanted.
     */
    @Test
    void vmAlreadyBeingHaltedIsWaitedForAndLeftStopped() {
        simulator.runningVm(ns, "vm1", "Halted", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofSeconds(3), Power.WORKS);
        await().untilAsserted(() -> assertThat((Object) vm().get("status", "printableStatus")).isEqualTo("Stopping"));

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        awaitEvent(id, "VM_STOPPED");
        simulator.complete(ns, imageOf(id), 1);
        awaitEvent(id, "COMPLETED");
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}");
        assertThat(types(id)).containsExactly("STOPPING_VM", "VM_STOPPED", "STARTED", "COMPLETED");
        assertThat((Object) vm().get("spec", "runStrategy")).isEqualTo("Halted");
        assertThat((Object) vm().get("status", "printableStatus")).isEqualTo("Stopped");
    }

    @Test
    void vmAlreadyStoppedIsLeftStopped() {
        cluster.vm(ns, "vm1", "Stopped", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(100), Power.WORKS);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        simulator.complete(ns, imageOf(id), 1);
        awaitEvent(id, "COMPLETED");
        AuditApi.export(id, 3);
        assertThat(types(id)).containsExactly("STARTED", "COMPLETED");
        assertThat(simulator.subresourceCalls()).isEmpty();
        assertThat((Map<String, Object>) vm().get("status")).containsEntry("printableStatus", "Stopped");
    }

    @Test
    void failedBackupStopsTheExportAndTheVmIsStartedAgain() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(200), Power.WORKS);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"backupFirst\":true,\"backupType\":\"backup\",\"restartAfter\":true");

        awaitEvent(id, "VM_STOPPED");
        String backup = "vmexport-" + dev.vmexportguard.decision.ImagePlan.requestHash(id).substring(0, 12) + "-vm1";
        await().until(() -> server.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP)
                .inNamespace(ns).withName(backup).get() != null);
        simulator.backupFails(ns, backup, "backup target s3://backups is not reachable");

        Event failed = awaitEvent(id, "FAILED");
        assertThat(failed.reason()).isEqualTo("BACKUP_FAILED");
        assertThat(failed.message()).contains(backup).contains("backup target s3://backups is not reachable");
        awaitEvent(id, "VM_RESTARTED");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    /** Someone deletes the backup the guard waits for: the export ends, nothing is exported, the VM runs again. */
    @Test
    void deletedBackupStopsTheExportAndTheVmIsStartedAgain() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(200), Power.WORKS);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"backupFirst\":true,\"restartAfter\":true");

        awaitEvent(id, "VM_STOPPED");
        String backup = "vmexport-" + dev.vmexportguard.decision.ImagePlan.requestHash(id).substring(0, 12) + "-vm1";
        var backups = server.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(ns);
        await().until(() -> backups.withName(backup).get() != null);
        backups.withName(backup).delete();

        Event failed = awaitEvent(id, "FAILED");
        assertThat(failed.reason()).isEqualTo("BACKUP_FAILED");
        assertThat(failed.message()).contains(backup).contains("was deleted");
        awaitEvent(id, "VM_RESTARTED");
        assertThat(types(id)).containsExactly("STOPPING_VM", "VM_STOPPED", "FAILED", "VM_RESTARTED");
        assertThat(cluster.allImages(ns)).isEmpty();
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}", "vm1 start {}");
    }

    @Test
    void backupNeverReadyTimesOut() {
        cluster.vm(ns, "vm1", "Stopped", DISK);

        String id = sendAs("alice", "vm1", ",\"backupFirst\":true");

        Event failed = awaitEvent(id, "FAILED");
        assertThat(failed.reason()).isEqualTo("BACKUP_FAILED");
        String backup = "vmexport-" + dev.vmexportguard.decision.ImagePlan.requestHash(id).substring(0, 12) + "-vm1";
        assertThat(failed.message()).isEqualTo("Export failed: the backup " + backup + " taken before it was not ready"
                + " within 4s (guard.exports.backup-timeout); nothing was exported.");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void failedRestartIsToldAndAudited() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(200), Power.START_FAILS);

        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");

        simulator.complete(ns, imageOf(id), 1);
        Event failed = awaitEvent(id, "RESTART_FAILED");
        assertThat(failed.reason()).isEqualTo("RESTART_FAILED");
        assertThat(failed.message()).contains(ns + "/vm1").contains("start it by hand");
        assertThat(types(id)).containsExactly("STOPPING_VM", "VM_STOPPED", "STARTED", "COMPLETED", "RESTART_FAILED");
        AuditApi.export(id, 6).body("status", equalTo("RESTART_FAILED")).body("reason", equalTo("RESTART_FAILED"));
        assertCloudEventTypes(id);
        assertThat(failed.headers()).containsEntry("ce_type", "dev.vmexportguard.export.restart-failed");
        await().untilAsserted(() -> assertThat(kubernetesEvents("VmRestartFailedAfterExport")).singleElement()
                .asString().startsWith("Warning: " + failed.message()));
    }

    @ParameterizedTest(name = "{1} {3} ({2})")
    @CsvSource({
        "'', get, '', persistentvolumeclaims, 'persistentvolumeclaims vm1-disk-0-rlnlk'",
        "'', create, harvesterhci.io, virtualmachineimages, 'virtualmachineimages (harvesterhci.io)'",
        "',\"onRunning\":\"STOP\"', update, subresources.kubevirt.io, virtualmachines/stop, 'virtualmachines/stop (subresources.kubevirt.io) vm1'",
        "',\"onRunning\":\"STOP\",\"restartAfter\":true', update, subresources.kubevirt.io, virtualmachines/start, 'virtualmachines/start (subresources.kubevirt.io) vm1'",
        "',\"backupFirst\":true', create, harvesterhci.io, virtualmachinebackups, 'virtualmachinebackups (harvesterhci.io)'"})
    void requesterWithoutAPermissionIsRefused(String options, String verb, String group, String resource, String named) {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(100), Power.WORKS);
        String user = "mallory-" + ns;
        ScriptedAuthorizer.deny(user, ScriptedAuthorizer.Rule.of(group, resource, verb));

        String id = sendAs(user, "vm1", options);

        Event rejected = awaitEvent(id, "REJECTED");
        assertThat(rejected.reason()).isEqualTo("FORBIDDEN");
        assertThat(rejected.message()).isEqualTo("Refused: " + user + " may not " + verb + " " + named
                + " in namespace " + ns + ", so the guard does not do it on their behalf; nothing was exported."
                + " Ask for that permission, or have someone who has it send the request.");
        assertThat(rejected.body().path("observed").isNull()).isTrue();
        assertThat(simulator.subresourceCalls()).isEmpty();
        assertThat(cluster.allImages(ns)).isEmpty();
        AuditApi.export(id, 2).body("reason", equalTo("FORBIDDEN")).body("history[0].requestedBy", equalTo(user));
    }

    @Test
    void aRequesterHoldingOnlyTheRequesterRoleInTheNamespaceGetsTheWholeGuidedPath() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(300), Power.WORKS);
        String user = "dana-" + ns;
        // a RoleBinding of k8s/rbac/vm-export-guard-requester.yaml in the namespace, and no other right
        ScriptedAuthorizer.bindClusterRole(user, ns, REQUESTER_ROLE);

        String id = sendAs(user, "vm1", ",\"onRunning\":\"STOP\",\"backupFirst\":true,\"restartAfter\":true");

        awaitEvent(id, "VM_STOPPED");
        String backup = "vmexport-" + dev.vmexportguard.decision.ImagePlan.requestHash(id).substring(0, 12) + "-vm1";
        await().until(() -> server.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP)
                .inNamespace(ns).withName(backup).get() != null);
        simulator.backupReady(ns, backup);
        simulator.complete(ns, imageOf(id), 1);
        awaitEvent(id, "VM_RESTARTED");
        assertThat(types(id)).containsExactly("STOPPING_VM", "VM_STOPPED", "BACKUP_READY", "STARTED", "COMPLETED",
                "VM_RESTARTED");
        // what was asked is what the role grants: these exact attributes, in this namespace
        assertThat(ScriptedAuthorizer.asked(user).stream().map(r -> {
            var a = r.path("spec").path("resourceAttributes");
            return a.path("verb").asText() + " " + a.path("group").asText() + " " + a.path("resource").asText()
                    + (a.path("subresource").asText("").isEmpty() ? "" : "/" + a.path("subresource").asText())
                    + " " + a.path("namespace").asText() + " " + a.path("name").asText("");
        }).distinct()).containsExactlyInAnyOrder(
                "get  persistentvolumeclaims " + ns + " " + DISK,
                "create harvesterhci.io virtualmachineimages " + ns + " ",
                "update subresources.kubevirt.io virtualmachines/stop " + ns + " vm1",
                "update subresources.kubevirt.io virtualmachines/start " + ns + " vm1",
                "create harvesterhci.io virtualmachinebackups " + ns + " ");
    }

    @Test
    void theRequesterRoleBoundInAnotherNamespaceAllowsNothingHere() {
        cluster.vm(ns, "vm1", "Stopped", DISK);
        String user = "erin-" + ns;
        ScriptedAuthorizer.bindClusterRole(user, "elsewhere-" + ns, REQUESTER_ROLE);

        String id = sendAs(user, "vm1", "");

        Event rejected = awaitEvent(id, "REJECTED");
        assertThat(rejected.reason()).isEqualTo("FORBIDDEN");
        assertThat(rejected.message()).isEqualTo("Refused: " + user + " may not get persistentvolumeclaims " + DISK
                + " in namespace " + ns + ", so the guard does not do it on their behalf; nothing was exported."
                + " Ask for that permission, or have someone who has it send the request.");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void groupsOfTheRequesterCount() {
        cluster.vm(ns, "vm1", "Stopped", DISK);
        String user = "bob-" + ns;
        ScriptedAuthorizer.deny(user, ScriptedAuthorizer.Rule.of("harvesterhci.io", "virtualmachineimages", "create"));

        String id = sendAs(user, "vm1", ",\"requestedByGroups\":[\"" + ScriptedAuthorizer.ADMIN_GROUP + "\"]");

        assertThat(awaitEvent(id, "STARTED").type()).isEqualTo("STARTED");
        assertThat(ScriptedAuthorizer.asked(user)).isNotEmpty().allSatisfy(review ->
                assertThat(review.path("spec").path("groups").get(0).asText()).isEqualTo(ScriptedAuthorizer.ADMIN_GROUP));
    }

    @Test
    void failingToWriteKubernetesEventsNeverFailsAnExport() {
        server.expect().post().withPath("/api/v1/namespaces/" + ns + "/events")
                .andReturn(500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd is down\"}").always();
        cluster.vm(ns, "vm1", "Stopped", DISK);

        String id = sendAs("alice", "vm1", "");

        simulator.complete(ns, imageOf(id), 1);
        assertThat(awaitEvent(id, "COMPLETED").reason()).isNull();
        assertThat(kubernetesEventReasons()).isEmpty();
    }

    @Test
    void refusalIsAKubernetesEventOnTheVm() {
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);

        String id = sendAs("carol", "vm1", "");

        assertThat(awaitEvent(id, "REJECTED").reason()).isEqualTo("VM_RUNNING");
        await().untilAsserted(() -> assertThat(kubernetesEventReasons()).containsExactly("ExportRejected"));
        io.fabric8.kubernetes.api.model.Event event = server.getClient().v1().events().inNamespace(ns).list().getItems().get(0);
        assertThat(event.getType()).isEqualTo("Warning");
        assertThat(event.getMessage()).contains("Requested by carol").contains(id);
        assertThat(event.getSource().getComponent()).isEqualTo("vm-export-guard");
    }
}
