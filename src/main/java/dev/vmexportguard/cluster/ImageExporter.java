package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.ImagePlan;
import dev.vmexportguard.decision.ImageStatus;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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

    /** Creates the image; one of this request already there (a retried create, a resumed start) is kept. */
    public void create(ImagePlan plan) {
        GenericKubernetesResource image = manifest(plan);
        ClusterOperation create = new ClusterOperation("create", "virtualmachineimages.harvesterhci.io", plan.namespace());
        try {
            calls.run(create, () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE)
                    .inNamespace(plan.namespace()).resource(image).create());
            return;
        } catch (ClusterAccessException e) {
            if (e.status() != 409) {
                throw e;
            }
            GenericKubernetesResource existing = calls.run(
                    new ClusterOperation("get", "virtualmachineimages.harvesterhci.io", plan.namespace()),
                    () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE)
                            .inNamespace(plan.namespace()).withName(plan.name()).get());
            if (existing != null && plan.requestId().equals(
                    existing.getMetadata().getAnnotations() == null ? null
                            : existing.getMetadata().getAnnotations().get(KubernetesResources.ANNOTATION_REQUEST_ID))) {
                return;
            }
            throw new NameTakenException(e.getMessage());
        }
    }

    /** The image's status as Harvester reports it now; empty when the image does not exist. */
    public Optional<ImageStatus> status(String namespace, String name) {
        GenericKubernetesResource image = calls.run(
                new ClusterOperation("get", "virtualmachineimages.harvesterhci.io", namespace),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE)
                        .inNamespace(namespace).withName(name).get());
        return Optional.ofNullable(image).map(ImageExporter::status);
    }

    /** Removes an unfinished image; one already gone is fine. */
    public void delete(String namespace, String name) {
        calls.run(new ClusterOperation("delete", "virtualmachineimages.harvesterhci.io", namespace),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE)
                        .inNamespace(namespace).withName(name).delete());
    }

    static ImageStatus status(GenericKubernetesResource image) {
        Map<String, Object> status = image.get("status") instanceof Map<?, ?> m ? cast(m) : Map.of();
        boolean imported = false;
        java.time.Instant importedAt = null;
        boolean retryLimitExceeded = false;
        String failure = null;
        if (status.get("conditions") instanceof List<?> conditions) {
            for (Object item : conditions) {
                if (!(item instanceof Map<?, ?> condition) || !"True".equals(condition.get("status"))) {
                    continue;
                }
                if ("Imported".equals(condition.get("type"))) {
                    imported = true;
                    importedAt = ClusterReader.instant(condition.get("lastTransitionTime") instanceof String t ? t : null);
                } else if ("RetryLimitExceeded".equals(condition.get("type"))) {
                    retryLimitExceeded = true;
                    failure = condition.get("message") instanceof String msg ? msg : null;
                }
            }
        }
        return new ImageStatus(number(status.get("progress")) == null ? 0 : number(status.get("progress")).intValue(),
                number(status.get("size")), number(status.get("virtualSize")),
                status.get("storageClassName") instanceof String sc ? sc : null, imported, importedAt,
                retryLimitExceeded, failure);
    }

    private static Long number(Object value) {
        return value instanceof Number n ? n.longValue() : null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> map) {
        return (Map<String, Object>) map;
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
