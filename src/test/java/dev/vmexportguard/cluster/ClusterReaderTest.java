package dev.vmexportguard.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.ClusterSnapshot.ClaimRef;
import dev.vmexportguard.decision.ClusterSnapshot.ClaimSource;
import dev.vmexportguard.decision.ImageStatus;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** Tests how {@link ClusterReader} turns claims, VMs, VMIs, pods and images read from the API server into snapshot values. */
class ClusterReaderTest {
    private static final Instant NOW = Instant.parse("2024-05-01T10:00:00Z");


    private static GenericKubernetesResource resource(String yaml) {
        return Serialization.unmarshal(yaml, GenericKubernetesResource.class);
    }

    // --- PersistentVolumeClaim ---

    @Test
    void boundClaimKeepsPhaseStorageClassAndResourceVersion() {
        PersistentVolumeClaim pvc = new PersistentVolumeClaimBuilder()
                .withNewMetadata().withName("vm1-disk-0").withNamespace("team-a").withResourceVersion("4711").endMetadata()
                .withNewSpec().withStorageClassName("longhorn").endSpec()
                .withNewStatus().withPhase("Bound").endStatus()
                .build();

        ClusterSnapshot.Volume volume = ClusterReader.volume(pvc);

        assertThat(volume).isEqualTo(new ClusterSnapshot.Volume("vm1-disk-0", "Bound", "longhorn", "4711"));
        assertThat(volume.bound()).isTrue();
    }

    @Test
    void pendingClaimIsNotBound() {
        PersistentVolumeClaim pvc = new PersistentVolumeClaimBuilder()
                .withNewMetadata().withName("scratch").withResourceVersion("12").endMetadata()
                .withNewSpec().withStorageClassName("harvester-longhorn").endSpec()
                .withNewStatus().withPhase("Pending").endStatus()
                .build();

        ClusterSnapshot.Volume volume = ClusterReader.volume(pvc);

        assertThat(volume).isEqualTo(new ClusterSnapshot.Volume("scratch", "Pending", "harvester-longhorn", "12"));
        assertThat(volume.bound()).isFalse();
    }

    @Test
    void claimWithoutSpecOrStatusHasNoPhaseAndNoStorageClass() {
        PersistentVolumeClaim pvc = new PersistentVolumeClaimBuilder()
                .withNewMetadata().withName("bare").endMetadata()
                .build();

        assertThat(ClusterReader.volume(pvc)).isEqualTo(new ClusterSnapshot.Volume("bare", null, null, null));
    }

    // --- VirtualMachine ---

    /** As virt-controller leaves a RerunOnFailure VM after removing its failed VMI (pkg/virt-controller/watch/vm/vm.go). */
    @Test
    void aStartRequestOnTheVmStatusIsAPendingStart() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata: {name: vm1, resourceVersion: "9"}
                spec: {runStrategy: RerunOnFailure}
                status:
                  printableStatus: Stopped
                  runStrategy: RerunOnFailure
                  stateChangeRequests: [{action: Start}]
                """);
        GenericKubernetesResource stopping = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata: {name: vm2, resourceVersion: "10"}
                spec: {runStrategy: RerunOnFailure}
                status:
                  printableStatus: Stopping
                  stateChangeRequests: [{action: Stop, uid: 4a1c0f6e-0000-4000-8000-000000000001}]
                """);

        assertThat(ClusterReader.vm(vm).startPending()).isTrue();
        assertThat(ClusterReader.vm(stopping).startPending()).isFalse();
        assertThat(ClusterReader.vm(resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata: {name: vm3}
                spec: {runStrategy: Halted}
                """)).startPending()).isFalse();
    }

    @Test
    void vmClaimsComeFromPvcAndDataVolumeDisksInSpecOrder() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: vm1
                  namespace: team-a
                  resourceVersion: "901"
                spec:
                  runStrategy: RerunOnFailure
                  template:
                    spec:
                      volumes:
                        - name: rootdisk
                          persistentVolumeClaim:
                            claimName: vm1-disk-0
                        - name: cloudinitdisk
                          cloudInitNoCloud:
                            userData: "#cloud-config"
                        - name: datadisk
                          dataVolume:
                            name: vm1-data
                        - name: hotdisk
                          persistentVolumeClaim:
                            claimName: vm1-hot
                            hotpluggable: true
                        - name: hotdv
                          dataVolume:
                            name: vm1-hot-dv
                            hotpluggable: true
                        - name: cdrom
                          containerDisk:
                            image: registry.example/iso:1
                status:
                  printableStatus: Running
                """);

        ClusterSnapshot.Vm snapshot = ClusterReader.vm(vm);

        assertThat(snapshot).isEqualTo(new ClusterSnapshot.Vm("vm1", "Running", "RerunOnFailure", "901", java.util.List.of(
                new ClaimRef("vm1-disk-0", ClaimSource.PERSISTENT_VOLUME_CLAIM, false),
                new ClaimRef("vm1-data", ClaimSource.DATA_VOLUME, false),
                new ClaimRef("vm1-hot", ClaimSource.PERSISTENT_VOLUME_CLAIM, true),
                new ClaimRef("vm1-hot-dv", ClaimSource.DATA_VOLUME, true))));
        assertThat(snapshot.uses("vm1-data")).isTrue();
        assertThat(snapshot.uses("cloudinitdisk")).isFalse();
    }

    @Test
    void volumeClaimTemplatesAnnotationAddsItsClaimsAfterTheSpecClaims() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: vm1
                  namespace: team-a
                  resourceVersion: "902"
                  annotations:
                    harvesterhci.io/volumeClaimTemplates: >-
                      [{"metadata":{"name":"vm1-disk-0-abcde","annotations":{"harvesterhci.io/imageId":"default/image-x"}},
                        "spec":{"accessModes":["ReadWriteMany"],"resources":{"requests":{"storage":"10Gi"}}}},
                       {"spec":{"accessModes":["ReadWriteMany"]}},
                       {"metadata":{"name":"vm1-disk-1-fghij"}}]
                spec:
                  running: false
                  template:
                    spec:
                      volumes:
                        - name: disk-0
                          persistentVolumeClaim:
                            claimName: vm1-disk-0-abcde
                status:
                  printableStatus: Stopped
                """);

        ClusterSnapshot.Vm snapshot = ClusterReader.vm(vm);

        // a template without metadata.name is skipped; a claim both in the spec and in the annotation is listed twice
        assertThat(snapshot.claims()).containsExactly(
                new ClaimRef("vm1-disk-0-abcde", ClaimSource.PERSISTENT_VOLUME_CLAIM, false),
                new ClaimRef("vm1-disk-0-abcde", ClaimSource.VOLUME_CLAIM_TEMPLATE, false),
                new ClaimRef("vm1-disk-1-fghij", ClaimSource.VOLUME_CLAIM_TEMPLATE, false));
        assertThat(snapshot.claims()).filteredOn(ClaimRef::exportable).extracting(ClaimRef::claimName)
                .containsExactly("vm1-disk-0-abcde");
        assertThat(snapshot.printableStatus()).isEqualTo("Stopped");
        assertThat(snapshot.runStrategy()).isEqualTo("Halted");
        assertThat(snapshot.resourceVersion()).isEqualTo("902");
    }

    @Test
    void vmWithOnlyAClaimTemplateUsesTheTemplatedClaim() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: vm2
                  annotations:
                    harvesterhci.io/volumeClaimTemplates: '[{"metadata":{"name":"vm2-disk-0-zzzzz"}}]'
                spec:
                  runStrategy: Halted
                """);

        ClusterSnapshot.Vm snapshot = ClusterReader.vm(vm);

        assertThat(snapshot.claims()).containsExactly(
                new ClaimRef("vm2-disk-0-zzzzz", ClaimSource.VOLUME_CLAIM_TEMPLATE, false));
        assertThat(snapshot.uses("vm2-disk-0-zzzzz")).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"not json at all", "[{\"metadata\":{\"name\":\"x\"}", "{{", " "})
    void unreadableOrBlankClaimTemplatesAnnotationIsIgnoredAndSpecClaimsRemain(String annotation) {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: vm1
                  namespace: team-a
                spec:
                  runStrategy: Always
                  template:
                    spec:
                      volumes:
                        - name: rootdisk
                          persistentVolumeClaim:
                            claimName: vm1-disk-0
                """);
        vm.getMetadata().setAnnotations(java.util.Map.of(KubernetesResources.ANNOTATION_VOLUME_CLAIM_TEMPLATES, annotation));

        ClusterSnapshot.Vm snapshot = ClusterReader.vm(vm);

        assertThat(snapshot.claims()).containsExactly(
                new ClaimRef("vm1-disk-0", ClaimSource.PERSISTENT_VOLUME_CLAIM, false));
        assertThat(snapshot.runStrategy()).isEqualTo("Always");
    }

    @Test
    void runStrategyWinsOverRunning() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: vm1
                spec:
                  runStrategy: Manual
                  running: true
                """);

        assertThat(ClusterReader.vm(vm).runStrategy()).isEqualTo("Manual");
    }

    @Test
    void runningTrueMeansAlways() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: vm1
                spec:
                  running: true
                """);

        assertThat(ClusterReader.vm(vm).runStrategy()).isEqualTo("Always").isEqualTo(ClusterSnapshot.RUN_STRATEGY_ALWAYS);
    }

    @Test
    void runningFalseMeansHalted() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: vm1
                spec:
                  running: false
                """);

        assertThat(ClusterReader.vm(vm).runStrategy()).isEqualTo("Halted");
    }

    @Test
    void vmWithoutRunStrategyRunningVolumesOrStatusHasNullsAndNoClaims() {
        GenericKubernetesResource vm = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachine
                metadata:
                  name: empty
                spec:
                  template:
                    spec:
                      domain: {}
                """);

        assertThat(ClusterReader.vm(vm)).isEqualTo(new ClusterSnapshot.Vm("empty", null, null, null, java.util.List.of()));
    }

    // --- VirtualMachineInstance ---

    @Test
    void vmiClaimsComeFromVolumeStatusThenSpecVolumesWithoutDuplicates() {
        GenericKubernetesResource vmi = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachineInstance
                metadata:
                  name: vm1
                  namespace: team-a
                  resourceVersion: "3301"
                  creationTimestamp: "2024-05-01T09:58:12Z"
                spec:
                  volumes:
                    - name: rootdisk
                      persistentVolumeClaim:
                        claimName: vm1-disk-0
                    - name: datadisk
                      dataVolume:
                        name: vm1-data
                    - name: cloudinitdisk
                      cloudInitNoCloud:
                        userData: "#cloud-config"
                status:
                  phase: Running
                  volumeStatus:
                    - name: hotdisk
                      hotplugVolume:
                        attachPodName: hp-volume-xyz
                      persistentVolumeClaimInfo:
                        claimName: vm1-hot
                    - name: rootdisk
                      persistentVolumeClaimInfo:
                        claimName: vm1-disk-0
                    - name: cloudinitdisk
                      target: ""
                """);

        ClusterSnapshot.Vmi snapshot = ClusterReader.vmi(vmi);

        assertThat(snapshot).isEqualTo(new ClusterSnapshot.Vmi("vm1", "Running", "3301",
                Set.of("vm1-hot", "vm1-disk-0", "vm1-data"), Instant.parse("2024-05-01T09:58:12Z")));
        assertThat(snapshot.claimNames()).containsExactly("vm1-hot", "vm1-disk-0", "vm1-data");
        assertThat(snapshot.isFinal()).isFalse();
    }

    @Test
    void vmiWithoutStatusTakesClaimsFromSpecAndHasNoPhase() {
        GenericKubernetesResource vmi = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachineInstance
                metadata:
                  name: vm1
                  resourceVersion: "7"
                spec:
                  volumes:
                    - name: rootdisk
                      persistentVolumeClaim:
                        claimName: vm1-disk-0
                """);

        assertThat(ClusterReader.vmi(vmi))
                .isEqualTo(new ClusterSnapshot.Vmi("vm1", null, "7", Set.of("vm1-disk-0"), null));
    }

    @Test
    void vmiWithMalformedCreationTimestampHasNoCreationTime() {
        GenericKubernetesResource vmi = resource("""
                apiVersion: kubevirt.io/v1
                kind: VirtualMachineInstance
                metadata:
                  name: vm1
                  creationTimestamp: "yesterday"
                status:
                  phase: Succeeded
                """);

        ClusterSnapshot.Vmi snapshot = ClusterReader.vmi(vmi);

        assertThat(snapshot).isEqualTo(new ClusterSnapshot.Vmi("vm1", "Succeeded", null, Set.of(), null));
        assertThat(snapshot.isFinal()).isTrue();
    }

    // --- Pod ---

    @Test
    void virtLauncherPodKeepsClaimsRoleVmNamePhaseAndCreationTime() {
        Pod pod = new PodBuilder()
                .withNewMetadata()
                    .withName("virt-launcher-vm1-abcde")
                    .withCreationTimestamp("2024-05-01T09:58:13Z")
                    .addToLabels("kubevirt.io", "virt-launcher")
                    .addToLabels("vm.kubevirt.io/name", "vm1")
                    .addToLabels("app", "unrelated")
                .endMetadata()
                .withNewSpec()
                    .addNewVolume().withName("rootdisk")
                        .withNewPersistentVolumeClaim().withClaimName("vm1-disk-0").endPersistentVolumeClaim()
                    .endVolume()
                    .addNewVolume().withName("private").withNewEmptyDir().endEmptyDir().endVolume()
                    .addNewVolume().withName("datadisk")
                        .withNewPersistentVolumeClaim().withClaimName("vm1-data").withReadOnly(true).endPersistentVolumeClaim()
                    .endVolume()
                    .addNewVolume().withName("again")
                        .withNewPersistentVolumeClaim().withClaimName("vm1-disk-0").endPersistentVolumeClaim()
                    .endVolume()
                .endSpec()
                .withNewStatus().withPhase("Running").endStatus()
                .build();

        ClusterSnapshot.Pod snapshot = ClusterReader.pod(pod);

        assertThat(snapshot).isEqualTo(new ClusterSnapshot.Pod("virt-launcher-vm1-abcde", "Running", "virt-launcher", "vm1",
                Set.of("vm1-disk-0", "vm1-data"), Instant.parse("2024-05-01T09:58:13Z")));
        assertThat(snapshot.claimNames()).containsExactly("vm1-disk-0", "vm1-data");
        assertThat(snapshot.isTerminated()).isFalse();
    }

    @Test
    void hotplugPodHasItsKubevirtRole() {
        Pod pod = new PodBuilder()
                .withNewMetadata().withName("hp-volume-xyz").addToLabels("kubevirt.io", "hotplug-disk").endMetadata()
                .withNewSpec()
                    .addNewVolume().withName("hotdisk")
                        .withNewPersistentVolumeClaim().withClaimName("vm1-hot").endPersistentVolumeClaim()
                    .endVolume()
                .endSpec()
                .withNewStatus().withPhase("Succeeded").endStatus()
                .build();

        ClusterSnapshot.Pod snapshot = ClusterReader.pod(pod);

        assertThat(snapshot).isEqualTo(new ClusterSnapshot.Pod("hp-volume-xyz", "Succeeded", "hotplug-disk", null,
                Set.of("vm1-hot"), null));
        assertThat(snapshot.isTerminated()).isTrue();
    }

    @Test
    void podWithoutVolumesHasNoClaims() {
        Pod pod = new PodBuilder()
                .withNewMetadata().withName("web-1").addToLabels("app", "web").endMetadata()
                .withNewSpec().addNewContainer().withName("nginx").withImage("nginx").endContainer().endSpec()
                .withNewStatus().withPhase("Running").endStatus()
                .build();

        assertThat(ClusterReader.pod(pod))
                .isEqualTo(new ClusterSnapshot.Pod("web-1", "Running", null, null, Set.of(), null));
    }

    @Test
    void podWithOnlyNonClaimVolumesHasNoClaims() {
        Pod pod = new PodBuilder()
                .withNewMetadata().withName("web-2").endMetadata()
                .withNewSpec()
                    .addNewVolume().withName("cache").withNewEmptyDir().endEmptyDir().endVolume()
                    .addNewVolume().withName("cfg").withNewConfigMap().withName("web").endConfigMap().endVolume()
                .endSpec()
                .build();

        assertThat(ClusterReader.pod(pod).claimNames()).isEmpty();
    }

    @Test
    void podWithoutSpecLabelsOrStatusHasNullsAndNoClaims() {
        Pod pod = new PodBuilder().withNewMetadata().withName("bare").withCreationTimestamp("not a time").endMetadata().build();

        assertThat(ClusterReader.pod(pod)).isEqualTo(new ClusterSnapshot.Pod("bare", null, null, null, Set.of(), null));
    }

    // --- VirtualMachineImage ---

    @Test
    void imageKeepsDisplayNameRequestIdAndStatus() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-0123456789abcdef0123
                  namespace: team-a
                  annotations:
                    vm-export-guard.dev/request-id: req-1
                    vm-export-guard.dev/requested-by: alice
                spec:
                  displayName: vm1-disk-0-20240501-100005
                  sourceType: export-from-volume
                status:
                  progress: 100
                  size: 10737418240
                  virtualSize: 21474836480
                  storageClassName: longhorn-vmexport-0123456789abcdef0123
                  conditions:
                    - type: Initialized
                      status: "True"
                      lastTransitionTime: "2024-05-01T10:00:06Z"
                    - type: Imported
                      status: "True"
                      lastTransitionTime: "2024-05-01T10:12:40Z"
                """);

        ClusterSnapshot.Image snapshot = ClusterReader.image(image);

        assertThat(snapshot).isEqualTo(new ClusterSnapshot.Image("vmexport-0123456789abcdef0123",
                "vm1-disk-0-20240501-100005", "req-1",
                new ImageStatus(100, 10737418240L, 21474836480L, "longhorn-vmexport-0123456789abcdef0123", true,
                        Instant.parse("2024-05-01T10:12:40Z"), false, null)));
    }

    @Test
    void imageNotMadeByTheGuardHasNoRequestIdAndNoStatus() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: image-abcde
                  annotations:
                    field.cattle.io/description: uploaded by hand
                spec:
                  displayName: ubuntu-22.04
                """);

        assertThat(ClusterReader.image(image)).isEqualTo(new ClusterSnapshot.Image("image-abcde", "ubuntu-22.04", null,
                new ImageStatus(0, null, null, null, false, null, false, null)));
    }

    @Test
    void imageWithoutAnnotationsOrDisplayName() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: image-fghij
                """);

        assertThat(ClusterReader.image(image)).isEqualTo(new ClusterSnapshot.Image("image-fghij", null, null));
    }

    @Test
    void imageStatusInProgressReportsProgressAndSizes() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-1
                status:
                  progress: 42
                  size: 1073741824
                  virtualSize: 3221225472
                  storageClassName: longhorn-vmexport-1
                  conditions:
                    - type: Initialized
                      status: "True"
                    - type: Imported
                      status: Unknown
                      reason: Importing
                """);

        assertThat(ClusterReader.imageStatus(image)).isEqualTo(
                new ImageStatus(42, 1073741824L, 3221225472L, "longhorn-vmexport-1", false, null, false, null));
    }

    @Test
    void retryLimitExceededTrueCarriesHarvesterMessage() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-2
                status:
                  progress: 17
                  conditions:
                    - type: Imported
                      status: "False"
                      lastTransitionTime: "2024-05-01T10:05:00Z"
                      message: not yet
                    - type: RetryLimitExceeded
                      status: "True"
                      lastTransitionTime: "2024-05-01T10:20:00Z"
                      message: "failed to export volume: backing image copy timed out"
                """);

        assertThat(ClusterReader.imageStatus(image)).isEqualTo(new ImageStatus(17, null, null, null, false, null, true,
                "failed to export volume: backing image copy timed out"));
    }

    @Test
    void retryLimitExceededTrueWithoutMessageHasNoFailureMessage() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-3
                status:
                  conditions:
                    - type: RetryLimitExceeded
                      status: "True"
                """);

        assertThat(ClusterReader.imageStatus(image))
                .isEqualTo(new ImageStatus(0, null, null, null, false, null, true, null));
    }

    @Test
    void conditionsWithStatusFalseAreIgnored() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-4
                status:
                  progress: 99
                  conditions:
                    - type: Imported
                      status: "False"
                      lastTransitionTime: "2024-05-01T10:12:40Z"
                    - type: RetryLimitExceeded
                      status: "False"
                      message: "should not be read"
                """);

        assertThat(ClusterReader.imageStatus(image))
                .isEqualTo(new ImageStatus(99, null, null, null, false, null, false, null));
    }

    @Test
    void importedTrueWithMalformedOrMissingTimeHasNoImportTime() {
        GenericKubernetesResource malformed = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-5
                status:
                  progress: 100
                  conditions:
                    - type: Imported
                      status: "True"
                      lastTransitionTime: "01/05/2024 10:12"
                """);
        GenericKubernetesResource missing = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-6
                status:
                  progress: 100
                  conditions:
                    - type: Imported
                      status: "True"
                """);

        ImageStatus expected = new ImageStatus(100, null, null, null, true, null, false, null);
        assertThat(ClusterReader.imageStatus(malformed)).isEqualTo(expected);
        assertThat(ClusterReader.imageStatus(missing)).isEqualTo(expected);
    }

    // Harvester writes image conditions with wrangler's condition helpers: lastUpdateTime only (whole seconds),
    // moved when the status or message changes; never lastTransitionTime; empty reason and message left out.

    @Test
    void importedAsHarvesterWritesItIsReadyAtItsLastUpdateTime() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-10
                status:
                  progress: 100
                  size: 10737418240
                  virtualSize: 10737418240
                  storageClassName: longhorn-vmexport-10
                  conditions:
                    - type: Imported
                      status: "True"
                      reason: Imported
                      lastUpdateTime: "2026-11-26T10:12:40Z"
                    - type: Initialized
                      status: "True"
                      reason: Initialized
                      lastUpdateTime: "2026-11-26T10:00:06Z"
                    - type: RetryLimitExceeded
                      status: "False"
                      lastUpdateTime: "2026-11-26T10:12:40Z"
                """);

        assertThat(ClusterReader.imageStatus(image)).isEqualTo(new ImageStatus(100, 10737418240L, 10737418240L,
                "longhorn-vmexport-10", true, Instant.parse("2026-11-26T10:12:40Z"), false, null));
    }

    @Test
    void copyingAsHarvesterWritesItIsNeitherReadyNorFailed() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-11
                status:
                  progress: 99
                  storageClassName: longhorn-vmexport-11
                  conditions:
                    - type: Imported
                      status: Unknown
                      reason: Importing
                      lastUpdateTime: "2026-11-26T10:00:06Z"
                    - type: Initialized
                      status: "True"
                      reason: Initialized
                      lastUpdateTime: "2026-11-26T10:00:06Z"
                """);

        assertThat(ClusterReader.imageStatus(image)).isEqualTo(
                new ImageStatus(99, null, null, "longhorn-vmexport-11", false, null, false, null));
    }

    @Test
    void retryingAsHarvesterWritesItIsNeitherReadyNorFailed() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-12
                spec:
                  retry: 3
                status:
                  progress: 23
                  failed: 2
                  lastFailedTime: "2026-11-26T10:04:10Z"
                  conditions:
                    - type: Imported
                      status: Unknown
                      reason: Importing
                      lastUpdateTime: "2026-11-26T10:03:58Z"
                    - type: Initialized
                      status: "True"
                      reason: Initialized
                      lastUpdateTime: "2026-11-26T10:03:58Z"
                    - type: RetryLimitExceeded
                      status: "False"
                      message: "retry attempted 1/3 failed due to error: backing image copy failed"
                      lastUpdateTime: "2026-11-26T10:04:10Z"
                """);

        assertThat(ClusterReader.imageStatus(image))
                .isEqualTo(new ImageStatus(23, null, null, null, false, null, false, null));
    }

    @Test
    void importedFalseWithAMessageIsNoEndWithoutRetryLimitExceeded() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-13
                status:
                  progress: 12
                  conditions:
                    - type: Imported
                      status: "False"
                      reason: Importing
                      message: "failed due to error: backing image copy failed"
                      lastUpdateTime: "2026-11-26T10:02:00Z"
                    - type: Initialized
                      status: "True"
                      reason: Initialized
                      lastUpdateTime: "2026-11-26T10:00:06Z"
                """);

        assertThat(ClusterReader.imageStatus(image))
                .isEqualTo(new ImageStatus(12, null, null, null, false, null, false, null));
    }

    @Test
    void givenUpAsHarvesterWritesItCarriesItsMessage() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-14
                status:
                  progress: 47
                  failed: 4
                  lastFailedTime: "2026-11-26T10:09:00Z"
                  conditions:
                    - type: Imported
                      status: "False"
                      reason: Importing
                      message: "retry attempted 3/3 failed due to error: backing image copy failed"
                      lastUpdateTime: "2026-11-26T10:09:00Z"
                    - type: Initialized
                      status: "True"
                      reason: Initialized
                      lastUpdateTime: "2026-11-26T10:08:48Z"
                    - type: RetryLimitExceeded
                      status: "True"
                      message: "retry attempted 3/3 failed due to error: backing image copy failed"
                      lastUpdateTime: "2026-11-26T10:09:00Z"
                """);

        assertThat(ClusterReader.imageStatus(image)).isEqualTo(new ImageStatus(47, null, null, null, false, null, true,
                "retry attempted 3/3 failed due to error: backing image copy failed"));
    }

    @Test
    void lastUpdateTimeComesBeforeLastTransitionTime() {
        GenericKubernetesResource both = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-15
                status:
                  conditions:
                    - type: Imported
                      status: "True"
                      lastTransitionTime: "2026-11-26T10:12:39Z"
                      lastUpdateTime: "2026-11-26T10:12:40Z"
                """);
        // Go's time.Now().Format(time.RFC3339) on a host that is not on UTC
        GenericKubernetesResource localTime = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-16
                status:
                  conditions:
                    - type: Imported
                      status: "True"
                      lastUpdateTime: "2026-11-26T18:12:40+08:00"
                """);
        GenericKubernetesResource unreadableUpdate = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-17
                status:
                  conditions:
                    - type: Imported
                      status: "True"
                      lastUpdateTime: "yesterday"
                      lastTransitionTime: "2026-11-26T10:12:41Z"
                """);

        assertThat(ClusterReader.imageStatus(both).importedAt()).isEqualTo(Instant.parse("2026-11-26T10:12:40Z"));
        assertThat(ClusterReader.imageStatus(localTime).importedAt()).isEqualTo(Instant.parse("2026-11-26T10:12:40Z"));
        assertThat(ClusterReader.imageStatus(unreadableUpdate).importedAt())
                .isEqualTo(Instant.parse("2026-11-26T10:12:41Z"));
    }

    @Test
    void missingStatusIsAnEmptyImageStatus() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-7
                spec:
                  displayName: x
                """);

        assertThat(ClusterReader.imageStatus(image))
                .isEqualTo(new ImageStatus(0, null, null, null, false, null, false, null));
    }

    @Test
    void nonNumericSizesAndNonStringStorageClassAreIgnored() {
        GenericKubernetesResource image = resource("""
                apiVersion: harvesterhci.io/v1beta1
                kind: VirtualMachineImage
                metadata:
                  name: vmexport-8
                status:
                  progress: "50"
                  size: "10Gi"
                  virtualSize: 5
                  storageClassName: 7
                  conditions: "Imported"
                """);

        assertThat(ClusterReader.imageStatus(image))
                .isEqualTo(new ImageStatus(0, null, 5L, null, false, null, false, null));
    }

    // --- times ---

    @Test
    void instantReadsRfc3339Times() {
        assertThat(ClusterReader.instant("2024-05-01T10:12:40Z")).isEqualTo(Instant.ofEpochSecond(1714558360L));
        assertThat(ClusterReader.instant("2024-05-01T10:12:40.123456Z"))
                .isEqualTo(Instant.ofEpochSecond(1714558360L, 123_456_000L));
        assertThat(ClusterReader.instant("2024-05-01T12:12:40+02:00")).isEqualTo(Instant.parse("2024-05-01T10:12:40Z"));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {" ", "yesterday", "2024-05-01", "2024-05-01 10:12:40", "2024-13-01T10:12:40Z",
            "2024-05-01T25:00:00Z", "1714558360"})
    void instantOfAbsentOrMalformedTimeIsNull(String time) {
        assertThat(ClusterReader.instant(time)).isNull();
    }
}
