package dev.vmexportguard.outbox;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.audit.DatabaseOutage;
import dev.vmexportguard.cluster.KubernetesEventRecorder;
import dev.vmexportguard.concurrent.SerialWorker;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.ResultEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.agroal.api.AgroalDataSource;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.persistence.EntityManager;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Publishes pending outbox events in order, then audits, records as a Kubernetes Event (the first time only) and
 * removes each. Runs
 * every second (events left by a crash, or added by other replicas) and whenever an event is added here, on the
 * replica holding the relay's advisory lock. After a crash an event may be published again: with the same eventId,
 * and audited once more as published. One row that cannot be published or audited never holds the others back.
 */
@ApplicationScoped
public class OutboxRelay {
    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {
    };
    /** Only one relay at a time across replicas, so events keep their order. */
    private static final long RELAY_LOCK = 0x76656730L;
    private static final int BATCH = 100;
    static final int MAX_ATTEMPTS = 5;

    private final EntityManager em;
    private final ResultChannel channel;
    private final AuditLog audit;
    private final KubernetesEventRecorder kubernetesEvents;
    private final ObjectMapper json;
    private final AdvisoryLock lock;
    private final OutboxHealth health;
    private final MeterRegistry registry;
    private final Counter restartFailures;
    private final SerialWorker worker = new SerialWorker("event-relay");
    private final Runnable wake = worker.trigger("publishing result events", this::relay);

    public OutboxRelay(EntityManager em, ResultChannel channel, AuditLog audit,
                       KubernetesEventRecorder kubernetesEvents, ObjectMapper json, AgroalDataSource dataSource,
                       OutboxHealth health, MeterRegistry registry) {
        this.health = health;
        this.registry = registry;
        this.restartFailures = Counter.builder("guard.vm.restart.failures")
                .description("VMs the guard stopped for an export and could not start again (RESTART_FAILED)")
                .register(registry);
        this.lock = new AdvisoryLock(dataSource, RELAY_LOCK, "publishes result events");
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
        lock.release();
    }

    /** Publishes pending events soon. */
    void wake() {
        wake.run();
    }

    private void relay() {
        try {
            if (lock.hold()) {
                while (relayBatch() == BATCH) {
                    // more are waiting
                }
            }
        } finally {
            health.refresh();
        }
    }

    /** A row handed to the broker: what it answers, or why it could not be handed over. */
    private record Sending(OutboxEvent row, CompletableFuture<String> answer, RuntimeException unpublishable) {
    }

    /**
     * Publishes up to one batch: hands every row over to the broker in order at once, waits for each answer, then
     * records the rows it took (audited and removed, one transaction for the batch); returns
     * how many rows it looked at. No transaction is open while the broker is waited for. A row whose step fails is
     * tried again on the next round, and set aside after {@value #MAX_ATTEMPTS} attempts; a database or broker that
     * does not answer ends the round (the rows wait, no attempt is counted). When recording the batch together
     * fails for another reason, its rows are recorded one by one, so that one bad row holds no other back.
     */
    int relayBatch() {
        List<OutboxEvent> pending = QuarkusTransaction.requiringNew().call(() -> em.createQuery(
                        "select o from OutboxEvent o where o.parkedAt is null order by o.id", OutboxEvent.class)
                .setMaxResults(BATCH).getResultList());
        List<Sending> sendings = new ArrayList<>();
        for (OutboxEvent row : pending) {
            if (row.published != null) {
                sendings.add(new Sending(row, CompletableFuture.completedFuture(row.published), null));
                continue;
            }
            try {
                sendings.add(new Sending(row, channel.publish(row.event, row.source, row.traceparent, row.tracestate)
                        .toCompletableFuture(), null));
            } catch (ResultChannel.Unpublishable e) {
                sendings.add(new Sending(row, null, e));
            }
        }
        boolean paused = false;
        List<OutboxEvent> taken = new ArrayList<>();
        List<OutboxEvent> newlyTaken = new ArrayList<>();
        for (Sending sending : sendings) {
            OutboxEvent row = sending.row();
            if (sending.unpublishable() != null) {
                failed(row, sending.unpublishable());
                continue;
            }
            try {
                String published = sending.answer().join();
                if (row.published == null) {
                    row.published = published;
                    newlyTaken.add(row);
                }
                taken.add(row);
            } catch (CompletionException | CancellationException e) {
                // the broker did not take it now: nothing is wrong with the row
                if (!paused) {
                    LOG.warnf("publishing result events paused: %s", e.getCause() == null ? e : e.getCause());
                }
                paused = true;
            }
        }
        try {
            recordTaken(taken, newlyTaken);
        } catch (RuntimeException e) {
            if (DatabaseOutage.isCause(e)) {
                LOG.warnf("publishing result events paused: %s", e.getMessage());
                return 0;
            }
            LOG.warnf("recording %d published events together failed (%s); recording them one by one", taken.size(),
                    e.getMessage());
            for (OutboxEvent row : taken) {
                try {
                    recordTaken(List.of(row), newlyTaken.contains(row) ? List.of(row) : List.of());
                } catch (RuntimeException rowFailure) {
                    if (DatabaseOutage.isCause(rowFailure)) {
                        LOG.warnf("publishing result events paused: %s", rowFailure.getMessage());
                        return 0;
                    }
                    failed(row, rowFailure);
                }
            }
        }
        return paused ? 0 : pending.size();
    }

    /**
     * Records rows the broker took: each audited and removed, in one transaction for them all; then counts them and
     * writes their Kubernetes Events, the first time each is published only. When that transaction fails for
     * another reason than a database that does not answer, the rows newly published are marked so first (so that
     * whatever fails next does not publish them again) and the failure goes on to the caller.
     */
    private void recordTaken(List<OutboxEvent> taken, List<OutboxEvent> newlyTaken) {
        if (taken.isEmpty()) {
            return;
        }
        List<Boolean> again;
        try {
            again = QuarkusTransaction.requiringNew().call(() -> {
                List<Boolean> before = new ArrayList<>();
                for (OutboxEvent row : taken) {
                    before.add(audit.publishedBefore(row.requestId, row.eventId));
                    audit.append(auditEntry(row.event, row.published, row));
                    em.createQuery("delete from OutboxEvent o where o.id = ?1").setParameter(1, row.id)
                            .executeUpdate();
                }
                return before;
            });
        } catch (RuntimeException e) {
            if (!newlyTaken.isEmpty() && !DatabaseOutage.isCause(e)) {
                QuarkusTransaction.requiringNew().run(() -> {
                    for (OutboxEvent row : newlyTaken) {
                        em.createQuery("update OutboxEvent o set o.published = ?1 where o.id = ?2")
                                .setParameter(1, row.published).setParameter(2, row.id).executeUpdate();
                    }
                });
            }
            throw e;
        }
        for (int i = 0; i < taken.size(); i++) {
            if (again.get(i)) {
                continue;
            }
            OutboxEvent row = taken.get(i);
            registry.counter("guard.result.events", "type", row.event.type().name(),
                    "reason", row.event.reason() == null ? "" : row.event.reason().name()).increment();
            if (row.event.type() == EventType.RESTART_FAILED) {
                restartFailures.increment();
            }
            // an event published again (a request delivered again) was recorded on its VMs the first time:
            // the cluster is not written to for it
            kubernetesEvents.record(row.event);
        }
    }

    private void failed(OutboxEvent row, RuntimeException e) {
        int attempts = row.attempts + 1;
        boolean parked = attempts >= MAX_ATTEMPTS;
        String error = e.getClass().getSimpleName() + ": " + e.getMessage();
        QuarkusTransaction.requiringNew().run(() -> em.createQuery("update OutboxEvent o set o.attempts = ?1,"
                        + " o.lastError = ?2, o.parkedAt = ?3 where o.id = ?4")
                .setParameter(1, attempts).setParameter(2, error.length() > 2000 ? error.substring(0, 2000) : error)
                .setParameter(3, parked ? Instant.now() : null).setParameter(4, row.id).executeUpdate());
        if (parked) {
            LOG.errorf("outbox row %d (event %s of request %s) set aside after %d attempts: %s", row.id, row.eventId,
                    row.requestId, attempts, error);
        } else {
            LOG.warnf("outbox row %d (event %s) failed, attempt %d of %d: %s", row.id, row.eventId, attempts,
                    MAX_ATTEMPTS, error);
        }
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
