package dev.vmexportguard.outbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.config.TraceContext;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.TransactionSynchronizationRegistry;
import jakarta.transaction.Transactional;

/**
 * The only way events leave the guard. An event is added in the transaction that records what it reports, so
 * nothing decided is lost in a crash; once that transaction commits, the {@link OutboxRelay} publishes it.
 */
@ApplicationScoped
public class EventOutbox {

    private final EntityManager em;
    private final OutboxRelay relay;
    private final ObjectMapper json;
    private final TransactionSynchronizationRegistry transactions;

    public EventOutbox(EntityManager em, OutboxRelay relay, ObjectMapper json,
                       TransactionSynchronizationRegistry transactions) {
        this.em = em;
        this.relay = relay;
        this.json = json;
        this.transactions = transactions;
    }

    /** Adds an event in the current transaction; it is published once that commits. */
    @Transactional(Transactional.TxType.MANDATORY)
    public void add(ResultEvent event, RequestSource source) {
        OutboxEvent row = new OutboxEvent();
        row.eventId = event.eventId();
        row.requestId = event.requestId();
        row.event = event;
        row.source = source;
        TraceContext trace = TraceContext.of(event.requestId());
        if (trace != null) {
            row.traceparent = trace.traceparent();
            row.tracestate = trace.tracestate();
        } else {
            // an event of an export, decided by the lifecycle: the trace context the request was accepted with
            @SuppressWarnings("unchecked")
            java.util.List<Object[]> kept = em.createNativeQuery(
                            "select traceparent, tracestate from export_job where request_id = ?1")
                    .setParameter(1, event.requestId()).getResultList();
            if (!kept.isEmpty()) {
                row.traceparent = (String) kept.get(0)[0];
                row.tracestate = (String) kept.get(0)[1];
            }
        }
        em.persist(row);
        transactions.registerInterposedSynchronization(new Synchronization() {
            @Override
            public void beforeCompletion() {
            }

            @Override
            public void afterCompletion(int status) {
                if (status == Status.STATUS_COMMITTED) {
                    relay.wake();
                }
            }
        });
    }

    /** Adds an event published before (its JSON as published), to publish it again unchanged. */
    @Transactional(Transactional.TxType.MANDATORY)
    public void republish(String publishedJson, RequestSource source) {
        try {
            add(json.readValue(publishedJson, ResultEvent.class), source);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a published event is unreadable", e);
        }
    }
}
