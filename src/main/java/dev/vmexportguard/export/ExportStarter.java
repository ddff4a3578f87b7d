package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.ReasonCode;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

/**
 * Takes an export that has a slot towards the copy: decides again from what the cluster shows now (for one that
 * waited in the queue, or whose VMs were just stopped or backed up), asks again whether the requester may do what it
 * needs for the VMs found now, then hands it to the step it needs next:
 * stopping its VMs, backing them up, or creating the image. Every step is recorded before it is taken, so a start
 * cut short by a crash is resumed, not repeated.
 */
@ApplicationScoped
public class ExportStarter {

    private final ExportEnding ending;
    private final ClusterReader cluster;
    private final StopStep stopping;
    private final BackupStep backingUp;
    private final ImageStep imaging;
    private final Rights rights;
    private final Clock clock;

    public ExportStarter(ExportEnding ending, ClusterReader cluster, StopStep stopping, BackupStep backingUp,
                         ImageStep imaging, Rights rights, Clock clock) {
        this.ending = ending;
        this.cluster = cluster;
        this.stopping = stopping;
        this.backingUp = backingUp;
        this.imaging = imaging;
        this.rights = rights;
        this.clock = clock;
    }

    /** Takes a job in state STARTING on: to STOPPING, BACKING_UP, RUNNING, or to its end. */
    public void start(ExportJob job) {
        Evidence observed = null;
        Instant readFrom = clock.instant();
        try {
            Decision decision = ExportDecider.decide(job.request, cluster.read(job.namespace), clock.instant());
            if (decision instanceof Decision.Rejected rejected) {
                ending.end(job, ExportEnding.outcome(EventType.REJECTED).reason(rejected.reason())
                        .message(rejected.message()).observed(rejected.observed()), false);
                return;
            }
            Decision.Approved approved = (Decision.Approved) decision;
            observed = approved.observed();
            // the VMs may not be those of the acceptance: the requester's rights are asked again for the ones found now
            Optional<String> denied = rights.toExport(new Identity(job.request.requestedBy(),
                    job.request.requestedByGroups()), job.request, approved);
            if (denied.isPresent()) {
                ending.end(job, ExportEnding.outcome(EventType.REJECTED).reason(ReasonCode.FORBIDDEN)
                        .message(denied.get()), false);
                return;
            }
            if (approved.stopFirst() != null) {
                stopping.begin(job, approved);
            } else if (job.request.backupFirst() && !job.backupsReady) {
                backingUp.begin(job, approved);
            } else {
                imaging.create(job, approved, readFrom);
            }
        } catch (ClusterAccessException e) {
            // nothing is known for sure: an image that may have been created is removed
            boolean imageMayExist = job.imageName != null;
            ending.end(job, ExportEnding.outcome(imageMayExist ? EventType.FAILED : EventType.REJECTED)
                    .reason(e.reasonCode()).message(e.refusalMessage()).observed(observed).image(job.image()),
                    imageMayExist);
        }
    }
}
