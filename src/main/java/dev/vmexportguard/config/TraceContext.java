package dev.vmexportguard.config;

import java.util.regex.Pattern;

/**
 * The W3C trace context ({@code traceparent}, {@code tracestate}) of the request this thread works on, so that
 * the result events of the request carry it. Set while a request is decided; null values when it came with none.
 */
public record TraceContext(String requestId, String traceparent, String tracestate) {
    private static final Pattern TRACEPARENT = Pattern.compile("^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$");
    private static final ThreadLocal<TraceContext> CURRENT = new ThreadLocal<>();

    /** A context whose traceparent is kept only when it is well-formed (else neither value is kept). */
    public static TraceContext of(String requestId, String traceparent, String tracestate) {
        boolean valid = traceparent != null && TRACEPARENT.matcher(traceparent.trim()).matches();
        return new TraceContext(requestId, valid ? traceparent.trim() : null,
                valid && tracestate != null && tracestate.length() <= 512 ? tracestate : null);
    }

    public static void set(TraceContext context) {
        CURRENT.set(context);
    }

    public static void clear() {
        CURRENT.remove();
    }

    /** The context of the request in hand on this thread, when it is {@code requestId}'s. */
    public static TraceContext of(String requestId) {
        TraceContext current = CURRENT.get();
        return current != null && current.requestId().equals(requestId) ? current : null;
    }
}
