package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.ImagePlan;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.LinkedHashMap;
import java.util.Map;

/** Starts an export: creates the Harvester VirtualMachineImage that copies the volume. */
@ApplicationScoped
public class ImageExporter {

    /** Harvester already has an image with this display name, or the name is taken by another object. */
    public static class NameTakenException extends RuntimeException {
        public NameTakenException(String detail) {
            super(detail);
        }
    }

    private final KubernetesClient client;
    private final ClusterCalls calls;

    public ImageExporter(KubernetesClient client, ClusterCalls calls) {
        this.client = client;
        this.calls = calls;
    }

    /**
     * Creates the image; one of this request already there (a retried create, a resumed start, a create whose answer
     * was lost) is kept. Throws {@link ClusterAccessException} when the image could not be created, or when whether
     * it was could not be found out: the caller then ends the export and {@link #deleteOwn removes} it.
     */
    public void create(ImagePlan plan) {
        GenericKubernetesResource image = manifest(plan);
        ClusterOperation create = new ClusterOperation("create", "virtualmachineimages.harvesterhci.io", plan.namespace());
        OwnedCreate.run(calls, create, plan.name(), plan.requestId(),
                () -> images(plan.namespace()).resource(image).create(),
                () -> images(plan.namespace()).withName(plan.name()).get(),
                NameTakenException::new);
    }

    /** Removes the image if it is there and is this request's; one whose create was never confirmed included. */
    public void deleteOwn(String namespace, String name, String requestId) {
        GenericKubernetesResource existing = calls.run(
                new ClusterOperation("get", "virtualmachineimages.harvesterhci.io", namespace),
                () -> images(namespace).withName(name).get());
        if (existing != null && OwnedCreate.ownedBy(existing, requestId)) {
            delete(namespace, name);
        }
    }

    private NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> images(String namespace) {
        return client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE).inNamespace(namespace);
    }

    /** Removes an unfinished image; one already gone is fine. */
    public void delete(String namespace, String name) {
        calls.run(new ClusterOperation("delete", "virtualmachineimages.harvesterhci.io", namespace),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE)
                        .inNamespace(namespace).withName(name).delete());
    }

    static GenericKubernetesResource manifest(ImagePlan plan) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE);
        labels.put(KubernetesResources.LABEL_REQUEST, plan.requestHash());
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put(KubernetesResources.ANNOTATION_REQUEST_ID, plan.requestId());
        annotations.put(KubernetesResources.ANNOTATION_REQUESTED_BY, plan.requestedBy());
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("displayName", plan.displayName());
        spec.put("sourceType", "export-from-volume");
        spec.put("pvcName", plan.pvcName());
        spec.put("pvcNamespace", plan.namespace());
        if (plan.storageClassName() != null) {
            annotations.put(KubernetesResources.ANNOTATION_STORAGE_CLASS, plan.storageClassName());
            spec.put("targetStorageClassName", plan.storageClassName());
        }
        spec.put("description", "Exported by VM Export Guard for " + plan.requestedBy() + " (request " + plan.requestId()
                + ") after checking that every VM using " + plan.pvcName() + " was stopped");
        GenericKubernetesResource image = new GenericKubernetesResource();
        image.setApiVersion("harvesterhci.io/v1beta1");
        image.setKind("VirtualMachineImage");
        image.setMetadata(new ObjectMetaBuilder().withName(plan.name()).withNamespace(plan.namespace())
                .withLabels(labels).withAnnotations(annotations).build());
        image.setAdditionalProperty("spec", spec);
        return image;
    }
}
