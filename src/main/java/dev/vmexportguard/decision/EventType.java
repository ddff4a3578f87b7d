package dev.vmexportguard.decision;

/** The kinds of result event the guard publishes. */
public enum EventType {
    REJECTED,
    STARTED;

    /** The last segment of the CloudEvents type, e.g. {@code rejected}. */
    public String cloudEventSuffix() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
