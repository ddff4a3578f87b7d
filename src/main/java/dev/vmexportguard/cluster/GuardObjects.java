package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.Orphans;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The images and backups in the cluster that carry the guard's labels, in every namespace, as the sweep of
 * orphaned objects sees them; and their removal.
 */
@ApplicationScoped
public class GuardObjects {

    private final KubernetesClient client;
    private final ClusterCalls calls;

    public GuardObjects(KubernetesClient client, ClusterCalls calls) {
        this.client = client;
        this.calls = calls;
    }

    /** Every VirtualMachineImage and VirtualMachineBackup labelled {@code vm-export-guard.dev/managed-by}. */
    public List<Orphans.GuardObject> list() {
        List<Orphans.GuardObject> found = new ArrayList<>();
        for (Orphans.Kind kind : Orphans.Kind.values()) {
            List<GenericKubernetesResource> items = calls.run(new ClusterOperation("list", resource(kind), null),
                    () -> client.genericKubernetesResources(context(kind)).inAnyNamespace()
                            .withLabel(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE)
                            .list().getItems());
            for (GenericKubernetesResource item : items) {
                Map<String, String> annotations = item.getMetadata().getAnnotations();
                found.add(new Orphans.GuardObject(kind, item.getMetadata().getNamespace(), item.getMetadata().getName(),
                        annotations == null ? null : annotations.get(KubernetesResources.ANNOTATION_REQUEST_ID),
                        finished(kind, item)));
            }
        }
        return found;
    }

    /** Removes the object; one already gone is fine. */
    public void delete(Orphans.GuardObject object) {
        calls.run(new ClusterOperation("delete", resource(object.kind()), object.namespace()),
                () -> client.genericKubernetesResources(context(object.kind())).inNamespace(object.namespace())
                        .withName(object.name()).delete());
    }

    /** An image Harvester reports Imported, a backup ready to use. */
    private static boolean finished(Orphans.Kind kind, GenericKubernetesResource item) {
        if (kind == Orphans.Kind.BACKUP) {
            return Boolean.TRUE.equals(item.get("status", "readyToUse"));
        }
        return ClusterReader.imageStatus(item).imported();
    }

    static String apiVersion(Orphans.Kind kind) {
        ResourceDefinitionContext context = context(kind);
        return context.getGroup() + "/" + context.getVersion();
    }

    private static ResourceDefinitionContext context(Orphans.Kind kind) {
        return kind == Orphans.Kind.IMAGE ? KubernetesResources.VIRTUAL_MACHINE_IMAGE
                : KubernetesResources.VIRTUAL_MACHINE_BACKUP;
    }

    private static String resource(Orphans.Kind kind) {
        return context(kind).getPlural() + "." + context(kind).getGroup();
    }
}
