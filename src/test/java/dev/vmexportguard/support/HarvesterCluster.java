package dev.vmexportguard.support;

import dev.vmexportguard.cluster.KubernetesResources;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Builds Harvester cluster state in the test API server the way KubeVirt's and Harvester's controllers leave it:
 * claims with their phase, VMs with their printableStatus, VMIs with their phase, launcher pods mounting claims.
 */
public final class HarvesterCluster {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private final KubernetesClient client;

    public HarvesterCluster(KubernetesClient client) {
        this.client = client;
    }

    /** A namespace of its own for each test, so tests do not see each other's VMs. */
    public static String freshNamespace() {
        return "ns-" + NAMESPACES.incrementAndGet();
    }

    public PersistentVolumeClaim volume(String ns, String name) {
        return volume(ns, name, "Bound", "harvester-longhorn");
    }

    public PersistentVolumeClaim volume(String ns, String name, String phase, String storageClass) {
        PersistentVolumeClaim pvc = new PersistentVolumeClaimBuilder()
                .withNewMetadata().withName(name).withNamespace(ns).endMetadata()
                .withNewSpec().withStorageClassName(storageClass).withAccessModes("ReadWriteMany")
                .withNewResources().addToRequests("storage", new Quantity("10Gi")).endResources().endSpec()
                .withNewStatus().withPhase(phase).endStatus()
                .build();
        return client.persistentVolumeClaims().inNamespace(ns).resource(pvc).create();
    }

    /** A VM whose disks are the given claims (persistentVolumeClaim volumes), in the given printableStatus. */
    public GenericKubernetesResource vm(String ns, String name, String printableStatus, String... claims) {
        List<Map<String, Object>> volumes = new ArrayList<>();
        for (int i = 0; i < claims.length; i++) {
            volumes.add(Map.of("name", "disk-" + i, "persistentVolumeClaim", Map.of("claimName", claims[i])));
        }
        return vm(ns, name, printableStatus, volumes, Map.of());
    }

    public GenericKubernetesResource vm(String ns, String name, String printableStatus,
                                        List<Map<String, Object>> volumes, Map<String, String> annotations) {
        GenericKubernetesResource vm = new GenericKubernetesResource();
        vm.setApiVersion("kubevirt.io/v1");
        vm.setKind("VirtualMachine");
        vm.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).withAnnotations(annotations).build());
        vm.setAdditionalProperty("spec", Map.of(
                "runStrategy", "Stopped".equals(printableStatus) ? "Halted" : "RerunOnFailure",
                "template", Map.of("spec", Map.of("volumes", volumes))));
        GenericKubernetesResource created = vms(ns).resource(vm).create();
        if (printableStatus == null) {
            return created;
        }
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("printableStatus", printableStatus);
        // virt-controller's status.runStrategy: the strategy it last acted on
        status.put("runStrategy", "Stopped".equals(printableStatus) ? "Halted" : "RerunOnFailure");
        status.put("created", !"Stopped".equals(printableStatus));
        status.put("ready", "Running".equals(printableStatus));
        created.setAdditionalProperty("status", status);
        return vms(ns).resource(created).updateStatus();
    }

    public GenericKubernetesResource vmi(String ns, String name, String phase, String... claims) {
        GenericKubernetesResource vmi = new GenericKubernetesResource();
        vmi.setApiVersion("kubevirt.io/v1");
        vmi.setKind("VirtualMachineInstance");
        vmi.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        List<Map<String, Object>> volumes = new ArrayList<>();
        List<Map<String, Object>> volumeStatus = new ArrayList<>();
        for (int i = 0; i < claims.length; i++) {
            volumes.add(Map.of("name", "disk-" + i, "persistentVolumeClaim", Map.of("claimName", claims[i])));
            volumeStatus.add(Map.of("name", "disk-" + i, "persistentVolumeClaimInfo", Map.of("claimName", claims[i])));
        }
        vmi.setAdditionalProperty("spec", Map.of("volumes", volumes));
        GenericKubernetesResource created = client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_INSTANCE)
                .inNamespace(ns).resource(vmi).create();
        created.setAdditionalProperty("status", Map.of("phase", phase, "volumeStatus", volumeStatus));
        return client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_INSTANCE)
                .inNamespace(ns).resource(created).updateStatus();
    }

    /** A virt-launcher pod of the VM, mounting the claims. */
    public Pod launcherPod(String ns, String vmName, String phase, String... claims) {
        return pod(ns, "virt-launcher-" + vmName + "-x7k2p", phase,
                Map.of("kubevirt.io", "virt-launcher", "vm.kubevirt.io/name", vmName), claims);
    }

    public Pod pod(String ns, String name, String phase, Map<String, String> labels, String... claims) {
        PodBuilder pod = new PodBuilder()
                .withNewMetadata().withName(name).withNamespace(ns).withLabels(labels).endMetadata()
                .withNewSpec().addNewContainer().withName("compute").withImage("quay.io/kubevirt/virt-launcher").endContainer()
                .endSpec()
                .withNewStatus().withPhase(phase).endStatus();
        for (int i = 0; i < claims.length; i++) {
            pod.editSpec().addNewVolume().withName("disk-" + i).withNewPersistentVolumeClaim().withClaimName(claims[i])
                    .endPersistentVolumeClaim().endVolume().endSpec();
        }
        return client.pods().inNamespace(ns).resource(pod.build()).create();
    }

    /** An image made by someone else (not the guard). */
    public GenericKubernetesResource foreignImage(String ns, String name, String displayName) {
        GenericKubernetesResource image = new GenericKubernetesResource();
        image.setApiVersion("harvesterhci.io/v1beta1");
        image.setKind("VirtualMachineImage");
        image.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        image.setAdditionalProperty("spec", Map.of("displayName", displayName, "sourceType", "download",
                "url", "https://example.invalid/disk.qcow2"));
        return images(ns).resource(image).create();
    }

    public List<GenericKubernetesResource> allImages(String ns) {
        return images(ns).list().getItems();
    }

    public List<GenericKubernetesResource> guardImages(String ns) {
        return images(ns).withLabel(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE)
                .list().getItems();
    }

    public NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> images(String ns) {
        return client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE).inNamespace(ns);
    }

    public NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> vmis(String ns) {
        return client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_INSTANCE).inNamespace(ns);
    }

    public KubernetesClient client() {
        return client;
    }

    public NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> vms(String ns) {
        return client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(ns);
    }
}
