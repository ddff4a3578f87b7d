package dev.vmexportguard.outbox;

import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.decision.ResultEvent;

/** Where result events go: the result topic. The relay hands each event over and waits until it is taken. */
public interface ResultChannel {

    /**
     * Publishes the event and waits for the broker's acknowledgement; returns the event exactly as published. Throws
     * {@link Unpublishable} when this event can never be published (it cannot be written as a record), anything
     * else when the broker did not take it now. {@code source} is where the request came from (null when unknown),
     * {@code traceparent} and {@code tracestate} its W3C trace context (each null when none).
     */
    String publish(ResultEvent event, RequestSource source, String traceparent, String tracestate);

    /** This event, not the broker, is the problem. */
    class Unpublishable extends RuntimeException {
        public Unpublishable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
