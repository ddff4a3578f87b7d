package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ImageExporter;
import dev.vmexportguard.cluster.VmLocks;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.messaging.EventOutbox;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import org.jboss.logging.Logger;

/**
 * Ends an export in two steps that survive a crash between them: first the outcome and its final event are
 * recorded (ENDING), then the unfinished image is removed if it must be and the VMs are unlocked (ENDED).
 */
@ApplicationScoped
public class ExportEnding {
    private static final Logger LOG = Logger.getLogger(ExportEnding.class);
    /** A request has one final event: the same id whatever ends it, and however often it is published. */
    static final String FINAL = "final";

    private final ExportJobs jobs;
    private final EventOutbox outbox;
    private final ImageExporter images;
    private final VmLocks locks;
    private final Clock clock;

    public ExportEnding(ExportJobs jobs, EventOutbox outbox, ImageExporter images, VmLocks locks, Clock clock) {
        this.jobs = jobs;
        this.outbox = outbox;
        this.images = images;
        this.locks = locks;
        this.clock = clock;
    }

    public void end(ExportJob job, EventType type, ReasonCode reason, String message, Evidence observed,
                    ResultEvent.ImageRef image, boolean deleteImage) {
        QuarkusTransaction.requiringNew().run(() -> {
            job.state = ExportJob.State.ENDING;
            job.outcomeType = type.name();
            job.outcomeReason = reason == null ? null : reason.name();
            job.outcomeMessage = message;
            job.deleteImage = deleteImage && job.imageName != null;
            jobs.save(job);
            outbox.add(ResultEvent.of(JobEvents.subject(job), type, reason, message, observed, image, null, FINAL,
                    clock.instant()), job.source);
        });
        LOG.infof("export %s ended: %s %s", job.requestId, type, reason == null ? "" : reason);
        finish(job);
    }

    /** The second step; repeated until it succeeds (the cluster may be unreachable for a while). */
    public void finish(ExportJob job) {
        if (job.deleteImage) {
            images.delete(job.namespace, job.imageName);
        }
        locks.unlock(job.namespace, job.lockedVmList(), job.requestId);
        QuarkusTransaction.requiringNew().run(() -> {
            job.state = ExportJob.State.ENDED;
            job.endedAt = clock.instant();
            jobs.save(job);
        });
    }
}
