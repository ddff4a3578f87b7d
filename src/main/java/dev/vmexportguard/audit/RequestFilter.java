package dev.vmexportguard.audit;

import java.time.Instant;
import java.util.Set;

/**
 * Filters of a search of requests (one line a request, not a row an event); null means "any". {@code outcome} is a
 * final event type ({@code REJECTED}, {@code COMPLETED}, {@code FAILED}, {@code ADMITTED}) or {@link #IN_PROGRESS} for
 * a request with none yet; {@code reason} the reason code of its final event. {@code since} and {@code until} bound
 * when the request was received. {@code namespaces}, when not null, holds the only namespaces a request's rows may
 * name for it to be returned (a request with a row that names none is then never returned).
 */
public record RequestFilter(String namespace, String requestedBy, String outcome, String reason, Instant since,
                            Instant until, Set<String> namespaces) {
    /** The outcome of a request that has no final event yet. */
    public static final String IN_PROGRESS = "IN_PROGRESS";

    /** The same filter, shown only the {@code visible} namespaces (null: every one). */
    public RequestFilter within(Set<String> visible) {
        return new RequestFilter(namespace, requestedBy, outcome, reason, since, until, visible);
    }
}
