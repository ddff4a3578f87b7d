package dev.vmexportguard.audit;

import dev.vmexportguard.decision.ResultEvent;
import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.Map;
import org.hibernate.annotations.Immutable;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

/** One row of the audit log: a request received, or an event published. Never updated. */
@Entity
@Immutable
@Table(name = "audit_entry")
public class AuditEntry {
    /** The entry type of a request received; events use their event type. */
    public static final String RECEIVED = "RECEIVED";

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "request_id", nullable = false)
    public String requestId;

    @Column(name = "entry_type", nullable = false)
    public String entryType;

    @Column(name = "event_id")
    public String eventId;

    public String reason;

    public String message;

    @Column(name = "requested_by")
    public String requestedBy;

    public String namespace;

    @Column(name = "vm_name")
    public String vmName;

    @Column(name = "volume_name")
    public String volumeName;

    @Column(name = "image_namespace")
    public String imageNamespace;

    @Column(name = "image_name")
    public String imageName;

    @Column(name = "image_display_name")
    public String imageDisplayName;

    @Column(name = "reply_to")
    public String replyTo;

    /** The authenticated identity that sent the request (requestedBy is who it was for). */
    public String caller;

    @JdbcTypeCode(SqlTypes.JSON)
    @Column(columnDefinition = "jsonb")
    public Map<String, Object> observed;

    public String payload;

    /** For an event: the event as published (JSON). */
    public String event;

    /** The Kafka record of the request. */
    @Embedded
    public RequestSource source;

    @Column(name = "occurred_at", nullable = false)
    public Instant occurredAt;

    @Column(name = "recorded_at", nullable = false, insertable = false, updatable = false)
    public Instant recordedAt;

    /** The row of a request taken: who asked for what ({@code subject}), as it came ({@code payload}) and from where. */
    public static AuditEntry received(ResultEvent.Subject subject, String payload, RequestSource source, Instant at) {
        AuditEntry entry = new AuditEntry();
        entry.requestId = subject.requestId();
        entry.entryType = RECEIVED;
        entry.requestedBy = subject.requestedBy();
        entry.namespace = subject.namespace();
        entry.vmName = subject.vmName();
        entry.volumeName = subject.volumeName();
        entry.replyTo = subject.replyTo();
        entry.caller = subject.caller();
        entry.payload = payload;
        entry.source = source;
        entry.occurredAt = at;
        return entry;
    }
}
