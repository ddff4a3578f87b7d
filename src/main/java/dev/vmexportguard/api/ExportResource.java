package dev.vmexportguard.api;

import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
import java.util.List;

/** The current status and history of one request, from the audit log. */
@Path("/api/exports")
@Produces(MediaType.APPLICATION_JSON)
public class ExportResource {

    private final AuditLog audit;

    public ExportResource(AuditLog audit) {
        this.audit = audit;
    }

    /** {@code status} is the type of the latest event, or RECEIVED while none is published yet. */
    public record ExportStatus(String requestId, String status, String reason, String message, String namespace,
                               String vmName, String volumeName, String requestedBy, AuditEntryView.Image image,
                               Instant updatedAt, List<AuditEntryView> history) {
    }

    @GET
    @Path("/{requestId}")
    public ExportStatus get(@PathParam("requestId") String requestId) {
        List<AuditEntryView> history = audit.history(requestId).stream().map(AuditEntryView::of).toList();
        if (history.isEmpty()) {
            throw new NotFoundException("no request " + requestId);
        }
        AuditEntryView latest = history.get(history.size() - 1);
        AuditEntryView latestEvent = history.stream().filter(e -> !AuditEntry.RECEIVED.equals(e.type()))
                .reduce((a, b) -> b).orElse(latest);
        AuditEntryView image = history.stream().filter(e -> e.image() != null).reduce((a, b) -> b).orElse(null);
        return new ExportStatus(requestId, latestEvent.type(), latestEvent.reason(), latestEvent.message(),
                latestEvent.namespace(), latestEvent.vmName(), latestEvent.volumeName(), latestEvent.requestedBy(),
                image == null ? null : image.image(), latest.occurredAt(), history);
    }
}
