package dev.vmexportguard.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.ImageExporter;
import dev.vmexportguard.cluster.VmLocks;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.ImagePlan;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.messaging.EventOutbox;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Starts an export that has a slot: checks the VMs (again, for one that waited in the queue), locks them, creates
 * the image, and checks once more right after, since a VM can be started between the check and the copy. Every
 * step is recorded before it is taken, so a start cut short by a crash is resumed, not repeated.
 */
@ApplicationScoped
public class ExportStarter {

    private final ExportJobs jobs;
    private final ExportEnding ending;
    private final ClusterReader cluster;
    private final ImageExporter images;
    private final VmLocks locks;
    private final EventOutbox outbox;
    private final ObjectMapper json;
    private final Clock clock;

    public ExportStarter(ExportJobs jobs, ExportEnding ending, ClusterReader cluster, ImageExporter images,
                         VmLocks locks, EventOutbox outbox, ObjectMapper json, Clock clock) {
        this.jobs = jobs;
        this.ending = ending;
        this.cluster = cluster;
        this.images = images;
        this.locks = locks;
        this.outbox = outbox;
        this.json = json;
        this.clock = clock;
    }

    /** Takes a job in state STARTING to RUNNING, or to its end. */
    public void start(ExportJob job) {
        Evidence observed = null;
        try {
            Decision decision = ExportDecider.decide(request(job), cluster.read(job.namespace), clock.instant());
            if (decision instanceof Decision.Rejected rejected) {
                ending.end(job, EventType.REJECTED, rejected.reason(), rejected.message(), rejected.observed(),
                        null, false);
                return;
            }
            Decision.Approved approved = (Decision.Approved) decision;
            observed = approved.observed();
            ImagePlan plan = approved.plan();
            List<String> users = approved.observed().vms().stream().map(Evidence.VmSeen::name).toList();
            Set<String> locked = new LinkedHashSet<>(job.lockedVmList());
            locked.addAll(users);
            save(job, j -> j.lockedVms = String.join(",", locked));
            locks.lock(job.namespace, users, job.requestId);
            try {
                images.create(plan);
            } catch (ImageExporter.NameTakenException e) {
                ending.end(job, EventType.REJECTED, ReasonCode.IMAGE_NAME_TAKEN,
                        Messages.imageNameTaken(job.namespace, plan.displayName(), e.getMessage()),
                        approved.observed(), null, false);
                return;
            }
            save(job, j -> {
                j.imageName = plan.name();
                j.imageDisplayName = plan.displayName();
            });
            Optional<Decision.Rejected> startedMeanwhile =
                    ExportDecider.recheck(job.namespace, job.volumeName, cluster.read(job.namespace));
            if (startedMeanwhile.isPresent()) {
                Decision.Rejected unsafe = startedMeanwhile.get();
                ending.end(job, EventType.FAILED, ReasonCode.VM_STARTED_DURING_EXPORT,
                        Messages.vmStartedDuringExport(job.volumeName, plan.name(), unsafe.message()),
                        unsafe.observed(), JobEvents.image(job), true);
                return;
            }
            QuarkusTransaction.requiringNew().run(() -> {
                job.state = ExportJob.State.RUNNING;
                job.startedAt = clock.instant();
                jobs.save(job);
                outbox.add(ResultEvent.of(JobEvents.subject(job), EventType.STARTED, null,
                        Messages.started(plan, job.volumeName), approved.observed(), JobEvents.image(job), null,
                        plan.name(), clock.instant()), job.source);
            });
        } catch (ClusterAccessException e) {
            // nothing is known for sure: an image that may have been created is removed
            boolean imageMayExist = job.imageName != null;
            ending.end(job, imageMayExist ? EventType.FAILED : EventType.REJECTED, e.reasonCode(), e.refusalMessage(),
                    observed, JobEvents.image(job), imageMayExist);
        }
    }

    private void save(ExportJob job, java.util.function.Consumer<ExportJob> change) {
        QuarkusTransaction.requiringNew().run(() -> {
            change.accept(job);
            jobs.save(job);
        });
    }

    private ExportRequest request(ExportJob job) {
        try {
            return json.readValue(job.request, ExportRequest.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored request of " + job.requestId + " is unreadable", e);
        }
    }
}
