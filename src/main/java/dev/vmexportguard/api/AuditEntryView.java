package dev.vmexportguard.api;

import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.RequestSource;
import java.time.Instant;
import java.util.Map;

/** An audit row as the REST API shows it; {@code caller} sent the request, {@code requestedBy} is who it was for. */
public record AuditEntryView(
        long id,
        String requestId,
        String type,
        String eventId,
        String reason,
        String message,
        String requestedBy,
        String caller,
        String namespace,
        String vmName,
        String volumeName,
        Image image,
        String replyTo,
        Map<String, Object> observed,
        String payload,
        RequestSource source,
        Instant occurredAt,
        Instant recordedAt) {

    public record Image(String namespace, String name, String displayName) {
    }

    static AuditEntryView of(AuditEntry e) {
        return new AuditEntryView(e.id, e.requestId, e.entryType, e.eventId, e.reason, e.message, e.requestedBy,
                e.caller, e.namespace, e.vmName, e.volumeName,
                e.imageName == null ? null : new Image(e.imageNamespace, e.imageName, e.imageDisplayName),
                e.replyTo, e.observed, e.payload, e.source,
                e.occurredAt, e.recordedAt);
    }
}
