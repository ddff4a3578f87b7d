package dev.vmexportguard.api;

import dev.vmexportguard.audit.AuditFilter;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.service.AuditReaders;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;

/** Reads the audit log, newest first, with filters and cursor paging: only the namespaces the caller may read. */
@Path("/api/audit")
@Produces(MediaType.APPLICATION_JSON)
public class AuditResource {
    static final int DEFAULT_LIMIT = 50;

    private final AuditLog audit;
    private final AuditReaders readers;
    private final RequestCaller caller;

    public AuditResource(AuditLog audit, AuditReaders readers, RequestCaller caller) {
        this.audit = audit;
        this.readers = readers;
        this.caller = caller;
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
        int size = Paging.limit(limit, DEFAULT_LIMIT);
        // rows of namespaces the caller may not read are neither returned nor counted
        AuditReaders.Visible visible = readers.of(caller.identity(), namespace);
        AuditFilter filter = new AuditFilter(requestId, namespace, vmName, requestedBy, type,
                instant("since", since), instant("until", until), visible.all() ? null : visible.namespaces());
        List<AuditEntryView> rows = audit.search(filter, decodeCursor(cursor), size + 1).stream()
                .map(AuditEntryView::of).toList();
        if (rows.size() <= size) {
            return new Page(rows, null);
        }
        List<AuditEntryView> page = rows.subList(0, size);
        return new Page(page, encodeCursor(page.get(size - 1).id()));
    }

    /** A time query parameter: RFC 3339 in UTC, or null when not given. */
    static Instant instant(String name, String value) {
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
        return Paging.encode(Paging.BEFORE, id);
    }

    static Long decodeCursor(String cursor) {
        return Paging.decode(cursor, Paging.BEFORE);
    }
}
