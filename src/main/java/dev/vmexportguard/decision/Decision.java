package dev.vmexportguard.decision;

import java.util.List;

/** The answer to a request, given what was read from the cluster. */
public sealed interface Decision {

    Evidence observed();

    /** The VM the outcome is about: the one named in the request, or the only VM using the volume. */
    String vmName();

    /** The PVC the outcome is about, once resolved. */
    String volumeName();

    record Rejected(ReasonCode reason, String message, Evidence observed, String vmName, String volumeName)
            implements Decision {
    }

    /**
     * Export may start. {@code existing} is true when the image for this request is already there (a start resumed
     * after a crash): it is adopted, not created again. {@code stopFirst} is null when every VM is safely stopped;
     * otherwise the request asked to stop them (onRunning STOP) and the export waits until they are.
     */
    record Approved(ImagePlan plan, Evidence observed, String vmName, String volumeName, boolean existing,
                    StopFirst stopFirst) implements Decision {
    }

    /** The VMs to stop through KubeVirt (possibly none, when only a terminating pod still mounts the volume). */
    record StopFirst(List<String> vms) {
    }
}
