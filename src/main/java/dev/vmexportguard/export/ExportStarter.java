package dev.vmexportguard.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.ImageExporter;
import dev.vmexportguard.cluster.VmBackups;
import dev.vmexportguard.cluster.VmLocks;
import dev.vmexportguard.cluster.VmPower;
import dev.vmexportguard.config.GuardConfig;
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
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Takes an export that has a slot to the copy: checks the VMs (again, for one that waited in the queue); stops them
 * first when the request asked for it and waits until they are fully stopped; backs them up first when asked; then
 * locks them, creates the image, and checks once more right after, since a VM can be started between the check and
 * the copy. Every step is recorded before it is taken, so a start cut short by a crash is resumed, not repeated.
 */
@ApplicationScoped
public class ExportStarter {

    private final ExportJobs jobs;
    private final ExportEnding ending;
    private final ClusterReader cluster;
    private final ImageExporter images;
    private final VmLocks locks;
    private final VmPower power;
    private final VmBackups backups;
    private final EventOutbox outbox;
    private final GuardConfig.Exports config;
    private final ObjectMapper json;
    private final Clock clock;

    public ExportStarter(ExportJobs jobs, ExportEnding ending, ClusterReader cluster, ImageExporter images,
                         VmLocks locks, VmPower power, VmBackups backups, EventOutbox outbox, GuardConfig config,
                         ObjectMapper json, Clock clock) {
        this.jobs = jobs;
        this.ending = ending;
        this.cluster = cluster;
        this.images = images;
        this.locks = locks;
        this.power = power;
        this.backups = backups;
        this.outbox = outbox;
        this.config = config.exports();
        this.json = json;
        this.clock = clock;
    }

    /** Takes a job in state STARTING on: to STOPPING, BACKING_UP, RUNNING, or to its end. */
    public void start(ExportJob job) {
        Evidence observed = null;
        try {
            ExportRequest request = JobContents.request(job, json);
            Decision decision = ExportDecider.decide(request, cluster.read(job.namespace), clock.instant());
            if (decision instanceof Decision.Rejected rejected) {
                ending.end(job, EventType.REJECTED, rejected.reason(), rejected.message(), rejected.observed(),
                        null, false);
                return;
            }
            Decision.Approved approved = (Decision.Approved) decision;
            observed = approved.observed();
            if (approved.stopFirst() != null) {
                stop(job, request, approved);
            } else if (request.backupFirst() && !job.backupsReady) {
                backUp(job, request, approved);
            } else {
                createImage(job, approved);
            }
        } catch (ClusterAccessException e) {
            // nothing is known for sure: an image that may have been created is removed
            boolean imageMayExist = job.imageName != null;
            ending.end(job, imageMayExist ? EventType.FAILED : EventType.REJECTED, e.reasonCode(), e.refusalMessage(),
                    observed, JobContents.image(job), imageMayExist);
        }
    }

    /** A job in state STOPPING: on once every VM is fully stopped, failed when that takes too long. */
    public void continueStopping(ExportJob job) {
        try {
            Optional<Decision.Rejected> unsafe = ExportDecider.recheck(job.namespace, job.volumeName,
                    cluster.read(job.namespace));
            if (unsafe.isEmpty()) {
                transition(job, ExportJob.State.STARTING, EventType.VM_STOPPED,
                        Messages.vmsStopped(job.namespace, job.volumeName), "stopped");
                start(job);
            } else if (expired(job.stopRequestedAt, config.stopTimeout())) {
                ending.end(job, EventType.FAILED, ReasonCode.STOP_TIMEOUT,
                        Messages.stopTimeout(config.stopTimeout(), unsafe.get().message()), unsafe.get().observed(),
                        null, false);
            }
        } catch (ClusterAccessException e) {
            ending.end(job, EventType.FAILED, e.reasonCode(), e.refusalMessage(), null, null, false);
        }
    }

    /** A job in state BACKING_UP: on once every backup is ready, failed when one fails or takes too long. */
    public void continueBackingUp(ExportJob job) {
        try {
            for (String backup : job.backupList()) {
                VmBackups.BackupState state = backups.state(job.namespace, backup);
                String problem = !state.exists() ? "was deleted"
                        : state.error() != null ? "failed: " + state.error()
                        : !state.ready() && expired(job.backupStartedAt, config.backupTimeout())
                        ? "was not ready within " + config.backupTimeout().toMinutes() + " minutes" : null;
                if (problem != null) {
                    ending.end(job, EventType.FAILED, ReasonCode.BACKUP_FAILED, Messages.backupFailed(backup, problem),
                            null, null, false);
                    return;
                }
                if (!state.ready()) {
                    return;
                }
            }
            job.backupsReady = true;
            transition(job, ExportJob.State.STARTING, EventType.BACKUP_READY,
                    Messages.backupReady(job.namespace, job.backupList(),
                            JobContents.request(job, json).backupType().specValue()), "backup");
            start(job);
        } catch (ClusterAccessException e) {
            ending.end(job, EventType.FAILED, e.reasonCode(), e.refusalMessage(), null, null, false);
        }
    }

    private void stop(ExportJob job, ExportRequest request, Decision.Approved approved) {
        Map<String, String> stopped = JobContents.stoppedVms(job, json);
        for (Evidence.VmSeen vm : approved.observed().vms()) {
            if (approved.stopFirst().vms().contains(vm.name())) {
                stopped.putIfAbsent(vm.name(), vm.runStrategy());
            }
        }
        // recorded before stopping: a crash in between still starts them again
        save(job, j -> j.stoppedVms = JobContents.toJson(stopped, json));
        for (String vm : approved.stopFirst().vms()) {
            power.stop(job.namespace, vm, request.stopGracePeriodSeconds());
        }
        QuarkusTransaction.requiringNew().run(() -> {
            job.state = ExportJob.State.STOPPING;
            job.stopRequestedAt = clock.instant();
            jobs.save(job);
            outbox.add(ResultEvent.of(JobContents.subject(job), EventType.STOPPING_VM, null,
                    Messages.stoppingVms(job.namespace, approved.stopFirst().vms(), job.volumeName), approved.observed(),
                    null, null, "stopping", clock.instant()), job.source);
        });
    }

    private void backUp(ExportJob job, ExportRequest request, Decision.Approved approved) {
        List<String> vms = approved.observed().vms().stream().map(Evidence.VmSeen::name).toList();
        String prefix = "vmexport-" + ImagePlan.requestHash(job.requestId).substring(0, 12) + "-";
        List<String> names = vms.stream().map(vm -> prefix + vm).toList();
        save(job, j -> {
            j.backups = String.join(",", names);
            if (j.backupStartedAt == null) {
                j.backupStartedAt = clock.instant();
            }
        });
        for (int i = 0; i < vms.size(); i++) {
            backups.create(job.namespace, names.get(i), vms.get(i), request.backupType(), job.requestId);
        }
        save(job, j -> j.state = ExportJob.State.BACKING_UP);
        if (names.isEmpty()) {
            continueBackingUp(job);
        }
    }

    private void createImage(ExportJob job, Decision.Approved approved) {
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
                    unsafe.observed(), JobContents.image(job), true);
            return;
        }
        QuarkusTransaction.requiringNew().run(() -> {
            job.state = ExportJob.State.RUNNING;
            job.startedAt = clock.instant();
            jobs.save(job);
            outbox.add(ResultEvent.of(JobContents.subject(job), EventType.STARTED, null,
                    Messages.started(plan, job.volumeName), approved.observed(), JobContents.image(job), null,
                    plan.name(), clock.instant()), job.source);
        });
    }

    private void transition(ExportJob job, ExportJob.State state, EventType event, String message, String discriminator) {
        QuarkusTransaction.requiringNew().run(() -> {
            job.state = state;
            jobs.save(job);
            outbox.add(ResultEvent.of(JobContents.subject(job), event, null, message, null, null, null, discriminator,
                    clock.instant()), job.source);
        });
    }

    private boolean expired(Instant since, java.time.Duration limit) {
        return since != null && clock.instant().isAfter(since.plus(limit));
    }

    private void save(ExportJob job, Consumer<ExportJob> change) {
        QuarkusTransaction.requiringNew().run(() -> {
            change.accept(job);
            jobs.save(job);
        });
    }
}
