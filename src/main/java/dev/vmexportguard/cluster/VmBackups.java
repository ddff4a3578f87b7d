package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.ImagePlan;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;

/** Harvester VirtualMachineBackups taken before an export (backupFirst). */
@ApplicationScoped
public class VmBackups {

    /** What Harvester reports of a backup: ready, failed with a message, or neither yet (or gone). */
    public record BackupState(boolean exists, boolean ready, String error) {
    }

    private final KubernetesClient client;
    private final ClusterCalls calls;

    public VmBackups(KubernetesClient client, ClusterCalls calls) {
        this.client = client;
        this.calls = calls;
    }

    /** A backup of that name exists and is not this request's. */
    public static class NameTakenException extends RuntimeException {
        public NameTakenException(String detail) {
            super(detail);
        }
    }

    /**
     * Creates the backup; one of this request already there (a start resumed after a crash, a create whose answer
     * was lost) is kept. Throws {@link ClusterAccessException} when it could not be created, or when whether it was
     * could not be found out.
     */
    public void create(String namespace, String name, String vm, ExportRequest.BackupType type, String requestId) {
        GenericKubernetesResource backup = new GenericKubernetesResource();
        backup.setApiVersion("harvesterhci.io/v1beta1");
        backup.setKind("VirtualMachineBackup");
        backup.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace)
                .withLabels(Map.of(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE,
                        KubernetesResources.LABEL_REQUEST, ImagePlan.requestHash(requestId)))
                .withAnnotations(Map.of(KubernetesResources.ANNOTATION_REQUEST_ID, requestId))
                .build());
        backup.setAdditionalProperty("spec", Map.of(
                "source", Map.of("apiGroup", "kubevirt.io", "kind", "VirtualMachine", "name", vm),
                "type", type.specValue()));
        ClusterOperation create = new ClusterOperation("create", "virtualmachinebackups.harvesterhci.io", namespace);
        OwnedCreate.run(calls, create, name, requestId,
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP)
                        .inNamespace(namespace).resource(backup).create(),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP)
                        .inNamespace(namespace).withName(name).get(),
                NameTakenException::new);
    }

    /** Removes the backup if it is there and is this request's (one whose create was never confirmed). */
    public void deleteOwn(String namespace, String name, String requestId) {
        var backups = client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(namespace);
        GenericKubernetesResource existing = calls.run(
                new ClusterOperation("get", "virtualmachinebackups.harvesterhci.io", namespace),
                () -> backups.withName(name).get());
        if (existing != null && OwnedCreate.ownedBy(existing, requestId)) {
            calls.run(new ClusterOperation("delete", "virtualmachinebackups.harvesterhci.io", namespace),
                    () -> backups.withName(name).delete());
        }
    }

    public BackupState state(String namespace, String name) {
        GenericKubernetesResource backup = calls.run(
                new ClusterOperation("get", "virtualmachinebackups.harvesterhci.io", namespace),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP)
                        .inNamespace(namespace).withName(name).get());
        if (backup == null) {
            return new BackupState(false, false, null);
        }
        Object ready = backup.get("status", "readyToUse");
        Object error = backup.get("status", "error", "message");
        return new BackupState(true, Boolean.TRUE.equals(ready), error instanceof String s && !s.isBlank() ? s : null);
    }
}
