package dev.vmexportguard.decision;

import java.time.Instant;
import java.util.List;

/** The part of the cluster state a decision was based on; published as {@code observed} and kept in the audit. */
public record Evidence(Instant readAt, VolumeSeen volume, List<VmSeen> vms, List<PodSeen> pods) {

    public record VolumeSeen(String name, String phase, String storageClassName, String resourceVersion) {
    }

    /** A VM using the volume, with its VMI; {@code printableStatus} null means no VirtualMachine object exists. */
    public record VmSeen(String name, String printableStatus, String runStrategy, String resourceVersion,
                         String vmiPhase, String vmiResourceVersion, boolean startPending) {
        public VmSeen(String name, String printableStatus, String runStrategy, String resourceVersion,
                      String vmiPhase, String vmiResourceVersion) {
            this(name, printableStatus, runStrategy, resourceVersion, vmiPhase, vmiResourceVersion, false);
        }
    }

    public record PodSeen(String name, String phase, String role, String vmName) {
    }

    public static Evidence none(Instant readAt) {
        return new Evidence(readAt, null, List.of(), List.of());
    }
}
