package dev.vmexportguard.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.ImageExporter;
import dev.vmexportguard.cluster.VmLocks;
import dev.vmexportguard.cluster.VmPower;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.messaging.EventOutbox;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Ends an export in two steps that survive a crash between them: first its final event is recorded, in the outbox
 * (ENDING), then the unfinished image is removed if it must be and the VMs are unlocked (ENDED).
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
    private final VmPower power;
    private final ClusterReader cluster;
    private final ObjectMapper json;
    private final Clock clock;

    public ExportEnding(ExportJobs jobs, EventOutbox outbox, ImageExporter images, VmLocks locks, VmPower power,
                        ClusterReader cluster, ObjectMapper json, Clock clock) {
        this.cluster = cluster;
        this.jobs = jobs;
        this.outbox = outbox;
        this.images = images;
        this.locks = locks;
        this.power = power;
        this.json = json;
        this.clock = clock;
    }

    public void end(ExportJob job, EventType type, ReasonCode reason, String message, Evidence observed,
                    ResultEvent.ImageRef image, boolean deleteImage) {
        QuarkusTransaction.requiringNew().run(() -> {
            job.state = ExportJob.State.ENDING;
            job.deleteImage = deleteImage && job.imageName != null;
            jobs.save(job);
            outbox.add(ResultEvent.of(JobContents.subject(job), type, reason, message, observed, image, null, FINAL,
                    clock.instant()), job.source);
        });
        LOG.infof("export %s ended: %s %s", job.requestId, type, reason == null ? "" : reason);
        finish(job);
    }

    /**
     * The second step; repeated until it succeeds (the cluster may be unreachable for a while). The VMs are unlocked
     * before they are started again: the admission policy refuses to start a locked VM.
     */
    public void finish(ExportJob job) {
        if (job.deleteImage) {
            images.delete(job.namespace, job.imageName);
        }
        locks.unlock(job.namespace, job.lockedVmList(), job.requestId);
        List<ResultEvent> restarts = job.restartDone || !JobContents.request(job, json).restartAfter()
                ? List.of() : restart(job);
        QuarkusTransaction.requiringNew().run(() -> {
            job.restartDone = true;
            job.state = ExportJob.State.ENDED;
            job.endedAt = clock.instant();
            jobs.save(job);
            restarts.forEach(event -> outbox.add(event, job.source));
        });
    }

    /** Starts again the VMs the guard stopped for this export; one attempt each, and every failure is told. */
    private List<ResultEvent> restart(ExportJob job) {
        List<String> restarted = new ArrayList<>();
        List<ResultEvent> events = new ArrayList<>();
        ClusterSnapshot now = cluster.read(job.namespace);
        JobContents.stoppedVms(job, json).forEach((vm, runStrategy) -> {
            boolean stopped = now.vm(vm).map(v -> ClusterSnapshot.STATUS_STOPPED.equals(v.printableStatus())).orElse(false);
            if (!stopped) {
                // never stopped (a stop that timed out), started by someone meanwhile, or deleted: left as it is
                return;
            }
            try {
                power.restore(job.namespace, vm, runStrategy);
                restarted.add(vm);
            } catch (ClusterAccessException e) {
                LOG.warnf("export %s: VM %s/%s not started again: %s", job.requestId, job.namespace, vm, e.getMessage());
                events.add(ResultEvent.of(JobContents.subject(job), EventType.RESTART_FAILED, ReasonCode.RESTART_FAILED,
                        Messages.restartFailed(job.namespace, vm, e.getMessage()), null, null, null,
                        "restart-failed-" + vm, clock.instant()));
            }
        });
        if (!restarted.isEmpty()) {
            events.add(0, ResultEvent.of(JobContents.subject(job), EventType.VM_RESTARTED, null,
                    Messages.restarted(job.namespace, restarted), null, null, null, "restarted", clock.instant()));
        }
        return events;
    }
}
