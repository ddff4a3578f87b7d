package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.vmexportguard.decision.ClusterSnapshot.ClaimRef;
import dev.vmexportguard.decision.ClusterSnapshot.ClaimSource;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class ExportDeciderTest {
    static final String NS = "team-a";
    static final String REQUEST_ID = "req-1";
    static final String DISK = "vm1-disk-0";
    static final Instant READ_AT = Instant.parse("2024-05-01T10:00:00Z");
    static final Instant NOW = Instant.parse("2024-05-01T10:00:05Z");

    static final class Cluster {
        final List<ClusterSnapshot.Volume> volumes = new ArrayList<>();
        final List<ClusterSnapshot.Vm> vms = new ArrayList<>();
        final List<ClusterSnapshot.Vmi> vmis = new ArrayList<>();
        final List<ClusterSnapshot.Pod> pods = new ArrayList<>();
        final List<ClusterSnapshot.Image> images = new ArrayList<>();

        Cluster volume(String name) {
            return volume(name, "Bound", "longhorn");
        }

        Cluster volume(String name, String phase, String storageClass) {
            volumes.add(new ClusterSnapshot.Volume(name, phase, storageClass, "rv-pvc-" + name));
            return this;
        }

        Cluster vm(String name, String status, String... pvcs) {
            return vm(name, status, Arrays.stream(pvcs).map(ExportDeciderTest::pvc).toArray(ClaimRef[]::new));
        }

        Cluster vm(String name, String status, ClaimRef... claims) {
            vms.add(new ClusterSnapshot.Vm(name, status, "Halted", "rv-vm-" + name, List.of(claims)));
            return this;
        }

        Cluster vmi(String name, String phase, String... claims) {
            vmis.add(new ClusterSnapshot.Vmi(name, phase, "rv-vmi-" + name, Set.of(claims)));
            return this;
        }

        Cluster pod(String name, String phase, String vmName, String... claims) {
            pods.add(new ClusterSnapshot.Pod(name, phase, "virt-launcher", vmName,
                    new LinkedHashSet<>(List.of(claims))));
            return this;
        }

        Cluster image(String name, String displayName, String requestId) {
            images.add(new ClusterSnapshot.Image(name, displayName, requestId));
            return this;
        }

        ClusterSnapshot snapshot() {
            return new ClusterSnapshot(NS, List.copyOf(volumes), List.copyOf(vms), List.copyOf(vmis),
                    List.copyOf(pods), List.copyOf(images), READ_AT);
        }
    }

    static Cluster cluster() {
        return new Cluster();
    }

    static ClaimRef pvc(String name) {
        return new ClaimRef(name, ClaimSource.PERSISTENT_VOLUME_CLAIM, false);
    }

    static ClaimRef dataVolume(String name) {
        return new ClaimRef(name, ClaimSource.DATA_VOLUME, false);
    }

    static ClaimRef template(String name) {
        return new ClaimRef(name, ClaimSource.VOLUME_CLAIM_TEMPLATE, false);
    }

    static ExportRequest request(String vmName, String volumeName) {
        return request(vmName, volumeName, null, null);
    }

    static ExportRequest request(String vmName, String volumeName, String displayName, String storageClass) {
        return new ExportRequest(REQUEST_ID, NS, vmName, volumeName, "alice", displayName, storageClass,
                ExportRequest.OnRunning.REJECT, false, null, null, null, false, ExportRequest.BackupType.SNAPSHOT, java.util.List.of(), null);
    }

    static ExportRequest stopFirst(String vmName, String volumeName) {
        return new ExportRequest(REQUEST_ID, NS, vmName, volumeName, "alice", null, null,
                ExportRequest.OnRunning.STOP, true, null, null, null, false, ExportRequest.BackupType.SNAPSHOT, List.of(), null);
    }

    @Test
    void withStopRunningVmsAreApprovedToBeStoppedFirst() {
        Cluster c = cluster().volume("shared").vm("vm-a", "Running", "shared").vmi("vm-a", "Running", "shared")
                .vm("vm-b", "Stopped", "shared").vm("vm-c", "Paused", "shared").vmi("vm-c", "Paused", "shared");

        Decision.Approved a = approved(decide(stopFirst(null, "shared"), c));

        assertThat(a.stopFirst().vms()).containsExactly("vm-a", "vm-c");
        assertThat(a.existing()).isFalse();
    }

    @Test
    void withStopAPodAloneIsWaitedFor() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Stopped", DISK).pod("virt-launcher-vm1-x", "Running", "vm1", DISK);

        assertThat(approved(decide(stopFirst("vm1", null), c)).stopFirst().vms()).isEmpty();
    }

    @Test
    void withStopABareVmiCannotBeStoppedAndIsRefused() {
        Cluster c = cluster().volume(DISK).vmi("lonely", "Running", DISK);

        rejected(decide(stopFirst(null, DISK), c), ReasonCode.VM_RUNNING);
    }

    @Test
    void withStopEverythingStoppedNeedsNoStop() {
        assertThat(approved(decide(stopFirst("vm1", null), stoppedVm1())).stopFirst()).isNull();
    }

    @Test
    void withStopATakenDisplayNameIsRefusedBeforeAnyVmIsStopped() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Running", DISK).image("image-x", DISK + "-20260101-000000", null);
        ExportRequest request = new ExportRequest(REQUEST_ID, NS, "vm1", null, "alice", DISK + "-20260101-000000", null,
                ExportRequest.OnRunning.STOP, false, null, null, null, false, ExportRequest.BackupType.SNAPSHOT, List.of(), null);

        rejected(decide(request, c), ReasonCode.IMAGE_NAME_TAKEN);
    }

    static Decision decide(ExportRequest request, Cluster cluster) {
        return ExportDecider.decide(request, cluster.snapshot(), NOW);
    }

    static Decision.Rejected rejected(Decision decision, ReasonCode reason) {
        assertThat(decision).isInstanceOf(Decision.Rejected.class);
        Decision.Rejected r = (Decision.Rejected) decision;
        assertThat(r.reason()).as(r.message()).isEqualTo(reason);
        assertThat(r.message()).startsWith("Refused: ");
        return r;
    }

    static Decision.Approved approved(Decision decision) {
        assertThat(decision).as(() -> decision instanceof Decision.Rejected r ? r.reason() + ": " + r.message() : "")
                .isInstanceOf(Decision.Approved.class);
        return (Decision.Approved) decision;
    }

    static Cluster stoppedVm1() {
        return cluster().volume(DISK).vm("vm1", "Stopped", DISK);
    }

    // resolution

    @Test
    void namedVolumeThatDoesNotExistIsVolumeNotFound() {
        Decision.Rejected r = rejected(decide(request(null, "ghost-disk"), cluster().volume(DISK)),
                ReasonCode.VOLUME_NOT_FOUND);

        assertThat(r.message()).contains("PersistentVolumeClaim team-a/ghost-disk");
        assertThat(r.volumeName()).isEqualTo("ghost-disk");
        assertThat(r.vmName()).isNull();
        assertThat(r.observed().volume()).isNull();
        assertThat(r.observed().readAt()).isEqualTo(READ_AT);
    }

    @Test
    void missingClaimOfTheNamedVmIsVolumeNotFound() {
        Decision.Rejected r = rejected(decide(request("vm1", null), cluster().vm("vm1", "Stopped", DISK)),
                ReasonCode.VOLUME_NOT_FOUND);

        assertThat(r.message()).contains("team-a/" + DISK);
        assertThat(r.volumeName()).isEqualTo(DISK);
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1");
    }

    @Test
    void volumeNotFoundBeforeVmNotFound() {
        rejected(decide(request("ghost", "ghost-disk"), cluster()), ReasonCode.VOLUME_NOT_FOUND);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Pending", "Lost", "bound"})
    void volumeNotBoundIsRefused(String phase) {
        Cluster c = cluster().volume(DISK, phase, "longhorn").vm("vm1", "Stopped", DISK);

        Decision.Rejected r = rejected(decide(request(null, DISK), c), ReasonCode.VOLUME_NOT_BOUND);

        assertThat(r.message()).contains("team-a/" + DISK + " is " + phase + ", not Bound");
        assertThat(r.volumeName()).isEqualTo(DISK);
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.observed().volume()).isEqualTo(
                new Evidence.VolumeSeen(DISK, phase, "longhorn", "rv-pvc-" + DISK));
    }

    @Test
    void volumeWithoutPhaseIsNotBound() {
        Cluster c = cluster().volume(DISK, null, "longhorn");

        Decision.Rejected r = rejected(decide(request(null, DISK), c), ReasonCode.VOLUME_NOT_BOUND);

        assertThat(r.message()).contains("is in no phase");
    }

    @Test
    void volumeNotBoundWhenResolvedFromTheVm() {
        Cluster c = cluster().volume(DISK, "Pending", "longhorn").vm("vm1", "Stopped", DISK);

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VOLUME_NOT_BOUND);

        assertThat(r.volumeName()).isEqualTo(DISK);
    }

    @Test
    void volumeNotUsedByTheNamedVmIsRefused() {
        Cluster c = stoppedVm1().volume("other-disk");

        Decision.Rejected r = rejected(decide(request("vm1", "other-disk"), c), ReasonCode.VOLUME_NOT_ATTACHED_TO_VM);

        assertThat(r.message()).contains("VM team-a/vm1 does not use volume other-disk");
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.volumeName()).isEqualTo("other-disk");
        assertThat(r.observed().volume().name()).isEqualTo("other-disk");
    }

    @Test
    void vmNotFoundWithoutVolumeName() {
        Decision.Rejected r = rejected(decide(request("ghost", null), stoppedVm1()), ReasonCode.VM_NOT_FOUND);

        assertThat(r.message()).contains("VirtualMachine team-a/ghost");
        assertThat(r.vmName()).isEqualTo("ghost");
        assertThat(r.volumeName()).isNull();
        assertThat(r.observed().volume()).isNull();
        assertThat(r.observed().vms()).isEmpty();
        assertThat(r.observed().pods()).isEmpty();
    }

    @Test
    void vmNotFoundWithVolumeName() {
        Cluster c = stoppedVm1().pod("virt-launcher-vm1-x", "Succeeded", "vm1", DISK);

        Decision.Rejected r = rejected(decide(request("ghost", DISK), c), ReasonCode.VM_NOT_FOUND);

        assertThat(r.message()).contains("VirtualMachine team-a/ghost");
        assertThat(r.vmName()).isEqualTo("ghost");
        assertThat(r.volumeName()).isEqualTo(DISK);
        assertThat(r.observed().volume().name()).isEqualTo(DISK);
        assertThat(r.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1");
        assertThat(r.observed().pods()).extracting(Evidence.PodSeen::name).containsExactly("virt-launcher-vm1-x");
    }

    @Test
    void vmWithoutClaimsHasNoExportableVolume() {
        Decision.Rejected r = rejected(decide(request("vm1", null), cluster().vm("vm1", "Stopped", new ClaimRef[0])),
                ReasonCode.NO_EXPORTABLE_VOLUME);

        assertThat(r.message()).contains("VM team-a/vm1 has no disk");
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.volumeName()).isNull();
    }

    @Test
    void vmWithOnlyAVolumeClaimTemplateHasNoExportableVolume() {
        Cluster c = cluster().volume("scratch").vm("vm1", "Stopped", template("scratch"));

        rejected(decide(request("vm1", null), c), ReasonCode.NO_EXPORTABLE_VOLUME);
    }

    @Test
    void vmWithSeveralVolumesIsAmbiguousAndNamesThemSorted() {
        Cluster c = cluster().volume("disk-b").volume("disk-a").volume("disk-c")
                .vm("vm1", "Stopped", pvc("disk-b"), dataVolume("disk-c"), pvc("disk-a"), template("scratch"));

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.AMBIGUOUS_VOLUME);

        assertThat(r.message()).contains("VM team-a/vm1 has 3 volumes (disk-a, disk-b, disk-c)")
                .doesNotContain("scratch");
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.volumeName()).isNull();
    }

    @Test
    void dataVolumeIsACandidate() {
        Cluster c = cluster().volume("dv-disk").vm("vm1", "Stopped", dataVolume("dv-disk"));

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.volumeName()).isEqualTo("dv-disk");
        assertThat(a.plan().pvcName()).isEqualTo("dv-disk");
    }

    @Test
    void dataVolumeAndClaimMakeTheVmAmbiguous() {
        Cluster c = cluster().volume(DISK).volume("dv-disk").vm("vm1", "Stopped", pvc(DISK), dataVolume("dv-disk"));

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.AMBIGUOUS_VOLUME);

        assertThat(r.message()).contains("(dv-disk, " + DISK + ")");
    }

    @Test
    void volumeClaimTemplateIsNotACandidate() {
        Cluster c = cluster().volume(DISK).volume("scratch").vm("vm1", "Stopped", pvc(DISK), template("scratch"));

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.volumeName()).isEqualTo(DISK);
    }

    @Test
    void sameClaimListedTwiceIsOneCandidate() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Stopped", pvc(DISK), dataVolume(DISK));

        assertThat(approved(decide(request("vm1", null), c)).volumeName()).isEqualTo(DISK);
    }

    @Test
    void volumeClaimTemplateClaimCanBeNamedExplicitly() {
        Cluster c = cluster().volume("scratch").vm("vm1", "Stopped", template("scratch"));

        assertThat(approved(decide(request("vm1", "scratch"), c)).volumeName()).isEqualTo("scratch");
    }

    @Test
    void vmUsingTheClaimThroughAVolumeClaimTemplateIsAUser() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Stopped", DISK).vm("vm2", "Running", template(DISK));

        Decision.Rejected r = rejected(decide(request("vm1", DISK), c), ReasonCode.VM_RUNNING);

        assertThat(r.message()).contains("VM team-a/vm2 (Running) is not fully stopped");
        assertThat(r.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1", "vm2");
    }

    // power state

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"Provisioning", "Starting", "Running", "Paused", "Stopping", "Terminating",
            "CrashLoopBackOff", "Migrating", "Unknown", "ErrorUnschedulable", "ErrImagePull", "ImagePullBackOff",
            "ErrorPvcNotFound", "DataVolumeError", "WaitingForVolumeBinding", "WaitingForReceiver", "stopped", ""})
    void vmThatIsNotStoppedIsRefused(String status) {
        Cluster c = cluster().volume(DISK).vm("vm1", status, DISK);

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);

        String shown = status == null ? "no status reported" : status;
        assertThat(r.message()).contains("VM team-a/vm1 (" + shown + ") is not fully stopped and uses volume " + DISK);
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.volumeName()).isEqualTo(DISK);
        assertThat(r.observed().vms()).singleElement().satisfies(seen -> {
            assertThat(seen.name()).isEqualTo("vm1");
            assertThat(seen.printableStatus()).isEqualTo(status);
            assertThat(seen.resourceVersion()).isEqualTo("rv-vm-vm1");
        });
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"Pending", "Scheduling", "Scheduled", "Running", "Unknown", "WaitingForSync"})
    void stoppedVmWithALiveVmiIsRefused(String phase) {
        Cluster c = stoppedVm1().vmi("vm1", phase, DISK);

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);

        String shown = phase == null || phase.isEmpty() ? "not set" : phase;
        assertThat(r.message()).contains("VM team-a/vm1 (Stopped, VMI phase " + shown + ")");
        assertThat(r.observed().vms()).singleElement().satisfies(seen -> {
            assertThat(seen.printableStatus()).isEqualTo("Stopped");
            assertThat(seen.vmiPhase()).isEqualTo(phase == null ? "" : phase);
            assertThat(seen.vmiResourceVersion()).isEqualTo("rv-vmi-vm1");
        });
    }

    @Test
    void liveVmiCountsEvenWhenItNoLongerListsTheClaim() {
        Cluster c = stoppedVm1().vmi("vm1", "Running");

        rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Succeeded", "Failed"})
    void stoppedVmWithAFinalVmiIsApproved(String phase) {
        Cluster c = stoppedVm1().vmi("vm1", phase, DISK);

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.observed().vms()).singleElement().satisfies(seen -> {
            assertThat(seen.vmiPhase()).isEqualTo(phase);
            assertThat(seen.vmiResourceVersion()).isEqualTo("rv-vmi-vm1");
        });
    }

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"Running", "Pending", "Unknown", ""})
    void podStillMountingTheVolumeIsVolumeInUse(String phase) {
        Cluster c = stoppedVm1().pod("virt-launcher-vm1-abcde", phase, "vm1", DISK, "other");

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VOLUME_IN_USE);

        String shown = phase == null ? "phase unknown" : phase;
        assertThat(r.message()).contains("team-a/" + DISK + " is still mounted by pod virt-launcher-vm1-abcde ("
                + shown + ")");
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.observed().pods()).containsExactly(
                new Evidence.PodSeen("virt-launcher-vm1-abcde", phase, "virt-launcher", "vm1"));
    }

    @Test
    void severalBusyPodsAreAllNamed() {
        Cluster c = stoppedVm1().pod("pod-a", "Running", null, DISK).pod("pod-b", "Pending", null, DISK)
                .pod("pod-c", "Succeeded", null, DISK);

        Decision.Rejected r = rejected(decide(request(null, DISK), c), ReasonCode.VOLUME_IN_USE);

        assertThat(r.message()).contains("mounted by pods pod-a (Running), pod-b (Pending) although")
                .doesNotContain("pod-c");
    }

    @Test
    void terminatedPodsAreIgnoredButRecorded() {
        Cluster c = stoppedVm1().pod("old-launcher", "Succeeded", "vm1", DISK).pod("crashed", "Failed", null, DISK);

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.observed().pods()).extracting(Evidence.PodSeen::name, Evidence.PodSeen::phase)
                .containsExactly(
                        tuple("old-launcher", "Succeeded"),
                        tuple("crashed", "Failed"));
    }

    @Test
    void podsOfOtherVolumesAreIgnoredAndNotRecorded() {
        Cluster c = stoppedVm1().pod("busy-elsewhere", "Running", "vm9", "other-disk");

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.observed().pods()).isEmpty();
    }

    @Test
    void runningVmIsReportedBeforeBusyPods() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Running", DISK).pod("virt-launcher-vm1", "Running", "vm1", DISK);

        rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);
    }

    @Test
    void sharedVolumeWithAnotherRunningVmIsRefusedAndNamesIt() {
        Cluster c = stoppedVm1().vm("vm2", "Running", DISK).vmi("vm2", "Running", DISK);

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);

        assertThat(r.message()).contains("VM team-a/vm2 (Running, VMI phase Running) is not fully stopped")
                .doesNotContain("team-a/vm1");
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1", "vm2");
    }

    @Test
    void everyUnsafeVmOfASharedVolumeIsNamed() {
        Cluster c = cluster().volume(DISK).vm("vm-b", "Paused", DISK).vm("vm-a", "Starting", DISK)
                .vm("vm-c", "Stopped", DISK);

        Decision.Rejected r = rejected(decide(request(null, DISK), c), ReasonCode.VM_RUNNING);

        assertThat(r.message()).contains("VMs team-a/vm-a (Starting), team-a/vm-b (Paused) are not fully stopped")
                .doesNotContain("vm-c");
        assertThat(r.vmName()).isNull();
    }

    @Test
    void sharedVolumeWithAllVmsStoppedIsApproved() {
        Cluster c = stoppedVm1().vm("vm2", "Stopped", DISK).vmi("vm2", "Succeeded", DISK);

        Decision.Approved a = approved(decide(request(null, DISK), c));

        assertThat(a.vmName()).isNull();
        assertThat(a.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1", "vm2");
    }

    @Test
    void bareVmiMountingTheVolumeIsRefused() {
        Cluster c = cluster().volume(DISK).vmi("orphan", "Running", DISK);

        Decision.Rejected r = rejected(decide(request(null, DISK), c), ReasonCode.VM_RUNNING);

        assertThat(r.message()).contains("VM team-a/orphan (no VirtualMachine object, VMI phase Running)");
        assertThat(r.vmName()).isEqualTo("orphan");
        assertThat(r.observed().vms()).containsExactly(
                new Evidence.VmSeen("orphan", null, null, null, "Running", "rv-vmi-orphan"));
    }

    @Test
    void bareVmiNextToAStoppedVmIsRefused() {
        Cluster c = stoppedVm1().vmi("orphan", "Scheduling", DISK);

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);

        assertThat(r.message()).contains("team-a/orphan").doesNotContain("team-a/vm1");
    }

    @Test
    void finishedBareVmiIsApproved() {
        Cluster c = cluster().volume(DISK).vmi("orphan", "Succeeded", DISK);

        assertThat(approved(decide(request(null, DISK), c)).vmName()).isEqualTo("orphan");
    }

    @Test
    void safelyStoppedNeedsAStoppedVmAndNoLiveVmi() {
        var stopped = Optional.of(new ClusterSnapshot.Vm("vm1", "Stopped", "Halted", "1", List.of()));
        var running = Optional.of(new ClusterSnapshot.Vm("vm1", "Running", "Always", "1", List.of()));
        var live = Optional.of(new ClusterSnapshot.Vmi("vm1", "Running", "2", Set.of()));
        var done = Optional.of(new ClusterSnapshot.Vmi("vm1", "Succeeded", "2", Set.of()));

        assertThat(ExportDecider.safelyStopped(stopped, Optional.empty())).isTrue();
        assertThat(ExportDecider.safelyStopped(stopped, done)).isTrue();
        assertThat(ExportDecider.safelyStopped(stopped, live)).isFalse();
        assertThat(ExportDecider.safelyStopped(running, Optional.empty())).isFalse();
        assertThat(ExportDecider.safelyStopped(running, done)).isFalse();
        assertThat(ExportDecider.safelyStopped(Optional.empty(), live)).isFalse();
        assertThat(ExportDecider.safelyStopped(Optional.empty(), done)).isTrue();
    }

    // images

    @Test
    void displayNameUsedByAnotherImageIsRefused() {
        Cluster c = stoppedVm1().image("image-abcde", "golden", null);

        Decision.Rejected r = rejected(decide(request("vm1", null, "golden", null), c), ReasonCode.IMAGE_NAME_TAKEN);

        assertThat(r.message()).contains("namespace team-a already has an image named 'golden' (image-abcde)");
        assertThat(r.vmName()).isEqualTo("vm1");
        assertThat(r.volumeName()).isEqualTo(DISK);
        assertThat(r.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1");
    }

    @Test
    void displayNameTakenByAnEarlierGuardImageIsRefused() {
        Cluster c = stoppedVm1().image(ImagePlan.imageName("req-0"), "golden", "req-0");

        rejected(decide(request("vm1", null, "golden", null), c), ReasonCode.IMAGE_NAME_TAKEN);
    }

    @Test
    void otherDisplayNamesDoNotBlock() {
        Cluster c = stoppedVm1().image("image-abcde", "Golden", null).image("image-fghij", "golden-2", null);

        approved(decide(request("vm1", null, "golden", null), c));
    }

    @Test
    void existingImageOfThisRequestIsAdopted() {
        String name = ImagePlan.imageName(REQUEST_ID);
        Cluster c = stoppedVm1().image(name, "golden", REQUEST_ID);

        Decision.Approved a = approved(decide(request("vm1", null, "golden", null), c));

        assertThat(a.existing()).isTrue();
        assertThat(a.vmName()).isEqualTo("vm1");
        assertThat(a.volumeName()).isEqualTo(DISK);
        assertThat(a.plan()).isEqualTo(new ImagePlan(NS, name, "golden", DISK, "longhorn", REQUEST_ID,
                ImagePlan.requestHash(REQUEST_ID), "alice"));
        assertThat(a.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1");
    }

    @Test
    void adoptedImageKeepsItsOwnDisplayName() {
        Cluster c = stoppedVm1().image(ImagePlan.imageName(REQUEST_ID), DISK + "-20240501-095900", REQUEST_ID);

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.existing()).isTrue();
        assertThat(a.plan().displayName()).isEqualTo(DISK + "-20240501-095900");
    }

    @Test
    void adoptionDoesNotRecheckTheVmOnceTheImageExists() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Running", DISK).vmi("vm1", "Running", DISK)
                .image(ImagePlan.imageName(REQUEST_ID), "golden", REQUEST_ID);

        assertThat(approved(decide(request("vm1", null), c)).existing()).isTrue();
    }

    @Test
    void adoptionNeedsTheVolume() {
        Cluster c = cluster().image(ImagePlan.imageName(REQUEST_ID), "golden", REQUEST_ID);

        rejected(decide(request(null, DISK, null, "fast"), c), ReasonCode.VOLUME_NOT_FOUND);
    }

    @Test
    void stoppedVmWhoseRunStrategyIsAlwaysIsRefused() {
        Cluster c = cluster().volume(DISK);
        c.vms.add(new ClusterSnapshot.Vm("vm1", "Stopped", "Always", "7", List.of(
                new ClusterSnapshot.ClaimRef(DISK, ClusterSnapshot.ClaimSource.PERSISTENT_VOLUME_CLAIM, false))));

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);

        assertThat(r.message()).contains("vm1 (Stopped, runStrategy Always)");
    }

    /** KubeVirt shows it Stopped (its VMI is final) but deletes the failed VMI and starts the VM again by itself. */
    @Test
    void stoppedVmWhoseFailedVmiKubeVirtRestartsIsRefused() {
        Cluster c = cluster().volume(DISK).vmi("vm1", "Failed", DISK);
        c.vms.add(new ClusterSnapshot.Vm("vm1", "Stopped", "RerunOnFailure", "7", List.of(
                new ClusterSnapshot.ClaimRef(DISK, ClusterSnapshot.ClaimSource.PERSISTENT_VOLUME_CLAIM, false))));

        rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);
        assertThat(ExportDecider.safelyStopped(c.snapshot().vm("vm1"), c.snapshot().vmi("vm1"))).isFalse();
    }

    /**
     * After removing a failed RerunOnFailure VMI, KubeVirt adds a Start request to the VM's status and shows it Stopped
     * with no VMI while it waits out its start back-off; then it starts the VM.
     */
    @Test
    void stoppedVmWithAStartPendingIsRefused() {
        Cluster c = cluster().volume(DISK);
        c.vms.add(new ClusterSnapshot.Vm("vm1", "Stopped", "RerunOnFailure", "7", List.of(
                new ClusterSnapshot.ClaimRef(DISK, ClusterSnapshot.ClaimSource.PERSISTENT_VOLUME_CLAIM, false)), true));

        Decision.Rejected r = rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);

        assertThat(r.message()).contains("vm1 (Stopped, a start pending)");
        assertThat(r.observed().vms()).singleElement().satisfies(vm -> assertThat(vm.startPending()).isTrue());
        assertThat(ExportDecider.safelyStopped(c.snapshot().vm("vm1"), c.snapshot().vmi("vm1"))).isFalse();
    }

    @Test
    void imageWithTheRightNameButAnotherRequestIdIsNotAdopted() {
        Cluster c = stoppedVm1().image(ImagePlan.imageName(REQUEST_ID), "foreign", "req-other");

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.existing()).isFalse();
    }

    @Test
    void imageWithoutTheAnnotationIsNotAdopted() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Running", DISK)
                .image(ImagePlan.imageName(REQUEST_ID), "foreign", null);

        rejected(decide(request("vm1", null), c), ReasonCode.VM_RUNNING);
    }

    @Test
    void imageOfThisRequestUnderAnotherNameIsNotAdopted() {
        Cluster c = stoppedVm1().image("renamed", "golden", REQUEST_ID);

        rejected(decide(request("vm1", null, "golden", null), c), ReasonCode.IMAGE_NAME_TAKEN);
    }

    @Test
    void adoptedPlanKeepsTheRequestedStorageClass() {
        Cluster c = stoppedVm1();
        ExportRequest request = request("vm1", null, "golden", "fast");
        Decision.Approved first = approved(decide(request, c));
        c.image(first.plan().name(), first.plan().displayName(), REQUEST_ID);

        Decision.Approved again = approved(decide(request, c));

        assertThat(again.existing()).isTrue();
        assertThat(again.plan()).isEqualTo(first.plan());
    }

    @Test
    void adoptionNeverApprovesWithoutAVolume() {
        Cluster c = cluster().image(ImagePlan.imageName(REQUEST_ID), "golden", REQUEST_ID);

        Decision d = decide(request("vm1", null), c);

        assertThat(d instanceof Decision.Approved a && a.volumeName() == null).as(d.toString()).isFalse();
    }

    // evidence and the approved plan

    @Test
    void approvalCarriesTheFullEvidence() {
        Cluster c = cluster().volume(DISK, "Bound", "longhorn-ssd").vm("vm1", "Stopped", DISK)
                .vmi("vm1", "Failed", DISK).pod("virt-launcher-vm1-zz", "Failed", "vm1", DISK)
                .volume("unrelated").vm("vm9", "Running", "unrelated");

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.observed()).isEqualTo(new Evidence(READ_AT,
                new Evidence.VolumeSeen(DISK, "Bound", "longhorn-ssd", "rv-pvc-" + DISK),
                List.of(new Evidence.VmSeen("vm1", "Stopped", "Halted", "rv-vm-vm1", "Failed", "rv-vmi-vm1")),
                List.of(new Evidence.PodSeen("virt-launcher-vm1-zz", "Failed", "virt-launcher", "vm1"))));
    }

    @Test
    void vmWithoutVmiHasNoVmiPhaseInEvidence() {
        Decision.Approved a = approved(decide(request("vm1", null), stoppedVm1()));

        assertThat(a.observed().vms()).containsExactly(
                new Evidence.VmSeen("vm1", "Stopped", "Halted", "rv-vm-vm1", null, null));
    }

    @Test
    void vmNameIsTakenFromTheOnlyUserWhenOnlyTheVolumeIsNamed() {
        Decision.Approved a = approved(decide(request(null, DISK), stoppedVm1()));

        assertThat(a.vmName()).isEqualTo("vm1");
    }

    @Test
    void vmNameIsTakenFromTheOnlyUserInARefusalToo() {
        Cluster c = cluster().volume(DISK).vm("vm1", "Running", DISK);

        assertThat(rejected(decide(request(null, DISK), c), ReasonCode.VM_RUNNING).vmName()).isEqualTo("vm1");
    }

    @Test
    void volumeWithoutUsersIsApprovedWithoutVmName() {
        Decision.Approved a = approved(decide(request(null, DISK), cluster().volume(DISK)));

        assertThat(a.vmName()).isNull();
        assertThat(a.observed().vms()).isEmpty();
        assertThat(a.existing()).isFalse();
    }

    @Test
    void approvedPlanUsesDefaultsFromTheVolume() {
        Cluster c = cluster().volume(DISK, "Bound", "longhorn-ssd").vm("vm1", "Stopped", DISK);

        Decision.Approved a = approved(decide(request("vm1", null), c));

        assertThat(a.existing()).isFalse();
        assertThat(a.volumeName()).isEqualTo(DISK);
        assertThat(a.plan()).isEqualTo(new ImagePlan(NS, ImagePlan.imageName(REQUEST_ID),
                DISK + "-20240501-100005", DISK, "longhorn-ssd", REQUEST_ID, ImagePlan.requestHash(REQUEST_ID),
                "alice"));
    }

    @Test
    void volumeWithoutStorageClassGivesPlanWithoutOne() {
        Cluster c = cluster().volume(DISK, "Bound", null);

        assertThat(approved(decide(request(null, DISK), c)).plan().storageClassName()).isNull();
    }

    @Test
    void requestedDisplayNameAndStorageClassWin() {
        Decision.Approved a = approved(decide(request("vm1", DISK, "golden", "fast"), stoppedVm1()));

        assertThat(a.plan().displayName()).isEqualTo("golden");
        assertThat(a.plan().storageClassName()).isEqualTo("fast");
    }

    @Test
    void usersOfIsSortedAndIncludesBareVmis() {
        ClusterSnapshot s = cluster().volume(DISK).vm("vm-c", "Stopped", DISK).vm("vm-a", "Stopped", template(DISK))
                .vm("vm-x", "Running", "other").vmi("vm-b", "Running", DISK).vmi("vm-c", "Running", DISK).snapshot();

        assertThat(ExportDecider.usersOf(DISK, s)).containsExactly("vm-a", "vm-b", "vm-c");
        assertThat(ExportDecider.usersOf(null, s)).isEmpty();
    }

    @Test
    void anExportStartedOutsideTheGuardIsAdmittedOnlyWhenEveryUserOfTheVolumeIsStopped() {
        ExportDecider.Admission stopped = ExportDecider.admit(NS, DISK,
                cluster().volume(DISK).vm("vm1", "Stopped", DISK).snapshot());
        ExportDecider.Admission shared = ExportDecider.admit(NS, DISK,
                cluster().volume(DISK).vm("vm1", "Stopped", DISK).vm("vm2", "Running", DISK).snapshot());
        ExportDecider.Admission mounted = ExportDecider.admit(NS, DISK,
                cluster().volume(DISK).vm("vm1", "Stopped", DISK).pod("virt-launcher-vm1-x", "Running", "vm1", DISK)
                        .snapshot());
        ExportDecider.Admission missing = ExportDecider.admit(NS, DISK, cluster().snapshot());
        ExportDecider.Admission unbound = ExportDecider.admit(NS, DISK,
                cluster().volume(DISK, "Pending", "longhorn").snapshot());

        assertThat(stopped.allowed()).isTrue();
        assertThat(stopped.vmName()).isEqualTo("vm1");
        assertThat(stopped.observed().vms()).extracting(Evidence.VmSeen::name).containsExactly("vm1");
        assertThat(shared.refusal().reason()).isEqualTo(ReasonCode.VM_RUNNING);
        assertThat(shared.refusal().message()).contains(NS + "/vm2").doesNotContain(NS + "/vm1");
        assertThat(mounted.refusal().reason()).isEqualTo(ReasonCode.VOLUME_IN_USE);
        assertThat(missing.refusal().reason()).isEqualTo(ReasonCode.VOLUME_NOT_FOUND);
        assertThat(unbound.refusal().reason()).isEqualTo(ReasonCode.VOLUME_NOT_BOUND);
    }
}
