package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ImageExporter;
import dev.vmexportguard.cluster.VmLocks;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.ResultEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Clock;
import org.jboss.logging.Logger;

/**
 * Ends an export in steps that survive a crash between them: first its final event is recorded, in the outbox
 * (ENDING), then the unfinished image is removed if it must be and the VMs are unlocked (ENDED); with restartAfter,
 * the VMs the guard stopped are then started again, waiting for those still stopping (RESTARTING, then ENDED).
 */
@ApplicationScoped
public class ExportEnding {
    private static final Logger LOG = Logger.getLogger(ExportEnding.class);
    /** A request has one final event: the same id whatever ends it, and however often it is published. */
    static final String FINAL = "final";

    private final ExportJobs jobs;
    private final ImageExporter images;
    private final VmLocks locks;
    private final RestartStep restarts;
    private final GuardConfig.Exports config;
    private final Clock clock;
    private final MeterRegistry registry;

    public ExportEnding(ExportJobs jobs, ImageExporter images, VmLocks locks, RestartStep restarts, GuardConfig config,
                        Clock clock, MeterRegistry registry) {
        this.registry = registry;
        this.jobs = jobs;
        this.images = images;
        this.locks = locks;
        this.restarts = restarts;
        this.config = config.exports();
        this.clock = clock;
    }

    /** The final event of a request, of {@code type}: REJECTED, COMPLETED or FAILED. */
    static ResultEvent.Builder outcome(EventType type) {
        return ResultEvent.of(type, FINAL);
    }

    /** Records the final event ({@link #outcome}), then {@link #finish}es. */
    public void end(ExportJob job, ResultEvent.Builder outcome, boolean deleteImage) {
        job.deleteImage = deleteImage && job.imageName != null;
        job.outcome = outcome.type().name();
        if (restartsAfter(job)) {
            // counted from the end: the VMs still stopping are waited for until then
            job.restartDeadline = clock.instant().plus(config.restartDeadline());
        }
        jobs.advance(job, ExportJob.State.ENDING, outcome);
        if (job.acceptedAt != null) {
            Timer.builder("guard.export.duration").tag("result", outcome.type().name())
                    .description("Time from an export's acceptance to its final event")
                    .publishPercentileHistogram()
                    .register(registry).record(Duration.between(job.acceptedAt, clock.instant()));
        }
        LOG.infof("export %s ended: %s %s", job.requestId, outcome.type(),
                outcome.reason() == null ? "" : outcome.reason());
        finish(job);
    }

    /**
     * The second step; repeated until it succeeds (the cluster may be unreachable for a while). The VMs are unlocked
     * before they are started again: the admission policy refuses to start a locked VM.
     */
    public void finish(ExportJob job) {
        if (job.deleteImage) {
            images.delete(job.namespace, job.imageName);
        } else if (job.imageName == null && job.plannedImageName != null) {
            // its create was not confirmed (the answer was lost, or the look for it failed): it may exist all the same
            images.deleteOwn(job.namespace, job.plannedImageName, job.requestId);
        }
        locks.unlock(job.namespace, job.lockedVms, job.requestId);
        if (restartsAfter(job)) {
            if (job.restartDeadline == null) {
                job.restartDeadline = clock.instant().plus(config.restartDeadline());
            }
            jobs.advance(job, ExportJob.State.RESTARTING);
            restarts.check(job);
            return;
        }
        job.endedAt = clock.instant();
        jobs.advance(job, ExportJob.State.ENDED);
    }

    /** restartAfter, and VMs the guard stopped for the export that are not yet settled. */
    private static boolean restartsAfter(ExportJob job) {
        return job.request.restartAfter() && !job.restartDone && !job.stoppedVms.isEmpty();
    }
}
