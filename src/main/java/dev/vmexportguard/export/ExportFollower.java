package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ExportTracking;
import dev.vmexportguard.decision.ImageStatus;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

/** Moves a running export on from what its image and its VMs show now: progress, completion or failure. */
@ApplicationScoped
public class ExportFollower {

    private final ExportJobs jobs;
    private final ExportEnding ending;
    private final ClusterReader cluster;
    private final GuardConfig.Exports config;
    private final Clock clock;

    public ExportFollower(ExportJobs jobs, ExportEnding ending, ClusterReader cluster, GuardConfig config, Clock clock) {
        this.jobs = jobs;
        this.ending = ending;
        this.cluster = cluster;
        this.config = config.exports();
        this.clock = clock;
    }

    public void follow(ExportJob job) {
        ClusterSnapshot now = cluster.read(job.namespace);
        Optional<ImageStatus> image = now.image(job.imageName).map(ClusterSnapshot.Image::status);
        Optional<Decision.Rejected> unsafe = ExportDecider.recheck(job.namespace, job.volumeName, now);
        Optional<Instant> inUseSince = ExportDecider.inUseSince(job.volumeName, now);
        if (job.usedDuringCopy != null) {
            // seen by a watch between two looks: it counts even if it has gone since
            Instant at = job.usedDuringCopyAt == null ? Instant.MIN : job.usedDuringCopyAt;
            unsafe = unsafe.or(() -> Optional.of(ExportTracking.seenUse(job.namespace, job.volumeName,
                    job.usedDuringCopy, job.usedDuringCopyAt)));
            inUseSince = Optional.of(inUseSince.filter(t -> t.isBefore(at)).orElse(at));
        }
        if (job.importedSeenAt == null && image.filter(ImageStatus::imported).isPresent()) {
            // kept, so that a later look (after a restart too) still knows it was ready by then
            Instant seen = now.readAt();
            jobs.update(job, j -> j.importedSeenAt = seen);
        }
        ExportTracking.RunningExport running = new ExportTracking.RunningExport(job.namespace, job.volumeName,
                job.imageName, job.imageDisplayName, job.startedAt, job.progressStep, job.importedSeenAt);
        ExportTracking.Step step = ExportTracking.next(running, image, unsafe, inUseSince, clock.instant(),
                config.timeout(), config.deleteOnTimeout());
        ResultEvent.ImageRef ref = image.map(s -> new ResultEvent.ImageRef(job.namespace, job.imageName,
                job.imageDisplayName, s.imported() ? 100 : s.progress(), s.size(), s.virtualSize(), s.storageClassName()))
                .orElse(job.image());
        if (step instanceof ExportTracking.Progressed progressed) {
            job.progressStep = progressed.step();
            jobs.advance(job, ExportJob.State.RUNNING, ResultEvent.of(EventType.PROGRESS, "progress-" + progressed.step())
                    .message(Messages.progress(job.imageDisplayName, progressed.step())).image(ref));
        } else if (step instanceof ExportTracking.Completed) {
            ending.end(job, ExportEnding.outcome(EventType.COMPLETED).image(ref)
                    .message(Messages.completed(job.namespace, job.imageDisplayName, job.imageName)), false);
        } else if (step instanceof ExportTracking.Failed failed) {
            ending.end(job, ExportEnding.outcome(EventType.FAILED).reason(failed.reason()).message(failed.message())
                    .observed(failed.observed()).image(ref), failed.deleteImage());
        }
    }
}
