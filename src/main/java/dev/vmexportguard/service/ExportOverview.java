package dev.vmexportguard.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.audit.RequestFilter;
import dev.vmexportguard.audit.RequestLine;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.export.ExportJob;
import dev.vmexportguard.export.ExportJobs;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What the dashboard shows a reader, of the namespaces whose audit it may read ({@link AuditReaders}): the exports
 * running or waiting now, the requests one line each, and a summary of their outcomes.
 */
@ApplicationScoped
public class ExportOverview {

    /**
     * An export running or waiting now: its state, the VMs the export holds (the VM asked for and every VM using the
     * volume, locked), whom it is for and who sent it, its place in the queue while it waits (1 is next), and how
     * far Harvester's copy has come (its latest progress, 0 to 100; null before the copy reports any).
     */
    public record ActiveExport(String requestId, String state, String namespace, String volumeName, List<String> vms,
                               String requestedBy, String caller, Integer queuePosition, Integer progress,
                               String imageName, String imageDisplayName, Instant acceptedAt, Instant startedAt,
                               String message) {
    }

    /**
     * Requests the filter finds, by outcome and reason, by day received (UTC) and outcome; the exports running now
     * ({@code running}, at most {@code maxConcurrent}) and waiting ({@code queued}) in the namespaces shown.
     */
    public record Summary(List<AuditLog.Count> outcomes, List<AuditLog.Count> days, int running, int queued, int maxConcurrent) {
    }

    private final AuditLog audit;
    private final AuditReaders readers;
    private final ExportJobs jobs;
    private final ObjectMapper json;
    private final int maxConcurrent;

    public ExportOverview(AuditLog audit, AuditReaders readers, ExportJobs jobs, ObjectMapper json, GuardConfig config) {
        this.audit = audit;
        this.readers = readers;
        this.jobs = jobs;
        this.json = json;
        this.maxConcurrent = config.exports().maxConcurrent();
    }

    /** Requests newest first, a page of at most {@code limit} before the line {@code beforeId} (null: the newest). */
    public List<RequestLine> requests(Identity reader, RequestFilter filter, Long beforeId, int limit) {
        return audit.requests(shown(reader, filter), beforeId, limit);
    }

    public Summary summary(Identity reader, RequestFilter filter) {
        RequestFilter shown = shown(reader, filter);
        // the queue is counted from the jobs alone: what the running exports last reported is not needed for it
        AuditReaders.Visible visible = readers.of(reader, null);
        List<ExportJob> jobsShown = jobs.unended().stream().filter(j -> visible.includes(j.namespace)).toList();
        int queued = (int) jobsShown.stream().filter(ExportOverview::waiting).count();
        return new Summary(audit.outcomes(shown), audit.outcomesByDay(shown), jobsShown.size() - queued, queued,
                maxConcurrent);
    }

    /** The exports that run or wait now, those waiting last in the order they will start. */
    public List<ActiveExport> active(Identity reader) {
        AuditReaders.Visible visible = readers.of(reader, null);
        List<ExportJob> all = jobs.unended();
        List<ActiveExport> active = new ArrayList<>();
        int position = 0;
        for (ExportJob job : all) {
            boolean waiting = waiting(job);
            if (waiting) {
                // the place in the queue counts every export waiting, also those of namespaces not shown
                position++;
            }
            if (!visible.includes(job.namespace)) {
                continue;
            }
            Set<String> vms = new LinkedHashSet<>();
            if (job.vmName != null) {
                vms.add(job.vmName);
            }
            vms.addAll(job.lockedVms);
            job.stoppedVms.forEach(v -> vms.add(v.name()));
            AuditEntry latest = audit.latestEvent(job.requestId).orElse(null);
            active.add(new ActiveExport(job.requestId, job.state.name(), job.namespace, job.volumeName,
                    List.copyOf(vms), job.requestedBy, job.caller, waiting ? position : null, progress(job.requestId),
                    job.imageName != null ? job.imageName : job.plannedImageName, job.imageDisplayName,
                    job.acceptedAt, job.startedAt, latest == null ? null : latest.message));
        }
        active.sort(Comparator.comparing((ActiveExport a) -> a.queuePosition() != null)
                .thenComparing(a -> a.queuePosition() == null ? 0 : a.queuePosition()));
        return active;
    }

    private RequestFilter shown(Identity reader, RequestFilter filter) {
        AuditReaders.Visible visible = readers.of(reader, filter.namespace());
        return filter.within(visible.all() ? null : visible.namespaces());
    }

    /** The latest progress the request's events carry. */
    private Integer progress(String requestId) {
        return audit.latestWithImage(requestId).map(e -> e.event).map(this::imageProgress).orElse(null);
    }

    private Integer imageProgress(String event) {
        try {
            JsonNode progress = json.readTree(event).path("image").path("progress");
            return progress.isNumber() ? progress.intValue() : null;
        } catch (Exception e) {
            return null;
        }
    }

    /** Accepted, and waiting for a slot. */
    private static boolean waiting(ExportJob job) {
        return job.state == ExportJob.State.PENDING || job.state == ExportJob.State.QUEUED;
    }
}
