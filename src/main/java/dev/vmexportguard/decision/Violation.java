package dev.vmexportguard.decision;

/** One problem with a request: the field (or {@code $} for the record as a whole) and what is wrong. */
public record Violation(String field, String problem) {
    @Override
    public String toString() {
        return field + ": " + problem;
    }
}
