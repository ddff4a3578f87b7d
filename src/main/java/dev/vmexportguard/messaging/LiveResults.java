package dev.vmexportguard.messaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.BroadcastProcessor;
import io.smallrye.mutiny.subscription.Cancellable;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Result events as they reach the result topic, for the dashboard's live view: every replica reads the topic from
 * its end, in a consumer group of its own that commits nothing, so that a page connected to any replica sees every
 * event, published by whichever replica. Events are only passed on to the pages connected now; nothing is kept. A
 * heartbeat goes to every page every 20 s; at shutdown every stream ends, so that an open page does not hold the
 * guard's graceful stop (its pages connect again, to another replica).
 */
@ApplicationScoped
public class LiveResults {
    /** A result event as published ({@code json}), with the fields a page is chosen by. */
    public record LiveResult(String namespace, String type, String json) {
        /** Whether it is the heartbeat, which every page gets. */
        public boolean heartbeat() {
            return HEARTBEAT.equals(type);
        }
    }

    static final String HEARTBEAT = "HEARTBEAT";
    static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(20);
    private static final LiveResult BEAT = new LiveResult(null, HEARTBEAT, "{\"type\":\"HEARTBEAT\"}");
    private static final Logger LOG = Logger.getLogger(LiveResults.class);

    private final BroadcastProcessor<LiveResult> broadcast = BroadcastProcessor.create();
    /** Pages connected now: with none, a record is not even read. */
    private final AtomicInteger watching = new AtomicInteger();
    private final ObjectMapper json;
    private Cancellable heartbeats;

    public LiveResults(ObjectMapper json) {
        this.json = json;
    }

    @PostConstruct
    void beat() {
        heartbeats = Multi.createFrom().ticks().every(HEARTBEAT_EVERY).subscribe().with(t -> broadcast.onNext(BEAT));
    }

    @Incoming("live-results")
    public void received(String value) {
        if (watching.get() == 0) {
            return;
        }
        try {
            JsonNode event = json.readTree(value);
            broadcast.onNext(new LiveResult(text(event, "namespace"), text(event, "type"), value));
        } catch (Exception e) {
            // a record that is not a result event is no event for a page; the topic keeps it for its other readers
            LOG.debugf("a record of the result topic is not a result event: %s", e.toString());
        }
    }

    /** The events and heartbeats from now on, until shutdown; each subscriber gets every one. */
    public Multi<LiveResult> events() {
        return broadcast.toHotStream()
                .onSubscription().invoke(watching::incrementAndGet)
                .onTermination().invoke(watching::decrementAndGet);
    }

    /**
     * The first step of a graceful stop ({@code quarkus.shutdown.delay-enabled}), before the HTTP server waits for the
     * requests in progress: a stream that went on would hold the stop for the whole shutdown timeout.
     */
    void stop(@Observes ShutdownDelayInitiatedEvent shutdown) {
        heartbeats.cancel();
        broadcast.onComplete();
    }

    private static String text(JsonNode event, String field) {
        JsonNode node = event.path(field);
        return node.isTextual() ? node.asText() : null;
    }
}
