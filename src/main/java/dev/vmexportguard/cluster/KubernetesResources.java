package dev.vmexportguard.cluster;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/**
 * The custom resources the guard reads and writes. Given explicitly: no discovery call against the cluster, and
 * the test API server needs them anyway.
 */
public final class KubernetesResources {
    public static final ResourceDefinitionContext VIRTUAL_MACHINE = context("kubevirt.io", "v1", "VirtualMachine",
            "virtualmachines");
    public static final ResourceDefinitionContext VIRTUAL_MACHINE_INSTANCE = context("kubevirt.io", "v1",
            "VirtualMachineInstance", "virtualmachineinstances");
    public static final ResourceDefinitionContext VIRTUAL_MACHINE_IMAGE = context("harvesterhci.io", "v1beta1",
            "VirtualMachineImage", "virtualmachineimages");
    public static final ResourceDefinitionContext VIRTUAL_MACHINE_BACKUP = context("harvesterhci.io", "v1beta1",
            "VirtualMachineBackup", "virtualmachinebackups");

    /** Labels and annotations the guard puts on what it creates. */
    public static final String LABEL_MANAGED_BY = "vm-export-guard.dev/managed-by";
    public static final String MANAGED_BY_VALUE = "vm-export-guard";
    public static final String LABEL_REQUEST = "vm-export-guard.dev/request";
    public static final String ANNOTATION_REQUEST_ID = "vm-export-guard.dev/request-id";
    public static final String ANNOTATION_REQUESTED_BY = "vm-export-guard.dev/requested-by";
    /** On a VM while exports read its disk: the requestIds, comma-separated. */
    public static final String ANNOTATION_EXPORT_LOCK = "vm-export-guard.dev/export-in-progress";

    /** Harvester's and KubeVirt's own keys. */
    public static final String ANNOTATION_STORAGE_CLASS = "harvesterhci.io/storageClassName";
    public static final String ANNOTATION_VOLUME_CLAIM_TEMPLATES = "harvesterhci.io/volumeClaimTemplates";
    public static final String LABEL_KUBEVIRT = "kubevirt.io";
    public static final String LABEL_VM_NAME = "vm.kubevirt.io/name";

    private KubernetesResources() {
    }

    private static ResourceDefinitionContext context(String group, String version, String kind, String plural) {
        return new ResourceDefinitionContext.Builder()
                .withGroup(group).withVersion(version).withKind(kind).withPlural(plural).withNamespaced(true)
                .build();
    }
}
