package dev.vmexportguard.api;

import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.messaging.RequestIntake;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import java.time.Instant;
import java.util.List;

/** Export requests over HTTP: asking for one, and its current status and history from the audit log. */
@Path("/api/exports")
@Produces(MediaType.APPLICATION_JSON)
public class ExportResource {

    private final AuditLog audit;
    private final RequestIntake intake;

    public ExportResource(AuditLog audit, RequestIntake intake) {
        this.audit = audit;
        this.intake = intake;
    }

    /** {@code status} is the type of the latest event, or RECEIVED while none is published yet. */
    public record ExportStatus(String requestId, String status, String reason, String message, String namespace,
                               String vmName, String volumeName, String requestedBy, AuditEntryView.Image image,
                               Instant updatedAt, List<AuditEntryView> history) {
    }

    /**
     * Takes a request as JSON (the same object as on the request topic), checks it with the same rules, and puts it
     * on the request topic; the answer comes on the result topic and from the Location given.
     */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Ask for an export", description = "Same contract as the Kafka request; 202 once it is on the request topic.")
    @APIResponse(responseCode = "202", description = "Accepted: follow it at the Location")
    @APIResponse(responseCode = "400", description = "Not a valid request: every violation is listed",
            content = @Content(mediaType = "application/problem+json"))
    public Response submit(byte[] body) {
        RequestIntake.Outcome outcome = intake.submit(body);
        if (!outcome.accepted()) {
            return Response.status(400).type("application/problem+json").entity(Map.of(
                    "type", "about:blank",
                    "title", "Invalid export request",
                    "status", 400,
                    "detail", Messages.invalidRequest(outcome.violations()),
                    "violations", outcome.violations())).build();
        }
        URI location = URI.create("/api/exports/" + URLEncoder.encode(outcome.requestId(), StandardCharsets.UTF_8));
        return Response.accepted(Map.of("requestId", outcome.requestId(), "status", "ACCEPTED",
                "statusUrl", location.toString())).location(location).build();
    }

    @GET
    @Path("/{requestId}")
    @Operation(summary = "Current status and history of one request")
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
