package dev.vmexportguard.api;

import dev.vmexportguard.audit.AuditFilter;
import dev.vmexportguard.audit.AuditLog;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;

/** Reads the audit log, newest first, with filters and cursor paging. */
@Path("/api/audit")
@Produces(MediaType.APPLICATION_JSON)
public class AuditResource {
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;

    private final AuditLog audit;

    public AuditResource(AuditLog audit) {
        this.audit = audit;
    }

    /** A page of rows; {@code nextCursor} is null on the last page. */
    public record Page(List<AuditEntryView> items, String nextCursor) {
    }

    @GET
    public Page search(@QueryParam("requestId") String requestId,
                       @QueryParam("namespace") String namespace,
                       @QueryParam("vmName") String vmName,
                       @QueryParam("requestedBy") String requestedBy,
                       @QueryParam("type") String type,
                       @QueryParam("since") String since,
                       @QueryParam("until") String until,
                       @QueryParam("limit") Integer limit,
                       @QueryParam("cursor") String cursor) {
        int size = limit == null ? DEFAULT_LIMIT : limit;
        if (size < 1 || size > MAX_LIMIT) {
            throw new BadQueryException("limit", "must be between 1 and " + MAX_LIMIT);
        }
        AuditFilter filter = new AuditFilter(requestId, namespace, vmName, requestedBy, type,
                instant("since", since), instant("until", until));
        List<AuditEntryView> rows = audit.search(filter, decodeCursor(cursor), size + 1).stream()
                .map(AuditEntryView::of).toList();
        if (rows.size() <= size) {
            return new Page(rows, null);
        }
        List<AuditEntryView> page = rows.subList(0, size);
        return new Page(page, encodeCursor(page.get(size - 1).id()));
    }

    private static Instant instant(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw new BadQueryException(name, "must be an RFC 3339 time in UTC, e.g. 2026-11-26T18:00:00Z");
        }
    }

    static String encodeCursor(long id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(("before:" + id).getBytes(StandardCharsets.UTF_8));
    }

    static Long decodeCursor(String cursor) {
        if (cursor == null || cursor.isBlank()) {
            return null;
        }
        try {
            String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            if (!text.startsWith("before:")) {
                throw new IllegalArgumentException(text);
            }
            return Long.parseLong(text.substring("before:".length()));
        } catch (IllegalArgumentException e) {
            throw new BadQueryException("cursor", "is not a cursor this API returned");
        }
    }
}
