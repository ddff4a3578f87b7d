package dev.vmexportguard.messaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.BroadcastProcessor;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Result events as they reach the result topic, for the dashboard's live view: every replica reads the topic from
 * its end, in a consumer group of its own that commits nothing, so that a page connected to any replica sees every
 * event, published by whichever replica. Events are only passed on to the pages connected now; nothing is kept.
 */
@ApplicationScoped
public class LiveResults {
    /** A result event as published ({@code json}), with the fields a page is chosen by. */
    public record LiveResult(String namespace, String requestId, String type, String json) {
    }

    private static final Logger LOG = Logger.getLogger(LiveResults.class);

    private final BroadcastProcessor<LiveResult> broadcast = BroadcastProcessor.create();
    private final ObjectMapper json;

    public LiveResults(ObjectMapper json) {
        this.json = json;
    }

    @Incoming("live-results")
    public void received(String value) {
        try {
            JsonNode event = json.readTree(value);
            broadcast.onNext(new LiveResult(text(event, "namespace"), text(event, "requestId"), text(event, "type"),
                    value));
        } catch (Exception e) {
            // a record that is not a result event is no event for a page; the topic keeps it for its other readers
            LOG.debugf("a record of the result topic is not a result event: %s", e.toString());
        }
    }

    /** The events from now on; each subscriber gets every one (a slow one is dropped, not waited for). */
    public Multi<LiveResult> events() {
        return broadcast.toHotStream();
    }

    private static String text(JsonNode event, String field) {
        JsonNode node = event.path(field);
        return node.isTextual() ? node.asText() : null;
    }
}
