package dev.vmexportguard.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.cluster.KubernetesEventRecorder;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.service.RequestSource;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.TransactionSynchronizationRegistry;
import jakarta.transaction.Transactional;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * The only way events leave the guard. An event is added in the transaction that records what it reports, so
 * nothing decided is lost in a crash; a relay publishes pending events in order, then audits and removes each.
 * After a crash an event may be published again: with the same eventId, and audited once more as published.
 */
@ApplicationScoped
public class EventOutbox {
    private static final Logger LOG = Logger.getLogger(EventOutbox.class);
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {
    };
    /** Only one relay at a time across replicas, so events keep their order. */
    private static final long RELAY_LOCK = 0x76656730L;
    private static final int BATCH = 100;

    private final EntityManager em;
    private final ResultPublisher publisher;
    private final AuditLog audit;
    private final ObjectMapper json;
    private final TransactionSynchronizationRegistry transactions;
    private final KubernetesEventRecorder kubernetesEvents;
    private final AtomicBoolean wakeScheduled = new AtomicBoolean();
    private ScheduledExecutorService relay;

    public EventOutbox(EntityManager em, ResultPublisher publisher, AuditLog audit, ObjectMapper json,
                       TransactionSynchronizationRegistry transactions, KubernetesEventRecorder kubernetesEvents) {
        this.kubernetesEvents = kubernetesEvents;
        this.em = em;
        this.publisher = publisher;
        this.audit = audit;
        this.json = json;
        this.transactions = transactions;
    }

    void start(@Observes StartupEvent ignored) {
        relay = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "event-relay"));
        // catches events left by a crash and those added by other replicas
        relay.scheduleWithFixedDelay(this::relaySafely, 0, 1, TimeUnit.SECONDS);
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (relay != null) {
            relay.shutdown();
            try {
                relay.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            relaySafely();
        }
    }

    /** Adds an event in the current transaction; it is published once that commits. */
    @Transactional(Transactional.TxType.MANDATORY)
    public void add(ResultEvent event, RequestSource source) {
        try {
            addPublished(json.writeValueAsString(event), event.eventId(), event.requestId(), source);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("result event not serializable", e);
        }
    }

    /** Adds an event published before, to publish it again unchanged. */
    @Transactional(Transactional.TxType.MANDATORY)
    public void addPublished(String eventJson, String eventId, String requestId, RequestSource source) {
        OutboxEvent row = new OutboxEvent();
        row.eventId = eventId;
        row.requestId = requestId;
        row.event = eventJson;
        row.source = source;
        em.persist(row);
        transactions.registerInterposedSynchronization(new Synchronization() {
            @Override
            public void beforeCompletion() {
            }

            @Override
            public void afterCompletion(int status) {
                if (status == Status.STATUS_COMMITTED) {
                    wake();
                }
            }
        });
    }

    private void wake() {
        if (relay != null && !relay.isShutdown() && wakeScheduled.compareAndSet(false, true)) {
            relay.execute(() -> {
                wakeScheduled.set(false);
                relaySafely();
            });
        }
    }

    private void relaySafely() {
        try {
            while (relayBatch() == BATCH) {
                // more are waiting
            }
        } catch (RuntimeException e) {
            LOG.warnf(e, "publishing result events failed; retrying in a second");
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
                ResultEvent event = json.readValue(row.event, ResultEvent.class);
                publisher.publish(event, row.event);
                audit.append(auditEntry(event, row));
                kubernetesEvents.record(event);
                em.remove(row);
            }
            return pending.size();
        });
    }

    private AuditEntry auditEntry(ResultEvent event, OutboxEvent row) {
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
        entry.observed = event.observed() == null ? null : json.convertValue(event.observed(), MAP);
        entry.event = row.event;
        entry.source = row.source;
        entry.occurredAt = event.occurredAt();
        return entry;
    }

}
