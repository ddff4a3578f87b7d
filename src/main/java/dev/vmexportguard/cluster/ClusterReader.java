package dev.vmexportguard.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.ClusterSnapshot.ClaimRef;
import dev.vmexportguard.decision.ClusterSnapshot.ClaimSource;
import dev.vmexportguard.decision.ImageStatus;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Future;
import org.jboss.logging.Logger;

/**
 * Reads what a decision about one namespace needs (claims, VMs, VMIs, pods and images): straight from the API server
 * ({@link #read}), or from the watches ({@link #watched}); and turns
 * the API's objects into the decision rules' plain values, for both.
 */
@ApplicationScoped
public class ClusterReader {
    private static final Logger LOG = Logger.getLogger(ClusterReader.class);
    /** Reads Harvester's claim-template annotations; a plain mapper, shared by the watches' threads. */
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KubernetesClient client;
    private final ClusterCalls calls;
    private final ResourceWatches watches;
    private final Clock clock;
    private final boolean decideOnWatches;

    public ClusterReader(KubernetesClient client, ClusterCalls calls, ResourceWatches watches, Clock clock,
                         GuardConfig config) {
        this.client = client;
        this.calls = calls;
        this.watches = watches;
        this.clock = clock;
        this.decideOnWatches = config.request().decideOnWatches();
    }

    /**
     * What deciding a request for {@code volumeName} (or the one volume of VM {@code vmName}) needs, as the
     * watches show it, with no API call; empty while they are not all up, or with
     * {@code guard.request.decide-on-watches=false}. Whether a decision on it stands is
     * {@link dev.vmexportguard.decision.ExportDecider#standsOnWatchedState}; whatever acts reads afresh first.
     */
    public Optional<ClusterSnapshot> watched(String namespace, String volumeName, String vmName) {
        return decideOnWatches ? Optional.ofNullable(watches.decisionView(namespace, volumeName, vmName))
                : Optional.empty();
    }

    /** The namespace as the API server lists it now: five lists, no cache. */
    public ClusterSnapshot read(String namespace) {
        // The images first: a VM, VMI or pod the later lists do not show was created after the image was read, so
        // after it was ready if it showed ready; read the other way round, a VM started between the two lists,
        // before the image became ready, would go unseen.
        List<GenericKubernetesResource> images = calls.run(
                new ClusterOperation("list", "virtualmachineimages.harvesterhci.io", namespace),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE)
                        .inNamespace(namespace).list().getItems());
        // the other four, which need not wait for one another, at the same time
        Future<List<PersistentVolumeClaim>> claims = calls.runAside(
                new ClusterOperation("list", "persistentvolumeclaims", namespace),
                () -> client.persistentVolumeClaims().inNamespace(namespace).list().getItems());
        Future<List<GenericKubernetesResource>> machines = calls.runAside(
                new ClusterOperation("list", "virtualmachines.kubevirt.io", namespace),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                        .list().getItems());
        Future<List<GenericKubernetesResource>> instances = calls.runAside(
                new ClusterOperation("list", "virtualmachineinstances.kubevirt.io", namespace),
                () -> client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_INSTANCE)
                        .inNamespace(namespace).list().getItems());
        Future<List<Pod>> mounting = calls.runAside(new ClusterOperation("list", "pods", namespace),
                () -> client.pods().inNamespace(namespace).list().getItems());
        List<PersistentVolumeClaim> pvcs;
        List<GenericKubernetesResource> vms;
        List<GenericKubernetesResource> vmis;
        List<Pod> pods;
        try {
            pvcs = ClusterCalls.answer(claims);
            vms = ClusterCalls.answer(machines);
            vmis = ClusterCalls.answer(instances);
            pods = ClusterCalls.answer(mounting);
        } finally {
            List.of(claims, machines, instances, mounting).forEach(f -> f.cancel(true));
        }
        return new ClusterSnapshot(namespace,
                pvcs.stream().map(ClusterReader::volume).toList(),
                vms.stream().map(ClusterReader::vm).toList(),
                vmis.stream().map(ClusterReader::vmi).toList(),
                pods.stream().map(ClusterReader::pod).filter(p -> !p.claimNames().isEmpty()).toList(),
                images.stream().map(ClusterReader::image).toList(),
                clock.instant());
    }

    static ClusterSnapshot.Volume volume(PersistentVolumeClaim pvc) {
        return new ClusterSnapshot.Volume(pvc.getMetadata().getName(),
                pvc.getStatus() == null ? null : pvc.getStatus().getPhase(),
                pvc.getSpec() == null ? null : pvc.getSpec().getStorageClassName(),
                pvc.getMetadata().getResourceVersion());
    }

    static ClusterSnapshot.Vm vm(GenericKubernetesResource vm) {
        List<ClaimRef> claims = new ArrayList<>();
        for (Map<String, Object> volume : maps(vm.get("spec", "template", "spec", "volumes"))) {
            Map<String, Object> pvc = map(volume.get("persistentVolumeClaim"));
            if (pvc != null && pvc.get("claimName") instanceof String name) {
                claims.add(new ClaimRef(name, ClaimSource.PERSISTENT_VOLUME_CLAIM, Boolean.TRUE.equals(pvc.get("hotpluggable"))));
            }
            Map<String, Object> dataVolume = map(volume.get("dataVolume"));
            if (dataVolume != null && dataVolume.get("name") instanceof String name) {
                claims.add(new ClaimRef(name, ClaimSource.DATA_VOLUME, Boolean.TRUE.equals(dataVolume.get("hotpluggable"))));
            }
        }
        claims.addAll(claimTemplates(vm));
        Object printableStatus = vm.get("status", "printableStatus");
        return new ClusterSnapshot.Vm(vm.getMetadata().getName(),
                printableStatus instanceof String s ? s : null,
                runStrategy(vm), vm.getMetadata().getResourceVersion(), claims, startPending(vm));
    }

    /** Harvester keeps the PVCs it creates for a VM in an annotation holding a JSON array of PVC objects. */
    private static List<ClaimRef> claimTemplates(GenericKubernetesResource vm) {
        Map<String, String> annotations = vm.getMetadata().getAnnotations();
        String templates = annotations == null ? null : annotations.get(KubernetesResources.ANNOTATION_VOLUME_CLAIM_TEMPLATES);
        if (templates == null || templates.isBlank()) {
            return List.of();
        }
        List<ClaimRef> claims = new ArrayList<>();
        try {
            for (JsonNode pvc : JSON.readTree(templates)) {
                String name = pvc.path("metadata").path("name").asText(null);
                if (name != null) {
                    claims.add(new ClaimRef(name, ClaimSource.VOLUME_CLAIM_TEMPLATE, false));
                }
            }
        } catch (Exception e) {
            // the VM's spec volumes still name its claims; the annotation only adds ones not yet in the spec
            LOG.warnf("VM %s/%s: unreadable %s annotation (%s)", vm.getMetadata().getNamespace(),
                    vm.getMetadata().getName(), KubernetesResources.ANNOTATION_VOLUME_CLAIM_TEMPLATES, e.getMessage());
        }
        return claims;
    }

    static String runStrategy(GenericKubernetesResource vm) {
        Object strategy = vm.get("spec", "runStrategy");
        if (strategy instanceof String s) {
            return s;
        }
        Object running = vm.get("spec", "running");
        if (running instanceof Boolean b) {
            return b ? "Always" : "Halted";
        }
        return null;
    }

    /**
     * A {@code Start} request waits in the VM's {@code status.stateChangeRequests} (KubeVirt's
     * {@code pkg/virt-controller/watch/vm/vm.go} adds one itself when a RerunOnFailure VMI failed, and starts the VM
     * from it once its start back-off has passed).
     */
    static boolean startPending(GenericKubernetesResource vm) {
        return maps(vm.get("status", "stateChangeRequests")).stream().anyMatch(r -> "Start".equals(r.get("action")));
    }

    static ClusterSnapshot.Vmi vmi(GenericKubernetesResource vmi) {
        Set<String> claims = new LinkedHashSet<>();
        for (Map<String, Object> status : maps(vmi.get("status", "volumeStatus"))) {
            Map<String, Object> info = map(status.get("persistentVolumeClaimInfo"));
            if (info != null && info.get("claimName") instanceof String name) {
                claims.add(name);
            }
        }
        for (Map<String, Object> volume : maps(vmi.get("spec", "volumes"))) {
            Map<String, Object> pvc = map(volume.get("persistentVolumeClaim"));
            if (pvc != null && pvc.get("claimName") instanceof String name) {
                claims.add(name);
            }
            Map<String, Object> dataVolume = map(volume.get("dataVolume"));
            if (dataVolume != null && dataVolume.get("name") instanceof String name) {
                claims.add(name);
            }
        }
        Object phase = vmi.get("status", "phase");
        return new ClusterSnapshot.Vmi(vmi.getMetadata().getName(), phase instanceof String s ? s : null,
                vmi.getMetadata().getResourceVersion(), claims, instant(vmi.getMetadata().getCreationTimestamp()));
    }

    static ClusterSnapshot.Pod pod(Pod pod) {
        Set<String> claims = new LinkedHashSet<>();
        if (pod.getSpec() != null && pod.getSpec().getVolumes() != null) {
            for (Volume volume : pod.getSpec().getVolumes()) {
                if (volume.getPersistentVolumeClaim() != null && volume.getPersistentVolumeClaim().getClaimName() != null) {
                    claims.add(volume.getPersistentVolumeClaim().getClaimName());
                }
            }
        }
        Map<String, String> labels = Objects.requireNonNullElse(pod.getMetadata().getLabels(), Map.of());
        return new ClusterSnapshot.Pod(pod.getMetadata().getName(),
                pod.getStatus() == null ? null : pod.getStatus().getPhase(),
                labels.get(KubernetesResources.LABEL_KUBEVIRT), labels.get(KubernetesResources.LABEL_VM_NAME), claims,
                instant(pod.getMetadata().getCreationTimestamp()));
    }

    static ClusterSnapshot.Image image(GenericKubernetesResource image) {
        Map<String, String> annotations = image.getMetadata().getAnnotations();
        Object displayName = image.get("spec", "displayName");
        return new ClusterSnapshot.Image(image.getMetadata().getName(),
                displayName instanceof String s ? s : null,
                annotations == null ? null : annotations.get(KubernetesResources.ANNOTATION_REQUEST_ID),
                imageStatus(image));
    }

    /** {@code status.progress}, sizes and the conditions that end an export, as Harvester writes them. */
    static ImageStatus imageStatus(GenericKubernetesResource image) {
        Map<String, Object> status = Objects.requireNonNullElse(map(image.get("status")), Map.of());
        boolean imported = false;
        Instant importedAt = null;
        boolean retryLimitExceeded = false;
        String failure = null;
        if (status.get("conditions") instanceof List<?> conditions) {
            for (Object item : conditions) {
                if (!(item instanceof Map<?, ?> condition) || !"True".equals(condition.get("status"))) {
                    continue;
                }
                if ("Imported".equals(condition.get("type"))) {
                    imported = true;
                    importedAt = readyTime(condition);
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

    /**
     * When a condition became what it is, as Harvester writes it: wrangler's condition helpers set only
     * {@code lastUpdateTime} (RFC 3339, whole seconds), moved whenever the status or message changes; a
     * {@code lastTransitionTime} is read when there is no readable {@code lastUpdateTime}. Null when neither is
     * there or readable.
     */
    private static Instant readyTime(Map<?, ?> condition) {
        Instant updated = instant(condition.get("lastUpdateTime") instanceof String t ? t : null);
        if (updated != null) {
            return updated;
        }
        return instant(condition.get("lastTransitionTime") instanceof String t ? t : null);
    }

    private static Long number(Object value) {
        return value instanceof Number n ? n.longValue() : null;
    }


    /** A Kubernetes time (RFC 3339); null when absent or unreadable. */
    static Instant instant(String time) {
        try {
            return time == null ? null : Instant.parse(time);
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
    }

    private static List<Map<String, Object>> maps(Object o) {
        if (!(o instanceof List<?> list)) {
            return List.of();
        }
        List<Map<String, Object>> result = new ArrayList<>();
        for (Object item : list) {
            Map<String, Object> m = map(item);
            if (m != null) {
                result.add(m);
            }
        }
        return result;
    }
}
