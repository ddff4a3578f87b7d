package dev.vmexportguard.outbox;

import java.util.concurrent.CompletionStage;

import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.decision.ResultEvent;

/**
 * Where result events go: the result topic. The relay hands a batch of events over, in order, then waits until
 * the broker has taken each.
 */
public interface ResultChannel {

    /**
     * Hands the event over to be published after those handed over before it (their order is kept), without
     * waiting; the stage completes with the event exactly as published once the broker acknowledged it, or fails
     * when the broker did not take it. Throws {@link Unpublishable} at once when this event can never be published
     * (it cannot be written as a record). {@code source} is where the request came from (null when unknown),
     * {@code traceparent} and {@code tracestate} its W3C trace context (each null when none).
     */
    CompletionStage<String> publish(ResultEvent event, RequestSource source, String traceparent, String tracestate);

    /** This event, not the broker, is the problem. */
    class Unpublishable extends RuntimeException {
        public Unpublishable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
