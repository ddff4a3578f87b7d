package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.ImageExporter;
import dev.vmexportguard.cluster.VmLocks;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ImagePlan;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Starts the copy: locks the VMs using the volume, creates the image, and checks once more right after, since a
 * VM can be started between the check and the copy.
 */
@ApplicationScoped
public class ImageStep {

    private final ExportJobs jobs;
    private final ExportEnding ending;
    private final ClusterReader cluster;
    private final ImageExporter images;
    private final VmLocks locks;
    private final Clock clock;

    public ImageStep(ExportJobs jobs, ExportEnding ending, ClusterReader cluster, ImageExporter images, VmLocks locks,
                     Clock clock) {
        this.jobs = jobs;
        this.ending = ending;
        this.cluster = cluster;
        this.images = images;
        this.locks = locks;
        this.clock = clock;
    }

    /**
     * The job goes RUNNING, or ends: the name is taken, or a VM started meanwhile. {@code readFrom} is the guard's
     * time just before the fresh read that approved it: pods and VMIs a watch tells of from then on are uses during
     * the copy.
     */
    void create(ExportJob job, Decision.Approved approved, Instant readFrom) {
        ImagePlan plan = approved.plan();
        List<String> users = approved.observed().vms().stream().map(Evidence.VmSeen::name).toList();
        // recorded before the lock and the create: whatever happens next, the end unlocks the VMs and removes the
        // image if it exists without being followed (an answer to the create that was lost)
        jobs.update(job, j -> {
            Set<String> locked = new LinkedHashSet<>(j.lockedVms);
            locked.addAll(users);
            j.lockedVms = new ArrayList<>(locked);
            j.plannedImageName = plan.name();
            j.usesCountFrom = readFrom;
        });
        locks.lock(job.namespace, users, job.requestId);
        try {
            images.create(plan);
        } catch (ImageExporter.NameTakenException e) {
            ending.end(job, ExportEnding.outcome(EventType.REJECTED).reason(ReasonCode.IMAGE_NAME_TAKEN)
                    .message(Messages.imageNameTaken(job.namespace, plan.displayName(), e.getMessage()))
                    .observed(approved.observed()), false);
            return;
        }
        jobs.update(job, j -> {
            j.imageName = plan.name();
            j.imageDisplayName = plan.displayName();
        });
        Optional<Decision.Rejected> startedMeanwhile =
                ExportDecider.recheck(job.namespace, job.volumeName, cluster.read(job.namespace));
        if (startedMeanwhile.isPresent()) {
            Decision.Rejected unsafe = startedMeanwhile.get();
            ending.end(job, ExportEnding.outcome(EventType.FAILED).reason(ReasonCode.VM_STARTED_DURING_EXPORT)
                    .message(Messages.vmStartedDuringExport(job.volumeName, plan.name(), unsafe.message()))
                    .observed(unsafe.observed()).image(job.image()), true);
            return;
        }
        job.startedAt = clock.instant();
        jobs.advance(job, ExportJob.State.RUNNING, ResultEvent.of(EventType.STARTED, plan.name())
                .message(Messages.started(plan, job.volumeName)).observed(approved.observed()).image(job.image()));
    }
}
