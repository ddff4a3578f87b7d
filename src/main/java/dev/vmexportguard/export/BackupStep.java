package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.VmBackups;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ImagePlan;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Backs up every VM using the volume before the export (backupFirst), with Harvester VirtualMachineBackups, and
 * waits until each is ready; fails the export with BACKUP_FAILED when one fails, disappears or takes longer than
 * {@code guard.exports.backup-timeout}.
 */
@ApplicationScoped
public class BackupStep {
    private static final Logger LOG = Logger.getLogger(BackupStep.class);

    private final ExportJobs jobs;
    private final ExportEnding ending;
    private final VmBackups backups;
    private final GuardConfig.Exports config;
    private final Clock clock;

    public BackupStep(ExportJobs jobs, ExportEnding ending, VmBackups backups, GuardConfig config, Clock clock) {
        this.jobs = jobs;
        this.ending = ending;
        this.backups = backups;
        this.config = config.exports();
        this.clock = clock;
    }

    /** Creates the backups; the job waits in BACKING_UP (or, with no VM to back up, is at once ready to start). */
    void begin(ExportJob job, Decision.Approved approved) {
        List<String> vms = approved.observed().vms().stream().map(Evidence.VmSeen::name).toList();
        String prefix = "vmexport-" + ImagePlan.requestHash(job.requestId).substring(0, 12) + "-";
        List<String> names = vms.stream().map(vm -> prefix + vm).toList();
        // recorded before they are created: a crash in between finds them again
        jobs.update(job, j -> {
            j.backups = new ArrayList<>(names);
            if (j.backupStartedAt == null) {
                j.backupStartedAt = clock.instant();
            }
        });
        for (int i = 0; i < vms.size(); i++) {
            try {
                backups.create(job.namespace, names.get(i), vms.get(i), job.request.backupType(), job.requestId);
            } catch (VmBackups.NameTakenException e) {
                ending.end(job, ExportEnding.outcome(EventType.FAILED).reason(ReasonCode.BACKUP_FAILED)
                        .message(Messages.backupFailed(names.get(i), "could not be created: the name is taken ("
                                + e.getMessage() + ")")), false);
                return;
            } catch (ClusterAccessException e) {
                removeUnconfirmed(job, names.get(i));
                throw e;
            }
        }
        jobs.advance(job, ExportJob.State.BACKING_UP);
        if (names.isEmpty()) {
            check(job);
        }
    }

    /** A job in state BACKING_UP: back to STARTING once every backup is ready, failed when one fails. */
    public void check(ExportJob job) {
        try {
            for (String backup : job.backups) {
                VmBackups.BackupState state = backups.state(job.namespace, backup);
                String problem = !state.exists() ? "was deleted"
                        : state.error() != null ? "failed: " + state.error()
                        : !state.ready() && expired(job) ? "was not ready within "
                        + Messages.human(config.backupTimeout()) + " (guard.exports.backup-timeout)" : null;
                if (problem != null) {
                    ending.end(job, ExportEnding.outcome(EventType.FAILED).reason(ReasonCode.BACKUP_FAILED)
                            .message(Messages.backupFailed(backup, problem)), false);
                    return;
                }
                if (!state.ready()) {
                    return;
                }
            }
            job.backupsReady = true;
            jobs.advance(job, ExportJob.State.STARTING, ResultEvent.of(EventType.BACKUP_READY, "backup")
                    .message(Messages.backupReady(job.namespace, job.backups, job.request.backupType().specValue())));
        } catch (ClusterAccessException e) {
            ending.end(job, ExportEnding.outcome(EventType.FAILED).reason(e.reasonCode()).message(e.refusalMessage()),
                    false);
        }
    }

    /**
     * A backup whose create was not confirmed may exist all the same: removed now, as the export ends without it
     * (one that cannot be removed now is reported by the sweep of orphaned objects).
     */
    private void removeUnconfirmed(ExportJob job, String backup) {
        try {
            backups.deleteOwn(job.namespace, backup, job.requestId);
        } catch (ClusterAccessException e) {
            LOG.warnf("export %s: backup %s/%s, whose create was not confirmed, could not be removed: %s",
                    job.requestId, job.namespace, backup, e.getMessage());
        }
    }

    private boolean expired(ExportJob job) {
        return job.backupStartedAt != null
                && clock.instant().isAfter(job.backupStartedAt.plus(config.backupTimeout()));
    }
}
