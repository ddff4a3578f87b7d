package dev.vmexportguard.decision;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What was read from the cluster for one namespace, in one pass, right before a decision. Plain values: the
 * decision rules never see a client type.
 */
public record ClusterSnapshot(
        String namespace,
        List<Volume> volumes,
        List<Vm> vms,
        List<Vmi> vmis,
        List<Pod> pods,
        List<Image> images,
        Instant readAt) {

    public static final String PHASE_BOUND = "Bound";
    public static final String STATUS_STOPPED = "Stopped";
    public static final String RUN_STRATEGY_ALWAYS = "Always";

    /** A PersistentVolumeClaim. */
    public record Volume(String name, String phase, String storageClassName, String resourceVersion) {
        public boolean bound() {
            return PHASE_BOUND.equals(phase);
        }
    }

    /** How a VM refers to a claim. */
    public enum ClaimSource { PERSISTENT_VOLUME_CLAIM, DATA_VOLUME, VOLUME_CLAIM_TEMPLATE }

    /** One claim a VM refers to. */
    public record ClaimRef(String claimName, ClaimSource source, boolean hotpluggable) {
        /** PVC-backed disks of the VM spec: the candidates when only the VM is named. */
        public boolean exportable() {
            return source != ClaimSource.VOLUME_CLAIM_TEMPLATE;
        }
    }

    /**
     * A KubeVirt VirtualMachine. {@code printableStatus} is null when the VM has no status yet. {@code startPending}:
     * a {@code Start} request waits in {@code status.stateChangeRequests} (virt-api's start, or virt-controller's own
     * after a RerunOnFailure VMI failed and was removed); the controller creates a VMI for it, after its start
     * back-off, with no change to the VM's spec.
     */
    public record Vm(String name, String printableStatus, String runStrategy, String resourceVersion,
                     List<ClaimRef> claims, boolean startPending) {
        public Vm(String name, String printableStatus, String runStrategy, String resourceVersion, List<ClaimRef> claims) {
            this(name, printableStatus, runStrategy, resourceVersion, claims, false);
        }

        public boolean uses(String claimName) {
            return claims.stream().anyMatch(c -> c.claimName().equals(claimName));
        }
    }

    /** A KubeVirt VirtualMachineInstance; it bears the name of its VM. {@code createdAt} is null when unknown. */
    public record Vmi(String name, String phase, String resourceVersion, Set<String> claimNames, Instant createdAt) {
        public Vmi(String name, String phase, String resourceVersion, Set<String> claimNames) {
            this(name, phase, resourceVersion, claimNames, null);
        }

        public boolean isFinal() {
            return "Succeeded".equals(phase) || "Failed".equals(phase);
        }
    }

    /** A pod that mounts at least one claim. {@code role} says what KubeVirt made it for, if anything. */
    public record Pod(String name, String phase, String role, String vmName, Set<String> claimNames, Instant createdAt) {
        public Pod(String name, String phase, String role, String vmName, Set<String> claimNames) {
            this(name, phase, role, vmName, claimNames, null);
        }

        public boolean isTerminated() {
            return "Succeeded".equals(phase) || "Failed".equals(phase);
        }
    }

    /** A Harvester VirtualMachineImage; {@code requestId} is the guard's annotation, null on images it did not make. */
    public record Image(String name, String displayName, String requestId, ImageStatus status) {
        public Image(String name, String displayName, String requestId) {
            this(name, displayName, requestId, new ImageStatus(0, null, null, null, false, null, false, null));
        }
    }

    public Optional<Volume> volume(String name) {
        return volumes.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    public Optional<Vm> vm(String name) {
        return vms.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    public Optional<Vmi> vmi(String name) {
        return vmis.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    public Optional<Image> image(String name) {
        return images.stream().filter(i -> i.name().equals(name)).findFirst();
    }
}
