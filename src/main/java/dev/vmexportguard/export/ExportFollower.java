package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ExportTracking;
import dev.vmexportguard.decision.ImageStatus;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.messaging.EventOutbox;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.Optional;

/** Moves a running export on from what its image and its VMs show now: progress, completion or failure. */
@ApplicationScoped
public class ExportFollower {

    private final ExportJobs jobs;
    private final ExportEnding ending;
    private final ClusterReader cluster;
    private final EventOutbox outbox;
    private final GuardConfig.Exports config;
    private final Clock clock;

    public ExportFollower(ExportJobs jobs, ExportEnding ending, ClusterReader cluster, EventOutbox outbox,
                          GuardConfig config, Clock clock) {
        this.jobs = jobs;
        this.ending = ending;
        this.cluster = cluster;
        this.outbox = outbox;
        this.config = config.exports();
        this.clock = clock;
    }

    public void follow(ExportJob job) {
        ClusterSnapshot now = cluster.read(job.namespace);
        Optional<ImageStatus> image = now.image(job.imageName).map(ClusterSnapshot.Image::status);
        var unsafe = ExportDecider.recheck(job.namespace, job.volumeName, now);
        ExportTracking.RunningExport running = new ExportTracking.RunningExport(job.namespace, job.volumeName,
                job.imageName, job.imageDisplayName, job.startedAt, job.progressStep);
        ExportTracking.Step step = ExportTracking.next(running, image, unsafe,
                ExportDecider.inUseSince(job.volumeName, now), clock.instant(), config.timeout(), config.deleteOnTimeout());
        ResultEvent.ImageRef ref = image.map(s -> new ResultEvent.ImageRef(job.namespace, job.imageName,
                job.imageDisplayName, s.imported() ? 100 : s.progress(), s.size(), s.virtualSize(), s.storageClassName()))
                .orElse(JobContents.image(job));
        if (step instanceof ExportTracking.Progressed progressed) {
            QuarkusTransaction.requiringNew().run(() -> {
                job.progressStep = progressed.step();
                jobs.save(job);
                outbox.add(ResultEvent.of(JobContents.subject(job), EventType.PROGRESS, null,
                        Messages.progress(job.imageDisplayName, progressed.step()), null, ref, null,
                        "progress-" + progressed.step(), clock.instant()), job.source);
            });
        } else if (step instanceof ExportTracking.Completed) {
            ending.end(job, EventType.COMPLETED, null, Messages.completed(job.namespace, job.imageDisplayName,
                    job.imageName), null, ref, false);
        } else if (step instanceof ExportTracking.Failed failed) {
            ending.end(job, EventType.FAILED, failed.reason(), failed.message(), failed.observed(), ref,
                    failed.deleteImage());
        }
    }
}
