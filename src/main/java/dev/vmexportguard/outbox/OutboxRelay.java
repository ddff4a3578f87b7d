package dev.vmexportguard.outbox;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.cluster.KubernetesEventRecorder;
import dev.vmexportguard.concurrent.SerialWorker;
import dev.vmexportguard.decision.ResultEvent;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.persistence.EntityManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Publishes pending outbox events in order, then audits, records as a Kubernetes Event and removes each. Runs
 * every second (events left by a crash, or added by other replicas) and whenever an event is added here. After a
 * crash an event may be published again: with the same eventId, and audited once more as published.
 */
@ApplicationScoped
public class OutboxRelay {
    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {
    };
    /** Only one relay at a time across replicas, so events keep their order. */
    private static final long RELAY_LOCK = 0x76656730L;
    private static final int BATCH = 100;

    private final EntityManager em;
    private final ResultChannel channel;
    private final AuditLog audit;
    private final KubernetesEventRecorder kubernetesEvents;
    private final ObjectMapper json;
    private final SerialWorker worker = new SerialWorker("event-relay");
    private final Runnable wake = worker.trigger("publishing result events", this::relay);

    public OutboxRelay(EntityManager em, ResultChannel channel, AuditLog audit,
                       KubernetesEventRecorder kubernetesEvents, ObjectMapper json) {
        this.em = em;
        this.channel = channel;
        this.audit = audit;
        this.kubernetesEvents = kubernetesEvents;
        this.json = json;
    }

    void start(@Observes StartupEvent ignored) {
        worker.every(Duration.ofSeconds(1), "publishing result events", this::relay);
    }

    /** Publishes what is pending, then stops. */
    void stop(@Observes ShutdownEvent ignored) {
        worker.close();
        try {
            relay();
        } catch (RuntimeException e) {
            LOG.warnf(e, "result events still pending at shutdown are published by the next start");
        }
    }

    /** Publishes pending events soon. */
    void wake() {
        wake.run();
    }

    private void relay() {
        while (relayBatch() == BATCH) {
            // more are waiting
        }
    }

    /** Publishes up to one batch in order; returns how many were published. */
    int relayBatch() {
        return QuarkusTransaction.requiringNew().timeout(120).call(() -> {
            Object locked = em.createNativeQuery("select pg_try_advisory_xact_lock(?1)")
                    .setParameter(1, RELAY_LOCK).getSingleResult();
            if (!Boolean.TRUE.equals(locked)) {
                return 0;
            }
            List<OutboxEvent> pending = em.createQuery("select o from OutboxEvent o order by o.id", OutboxEvent.class)
                    .setMaxResults(BATCH).getResultList();
            for (OutboxEvent row : pending) {
                String published = channel.publish(row.event);
                audit.append(auditEntry(row.event, published, row));
                kubernetesEvents.record(row.event);
                em.remove(row);
            }
            return pending.size();
        });
    }

    private AuditEntry auditEntry(ResultEvent event, String published, OutboxEvent row) {
        AuditEntry entry = new AuditEntry();
        entry.requestId = event.requestId();
        entry.entryType = event.type().name();
        entry.eventId = event.eventId();
        entry.reason = event.reason() == null ? null : event.reason().name();
        entry.message = event.message();
        entry.requestedBy = event.requestedBy();
        entry.namespace = event.namespace();
        entry.vmName = event.vmName();
        entry.volumeName = event.volumeName();
        if (event.image() != null) {
            entry.imageNamespace = event.image().namespace();
            entry.imageName = event.image().name();
            entry.imageDisplayName = event.image().displayName();
        }
        entry.replyTo = event.replyTo();
        entry.caller = event.caller();
        entry.observed = event.observed() == null ? null : json.convertValue(event.observed(), MAP);
        entry.event = published;
        entry.source = row.source;
        entry.occurredAt = event.occurredAt();
        return entry;
    }
}
