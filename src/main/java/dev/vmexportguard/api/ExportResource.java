package dev.vmexportguard.api;

import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditFilter;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.messaging.RequestIntake;
import dev.vmexportguard.service.AuditReaders;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.headers.Header;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

/** Export requests over HTTP: asking for one, and its current status and history from the audit log. */
@Path("/api/exports")
@Produces(MediaType.APPLICATION_JSON)
public class ExportResource {
    static final int DEFAULT_HISTORY = 100;

    private final AuditLog audit;
    private final RequestIntake intake;
    private final AuditReaders readers;
    private final RequestCaller caller;

    public ExportResource(AuditLog audit, RequestIntake intake, AuditReaders readers, RequestCaller caller) {
        this.audit = audit;
        this.intake = intake;
        this.readers = readers;
        this.caller = caller;
    }

    /**
     * {@code status} is the type of the latest event, or RECEIVED while none is published yet; {@code history} is a
     * page of the request's rows, oldest first, and {@code nextCursor} (null on the last page) the next one's.
     */
    public record ExportStatus(String requestId, String status, String reason, String message, String namespace,
                               String vmName, String volumeName, String requestedBy, String caller,
                               AuditEntryView.Image image, Instant updatedAt, List<AuditEntryView> history,
                               String nextCursor) {
    }

    /**
     * Takes a request as JSON (the same object as on the request topic), checks it with the same rules, and puts it
     * on the request topic; the answer comes on the result topic and from the Location given.
     */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Ask for an export", description = "Same contract as the Kafka request; 202 once it is on the request topic.")
    @RequestBody(required = true, description = "The request, contract v1 (/schemas/export-request-v1.json)",
            content = @Content(mediaType = "application/json", schema = @Schema(ref = "ExportRequest")))
    @APIResponse(responseCode = "202", description = "Accepted: follow it at the Location",
            headers = @Header(name = "Location", description = "/api/exports/{requestId}",
                    schema = @Schema(type = org.eclipse.microprofile.openapi.annotations.enums.SchemaType.STRING)),
            content = @Content(mediaType = "application/json", schema = @Schema(ref = "ExportAccepted")))
    @APIResponse(responseCode = "400", description = "Not a valid request: every violation is listed",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = "InvalidRequestProblem")))
    @APIResponse(responseCode = "401", description = "No bearer token, or one the cluster does not accept",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = "Problem")))
    @APIResponse(responseCode = "403", description = "The caller may not act for requestedBy (impersonation)",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = "Problem")))
    @APIResponse(responseCode = "413", description = "The body is larger than 64 KiB: refused before it is read"
            + " whole, with no body")
    @APIResponse(responseCode = "503", description = "The cluster's API server could not be asked who the caller is",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = "Problem")))
    public Response submit(byte[] body, @HeaderParam("traceparent") String traceparent,
                           @HeaderParam("tracestate") String tracestate) {
        RequestIntake.Outcome outcome = intake.submit(body, caller.identity(), traceparent, tracestate);
        if (!outcome.accepted()) {
            return Problems.of(400, "Invalid export request", Messages.invalidRequest(outcome.violations()),
                    Map.of("violations", outcome.violations()));
        }
        URI location = URI.create("/api/exports/" + URLEncoder.encode(outcome.requestId(), StandardCharsets.UTF_8));
        if (outcome.forbidden() != null) {
            return Response.fromResponse(Problems.of(403, "Not allowed to act for the requester", outcome.forbidden(),
                    Map.of("requestId", outcome.requestId()))).location(location).build();
        }
        return Response.accepted(Map.of("requestId", outcome.requestId(), "status", "ACCEPTED",
                "statusUrl", location.toString())).location(location).build();
    }

    @GET
    @Path("/{requestId}")
    @Operation(summary = "Current status and a page of the history of one request")
    @APIResponse(responseCode = "200", description = "The request's status and history",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ExportStatus.class)))
    @APIResponse(responseCode = "401", description = "No bearer token, or one the cluster does not accept",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = "Problem")))
    @APIResponse(responseCode = "404", description = "No request of that id in a namespace the caller may read",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = "Problem")))
    public Response get(@PathParam("requestId") String requestId, @QueryParam("limit") Integer limit,
                        @QueryParam("cursor") String cursor) {
        int size = Paging.limit(limit, DEFAULT_HISTORY);
        List<String> namespaces = audit.namespacesOf(requestId);
        AuditReaders.Visible visible = readers.of(caller.identity(), namespaces.size() == 1 ? namespaces.get(0) : null);
        if (namespaces.isEmpty() || !namespaces.stream().allMatch(visible::includes)) {
            // a request of a namespace the caller may not read is, to it, no request at all
            return Problems.of(404, "No such request", "no request " + requestId);
        }
        // the status is read before the history: rows are only ever added, so the history read after it holds the
        // status's event (an event audited in between shows in the history first, in the status on the next read)
        AuditEntry newest = audit.search(new AuditFilter(requestId, null, null, null, null, null, null, null), null, 1)
                .get(0);
        AuditEntry latestEvent = audit.latestEvent(requestId).orElse(newest);
        AuditEntryView.Image image = audit.latestWithImage(requestId).map(AuditEntryView::of)
                .map(AuditEntryView::image).orElse(null);
        List<AuditEntryView> rows = audit.history(requestId, Paging.decode(cursor, Paging.AFTER), size + 1).stream()
                .map(AuditEntryView::of).toList();
        List<AuditEntryView> page = rows.size() <= size ? rows : rows.subList(0, size);
        String next = rows.size() <= size ? null : Paging.encode(Paging.AFTER, page.get(size - 1).id());
        return Response.ok(new ExportStatus(requestId, latestEvent.entryType, latestEvent.reason, latestEvent.message,
                latestEvent.namespace, latestEvent.vmName, latestEvent.volumeName, latestEvent.requestedBy,
                latestEvent.caller, image, newest.occurredAt, page, next)).build();
    }
}
