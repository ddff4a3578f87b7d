package dev.vmexportguard.outbox;

import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

/** An event decided but not yet on the result topic. */
@Entity
@Table(name = "outbox_event")
public class OutboxEvent {
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "event_id")
    public String eventId;

    @Column(name = "request_id")
    public String requestId;

    @JdbcTypeCode(SqlTypes.JSON)
    @Column(columnDefinition = "jsonb")
    public ResultEvent event;

    /** The W3C trace context of the request, put on the published record; null when it came with none. */
    public String traceparent;

    public String tracestate;

    /** The Kafka record of the request. */
    @Embedded
    public RequestSource source;

    /** The event exactly as published, once it is; then it is audited and removed. */
    public String published;

    /** Failed attempts to publish or audit it; after a few the row is set aside ({@code parkedAt}). */
    public int attempts;

    @Column(name = "last_error")
    public String lastError;

    @Column(name = "parked_at")
    public java.time.Instant parkedAt;
}
