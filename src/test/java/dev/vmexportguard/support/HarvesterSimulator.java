package dev.vmexportguard.support;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plays the controllers the test API server does not have: Harvester's image controller (progress, import,
 * retries that give up) and KubeVirt starting a VM. It writes what those controllers write, nothing more.
 */
public final class HarvesterSimulator {
    private final HarvesterCluster cluster;

    public HarvesterSimulator(KubernetesClient client) {
        this.cluster = new HarvesterCluster(client);
    }

    /** The image controller copying: Initialized, Imported Unknown, {@code status.progress} at the given value. */
    public void progress(String ns, String image, int progress) {
        setStatus(ns, image, progress, List.of(
                condition("Initialized", "True", "Initialized", ""),
                condition("Imported", "Unknown", "Importing", "")), Map.of());
    }

    /** The image is ready: Imported True, progress 100, sizes set. */
    public void complete(String ns, String image, long size) {
        setStatus(ns, image, 100, List.of(
                condition("Initialized", "True", "Initialized", ""),
                condition("Imported", "True", "Imported", ""),
                condition("RetryLimitExceeded", "False", "", "")),
                Map.of("size", size, "virtualSize", size, "storageClassName", "lh-" + image));
    }

    /** The controller gave up after its retries. */
    public void failAfterRetries(String ns, String image, String message) {
        setStatus(ns, image, 47, List.of(
                condition("Initialized", "True", "Initialized", ""),
                condition("Imported", "False", "ImportFailed", message),
                condition("RetryLimitExceeded", "True", "RetryLimitExceeded", message)), Map.of("failed", 3));
    }

    public void delete(String ns, String image) {
        cluster.images(ns).withName(image).delete();
    }

    /** KubeVirt starting a VM: a VMI is scheduled and the VM shows Starting. */
    public void startVm(String ns, String vm, String... claims) {
        cluster.vmi(ns, vm, "Scheduling", claims);
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> status = new LinkedHashMap<>(current.get("status"));
        status.put("printableStatus", "Starting");
        status.put("created", true);
        current.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(current).updateStatus();
    }

    private void setStatus(String ns, String image, int progress, List<Map<String, Object>> conditions,
                           Map<String, Object> extra) {
        GenericKubernetesResource current = cluster.images(ns).withName(image).get();
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("progress", progress);
        status.put("conditions", new ArrayList<>(conditions));
        status.putAll(extra);
        current.setAdditionalProperty("status", status);
        cluster.images(ns).resource(current).update();
    }

    private static Map<String, Object> condition(String type, String status, String reason, String message) {
        String now = Instant.now().toString();
        return Map.of("type", type, "status", status, "reason", reason, "message", message,
                "lastUpdateTime", now, "lastTransitionTime", now);
    }
}
