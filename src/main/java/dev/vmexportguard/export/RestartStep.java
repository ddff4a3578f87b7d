package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.VmPower;
import dev.vmexportguard.cluster.VmPowerState;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * After an export (restartAfter): starts again the VMs the guard stopped for it, with the run strategy they had,
 * however the export ended. A VM still stopping at the end (a stop that outlasted the stop timeout, or a second stop
 * call that failed) is waited for, in state RESTARTING, until it shows Stopped, until someone else starts it or
 * deletes it, or until {@code guard.exports.restart-deadline} after the end (RESTART_FAILED). Each VM is started at
 * most once: the start is recorded before it is asked, with the VM's resourceVersion, so a guard restarted in between
 * never asks twice; a VM still at that version was never asked (a start changes the VM) and is asked then.
 */
@ApplicationScoped
public class RestartStep {
    private static final Logger LOG = Logger.getLogger(RestartStep.class);
    private static final String HALTED = "Halted";

    private final ExportJobs jobs;
    private final VmPower power;
    private final GuardConfig.Exports config;
    private final Clock clock;

    public RestartStep(ExportJobs jobs, VmPower power, GuardConfig config, Clock clock) {
        this.jobs = jobs;
        this.power = power;
        this.config = config.exports();
        this.clock = clock;
    }

    /**
     * A job in state RESTARTING: one look at each VM still waited for, starting those that are Stopped now; ENDED
     * once none is waited for. Each look that settles a VM records it with its event, in one transaction.
     */
    public void check(ExportJob job) {
        Instant now = clock.instant();
        if (job.restartDeadline == null) {
            job.restartDeadline = now.plus(config.restartDeadline());
        }
        boolean late = !now.isBefore(job.restartDeadline);
        // a VMI created after the stop was asked, and not on its way out, is someone else's start
        Instant stopAskedAt = job.stopRequestedAt != null ? job.stopRequestedAt : job.acceptedAt;
        List<ExportJob.StoppedVm> vms = new ArrayList<>(job.stoppedVms);
        List<String> restarted = new ArrayList<>();
        List<ResultEvent.Builder> failures = new ArrayList<>();
        List<Integer> toStart = new ArrayList<>();
        Map<Integer, String> versions = new HashMap<>();
        boolean changed = false;
        for (int i = 0; i < vms.size(); i++) {
            ExportJob.StoppedVm vm = vms.get(i);
            if (!vm.pending()) {
                continue;
            }
            if (vm.runStrategy() == null || HALTED.equals(vm.runStrategy())) {
                LOG.infof("export %s: VM %s/%s was already being halted by someone else when the guard stopped it;"
                        + " it is left stopped", job.requestId, job.namespace, vm.name());
                vms.set(i, vm.with(ExportJob.Restart.LEFT));
                changed = true;
                continue;
            }
            Optional<VmPowerState> state;
            try {
                state = power.state(job.namespace, vm.name());
            } catch (ClusterAccessException e) {
                if (!late) {
                    throw e;
                }
                vms.set(i, vm.with(ExportJob.Restart.FAILED));
                failures.add(failed(vm, Messages.restartUnreadable(job.namespace, vm.name(), config.restartDeadline(),
                        e.getMessage())));
                changed = true;
                continue;
            }
            if (state.isEmpty()) {
                LOG.infof("export %s: VM %s/%s was deleted; nothing to start again", job.requestId, job.namespace,
                        vm.name());
                vms.set(i, vm.with(ExportJob.Restart.LEFT));
                changed = true;
                continue;
            }
            VmPowerState seen = state.get();
            if (vm.restart() == ExportJob.Restart.ASKED) {
                // asked before the guard was restarted, the outcome not recorded: a start that reached the API server
                // changed the VM, so a VM unchanged since the start was recorded was never asked (the guard stopped
                // in between) and is asked now; any other is never asked a second time
                boolean neverAsked = seen.stopped() && vm.askedAtVersion() != null
                        && vm.askedAtVersion().equals(seen.resourceVersion());
                if (!neverAsked) {
                    if (!seen.stopped()) {
                        vms.set(i, vm.with(ExportJob.Restart.RESTARTED));
                        restarted.add(vm.name());
                        changed = true;
                    } else if (late) {
                        vms.set(i, vm.with(ExportJob.Restart.FAILED));
                        failures.add(failed(vm, Messages.restartUnconfirmed(job.namespace, vm.name(),
                                config.restartDeadline())));
                        changed = true;
                    }
                    continue;
                }
                LOG.infof("export %s: VM %s/%s is unchanged since its start was recorded; it is started now",
                        job.requestId, job.namespace, vm.name());
            }
            if (seen.stopped()) {
                Set<String> otherLocks = new LinkedHashSet<>(seen.lockedBy());
                otherLocks.remove(job.requestId);
                if (otherLocks.isEmpty()) {
                    toStart.add(i);
                    versions.put(i, seen.resourceVersion());
                } else if (late) {
                    vms.set(i, vm.with(ExportJob.Restart.FAILED));
                    failures.add(failed(vm, Messages.restartLocked(job.namespace, vm.name(), config.restartDeadline(),
                            otherLocks)));
                    changed = true;
                }
                continue;
            }
            if (seen.startedSince(stopAskedAt)) {
                LOG.infof("export %s: VM %s/%s was started again by someone else (%s)", job.requestId, job.namespace,
                        vm.name(), seen.describe());
                vms.set(i, vm.with(ExportJob.Restart.LEFT));
                changed = true;
            } else if (late) {
                LOG.warnf("export %s: VM %s/%s did not reach Stopped by the restart deadline (%s)", job.requestId,
                        job.namespace, vm.name(), seen.describe());
                vms.set(i, vm.with(ExportJob.Restart.FAILED));
                failures.add(failed(vm, Messages.restartNotStopped(job.namespace, vm.name(), config.restartDeadline(),
                        seen.describe())));
                changed = true;
            }
        }
        if (!toStart.isEmpty()) {
            // recorded before asking, with the VM's version as it was read: a VM is started at most once, also when
            // the guard is restarted in between
            for (int i : toStart) {
                vms.set(i, vms.get(i).asked(versions.get(i)));
            }
            List<ExportJob.StoppedVm> asked = List.copyOf(vms);
            jobs.update(job, j -> j.stoppedVms = new ArrayList<>(asked));
            for (int i : toStart) {
                ExportJob.StoppedVm vm = vms.get(i);
                try {
                    if (power.restore(job.namespace, vm.name(), vm.runStrategy())) {
                        vms.set(i, vm.with(ExportJob.Restart.RESTARTED));
                        restarted.add(vm.name());
                    } else {
                        vms.set(i, vm.with(ExportJob.Restart.LEFT));
                    }
                } catch (ClusterAccessException e) {
                    LOG.warnf("export %s: VM %s/%s not started again: %s", job.requestId, job.namespace, vm.name(),
                            e.getMessage());
                    vms.set(i, vm.with(ExportJob.Restart.FAILED));
                    failures.add(failed(vm, Messages.restartFailed(job.namespace, vm.name(), e.getMessage())));
                }
            }
            changed = true;
        }
        List<ResultEvent.Builder> events = new ArrayList<>();
        if (!restarted.isEmpty()) {
            events.add(ResultEvent.of(EventType.VM_RESTARTED, "restarted-" + String.join(",", restarted))
                    .message(Messages.restarted(job.namespace, restarted)));
        }
        events.addAll(failures);
        job.stoppedVms = vms;
        if (vms.stream().noneMatch(ExportJob.StoppedVm::pending)) {
            job.restartDone = true;
            job.endedAt = clock.instant();
            jobs.advance(job, ExportJob.State.ENDED, events.toArray(ResultEvent.Builder[]::new));
        } else if (changed) {
            jobs.advance(job, ExportJob.State.RESTARTING, events.toArray(ResultEvent.Builder[]::new));
        }
    }

    private static ResultEvent.Builder failed(ExportJob.StoppedVm vm, String message) {
        return ResultEvent.of(EventType.RESTART_FAILED, "restart-failed-" + vm.name())
                .reason(ReasonCode.RESTART_FAILED).message(message);
    }
}
