package dev.vmexportguard.decision;

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
     * Export may start. {@code existing} is true when the image for this request is already there (a redelivered
     * request): it is adopted, not created again.
     */
    record Approved(ImagePlan plan, Evidence observed, String vmName, String volumeName, boolean existing)
            implements Decision {
    }
}
