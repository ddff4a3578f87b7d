package dev.vmexportguard.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.SequenceWriter;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import dev.vmexportguard.audit.RequestFilter;
import dev.vmexportguard.audit.RequestLine;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.messaging.LiveResults;
import dev.vmexportguard.service.AuditReaders;
import dev.vmexportguard.service.ExportOverview;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.ws.rs.BeanParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.RestStreamElementType;

/**
 * What the dashboard's pages read: the requests one line each (JSON, or all of them as CSV), the exports running and
 * waiting now, a summary of outcomes, and the result events as they are published (Server-Sent Events). Each answer
 * holds only the namespaces whose audit the caller may read.
 */
@Path("/api/dashboard")
public class DashboardResource {
    static final int DEFAULT_LIMIT = 25;
    /** The most lines one CSV download holds; a narrower filter gets the rest. */
    static final int CSV_MAX_LINES = 100_000;
    static final Set<String> OUTCOMES = Set.of(EventType.REJECTED.name(), EventType.COMPLETED.name(),
            EventType.FAILED.name(), EventType.ADMITTED.name(), RequestFilter.IN_PROGRESS);
    /** Quotes a cell only where RFC 4180 needs it (a comma, a quote, a line break). */
    private static final CsvMapper CSV = CsvMapper.builder()
            .enable(CsvGenerator.Feature.STRICT_CHECK_FOR_QUOTING).build();
    private static final CsvSchema CSV_SCHEMA = CSV.schemaFor(CsvLine.class).withHeader();

    private final ExportOverview overview;
    private final AuditReaders readers;
    private final LiveResults live;
    private final RequestCaller caller;
    private final Clock clock;

    public DashboardResource(ExportOverview overview, AuditReaders readers, LiveResults live, RequestCaller caller,
                             Clock clock) {
        this.overview = overview;
        this.readers = readers;
        this.live = live;
        this.caller = caller;
        this.clock = clock;
    }

    /** The filters of the requests, the CSV and the summary: query parameters, each optional. */
    public static class Filters {
        @QueryParam("namespace")
        String namespace;
        @QueryParam("requestedBy")
        String requestedBy;
        @QueryParam("outcome")
        String outcome;
        @QueryParam("reason")
        String reason;
        @QueryParam("since")
        String since;
        @QueryParam("until")
        String until;

        RequestFilter filter() {
            String o = blankToNull(outcome);
            if (o != null && !OUTCOMES.contains(o)) {
                throw new BadQueryException("outcome", "must be one of " + OUTCOMES.stream().sorted()
                        .collect(Collectors.joining(", ")));
            }
            String r = blankToNull(reason);
            if (r != null && Arrays.stream(ReasonCode.values()).noneMatch(c -> c.name().equals(r))) {
                throw new BadQueryException("reason", "must be a reason code (README, Reason codes), e.g. VM_RUNNING");
            }
            return new RequestFilter(blankToNull(namespace), blankToNull(requestedBy), o, r,
                    AuditResource.instant("since", since), AuditResource.instant("until", until), null);
        }
    }

    /** A page of requests, newest first; {@code nextCursor} is null on the last page. */
    public record RequestPage(List<RequestLine> items, String nextCursor) {
    }

    /** One line of the CSV download, in its column order. */
    @JsonPropertyOrder({"receivedAt", "requestId", "outcome", "status", "reason",
            "namespace", "vmName", "volumeName", "requestedBy", "caller", "image", "message", "updatedAt"})
    public record CsvLine(String receivedAt, String requestId, String outcome, String status, String reason,
                          String namespace, String vmName, String volumeName, String requestedBy, String caller,
                          String image, String message, String updatedAt) {
        static CsvLine of(RequestLine l) {
            return new CsvLine(text(l.receivedAt()), cell(l.requestId()), cell(l.outcome()), cell(l.status()),
                    cell(l.reason()), cell(l.namespace()), cell(l.vmName()), cell(l.volumeName()),
                    cell(l.requestedBy()), cell(l.caller()),
                    l.imageName() == null ? null : cell(l.imageNamespace() + "/" + l.imageName()), cell(l.message()),
                    text(l.updatedAt()));
        }

        private static String text(Instant at) {
            return at == null ? null : at.toString();
        }

        /** A cell a spreadsheet would take for a formula is given a leading quote (OWASP's CSV injection advice). */
        static String cell(String value) {
            if (value == null || value.isEmpty()) {
                return value;
            }
            return "=+-@\t\r".indexOf(value.charAt(0)) >= 0 ? "'" + value : value;
        }
    }

    @GET
    @Path("/requests")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Requests one line each, newest first, filtered and paged")
    public RequestPage requests(@BeanParam Filters filters, @QueryParam("limit") Integer limit,
                                @QueryParam("cursor") String cursor) {
        int size = Paging.limit(limit, DEFAULT_LIMIT);
        RequestFilter filter = filters.filter();
        List<RequestLine> lines = overview.requests(caller.identity(), filter, Paging.decode(cursor, Paging.BEFORE),
                size + 1);
        if (lines.size() <= size) {
            return new RequestPage(lines, null);
        }
        List<RequestLine> page = lines.subList(0, size);
        return new RequestPage(page, Paging.encode(Paging.BEFORE, page.get(size - 1).firstId()));
    }

    @GET
    @Path("/requests.csv")
    @Produces("text/csv")
    @Operation(summary = "The requests the filter finds, newest first, as CSV (RFC 4180, a header line first)")
    public Response csv(@BeanParam Filters filters) {
        RequestFilter filter = filters.filter();
        Identity reader = caller.identity();
        // the first page is read before the answer starts, so that a failure is an error answer, not a cut file
        List<RequestLine> first = overview.requests(reader, filter, null, Paging.MAX_LIMIT);
        StreamingOutput body = out -> {
            try (SequenceWriter writer = CSV.writer(CSV_SCHEMA).writeValues(out)) {
                List<RequestLine> page = first;
                int written = 0;
                while (!page.isEmpty()) {
                    for (RequestLine line : page) {
                        writer.write(CsvLine.of(line));
                    }
                    written += page.size();
                    if (page.size() < Paging.MAX_LIMIT || written >= CSV_MAX_LINES) {
                        break;
                    }
                    page = overview.requests(reader, filter, page.get(page.size() - 1).firstId(),
                            Math.min(Paging.MAX_LIMIT, CSV_MAX_LINES - written));
                }
            }
        };
        String name = "vm-export-guard-requests-" + clock.instant().truncatedTo(ChronoUnit.SECONDS).toString()
                .replace(":", "") + ".csv";
        return Response.ok(body, "text/csv; charset=utf-8")
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"" + name + "\"").build();
    }

    @GET
    @Path("/summary")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Outcomes and reasons of the requests the filter finds, by day too, and the queue now")
    public ExportOverview.Summary summary(@BeanParam Filters filters) {
        return overview.summary(caller.identity(), filters.filter());
    }

    @GET
    @Path("/active")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The exports running and waiting now, with their progress and place in the queue")
    public List<ExportOverview.ActiveExport> active() {
        return overview.active(caller.identity());
    }

    /**
     * Result events as they are published, as Server-Sent Events whose data is the event's JSON: first one of type
     * {@code CONNECTED}, then every event of a namespace the caller may read (asked again for each, so that a right
     * taken away ends what the stream shows), and a {@code HEARTBEAT} every 20 s; it ends when the guard stops.
     */
    @GET
    @Path("/stream")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.TEXT_PLAIN)
    @Blocking
    @Operation(summary = "Result events as they are published (Server-Sent Events)")
    public Multi<String> stream() {
        Identity reader = caller.identity();
        Multi<String> events = live.events()
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .filter(e -> e.heartbeat() || shows(reader, e.namespace()))
                .map(LiveResults.LiveResult::json);
        // merged, the events first: they are listened to before CONNECTED is sent
        return Multi.createBy().merging().streams(events, Multi.createFrom().item("{\"type\":\"CONNECTED\"}"));
    }

    private boolean shows(Identity reader, String namespace) {
        try {
            return readers.of(reader, namespace).includes(namespace);
        } catch (RuntimeException e) {
            // who may read cannot be asked now: nothing is shown rather than too much
            return false;
        }
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }
}
