package dev.vmexportguard.decision;

/** The kinds of result event the guard publishes. */
public enum EventType {
    /** Refused; nothing was exported. Final. */
    REJECTED,
    /** Accepted while the maximum of concurrent exports run; starts, after its checks again, when a slot frees. */
    QUEUED,
    /** The image was created: the copy runs. */
    STARTED,
    /** The copy moved on by at least 10 points. */
    PROGRESS,
    /** The image is ready. Final. */
    COMPLETED,
    /** The export ended without an image. Final. */
    FAILED;

    public boolean isFinal() {
        return this == REJECTED || this == COMPLETED || this == FAILED;
    }

    /** The last segment of the CloudEvents type, e.g. {@code rejected}. */
    public String cloudEventSuffix() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
