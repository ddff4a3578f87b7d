package dev.vmexportguard.cluster;

import java.time.Instant;
import java.util.Set;

/**
 * What the guard needs to know of a VM it stopped, to start it again after the export: its status, run strategy and
 * lock, and its VMI if it has one. Read straight from the API server.
 *
 * @param lockedBy     the requests whose export lock the VM carries
 * @param vmiPhase     null when the VM has no VMI
 * @param vmiCreatedAt null when unknown or without a VMI
 * @param vmiDeleting  the VMI is being deleted (KubeVirt stopping the VM)
 * @param startPending a start request waits on the VM's status: KubeVirt starts it, whatever it shows now
 * @param resourceVersion the VM's: any change to it, a start included, gives it another
 */
public record VmPowerState(String printableStatus, String runStrategy, Set<String> lockedBy, String vmiPhase,
                           Instant vmiCreatedAt, boolean vmiDeleting, boolean startPending, String resourceVersion) {

    /** Stopped, and staying so: a VM with a start pending shows Stopped until KubeVirt creates its VMI. */
    public boolean stopped() {
        return "Stopped".equals(printableStatus) && !startPending;
    }

    /**
     * Someone started the VM again: it has a VMI created after {@code since} that is not on its way out (the VMI the
     * guard stopped was created before, and is being deleted while the VM stops).
     */
    public boolean startedSince(Instant since) {
        return vmiPhase != null && !vmiDeleting && vmiCreatedAt != null && since != null && vmiCreatedAt.isAfter(since)
                && !"Succeeded".equals(vmiPhase) && !"Failed".equals(vmiPhase);
    }

    /** For a person: {@code Stopping, VMI phase Running}. */
    public String describe() {
        return (printableStatus == null ? "no status" : printableStatus)
                + (startPending ? " with a start pending" : "")
                + (vmiPhase == null ? ", no VMI" : ", VMI phase " + vmiPhase + (vmiDeleting ? " (being deleted)" : ""));
    }
}
