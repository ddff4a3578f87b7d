package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.ExportRequest;
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

    /** Creates the backup; one that already exists (a start resumed after a crash) is kept. */
    public void create(String namespace, String name, String vm, ExportRequest.BackupType type, String requestId) {
        GenericKubernetesResource backup = new GenericKubernetesResource();
        backup.setApiVersion("harvesterhci.io/v1beta1");
        backup.setKind("VirtualMachineBackup");
        backup.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace)
                .withLabels(Map.of(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE))
                .withAnnotations(Map.of(KubernetesResources.ANNOTATION_REQUEST_ID, requestId))
                .build());
        backup.setAdditionalProperty("spec", Map.of(
                "source", Map.of("apiGroup", "kubevirt.io", "kind", "VirtualMachine", "name", vm),
                "type", type.specValue()));
        ClusterOperation create = new ClusterOperation("create", "virtualmachinebackups.harvesterhci.io", namespace);
        try {
            calls.run(create, () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP)
                    .inNamespace(namespace).resource(backup).create());
        } catch (ClusterAccessException e) {
            if (e.status() != 409) {
                throw e;
            }
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
