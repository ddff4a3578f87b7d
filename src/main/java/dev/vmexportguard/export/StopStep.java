package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.VmPower;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.Optional;

/**
 * Stops the VMs using the volume first (onRunning STOP), through KubeVirt, and waits until every one is fully
 * stopped; fails the export with STOP_TIMEOUT when that takes longer than {@code guard.exports.stop-timeout}.
 */
@ApplicationScoped
public class StopStep {

    private final ExportJobs jobs;
    private final ExportEnding ending;
    private final ClusterReader cluster;
    private final VmPower power;
    private final GuardConfig.Exports config;
    private final Clock clock;

    public StopStep(ExportJobs jobs, ExportEnding ending, ClusterReader cluster, VmPower power, GuardConfig config,
                    Clock clock) {
        this.jobs = jobs;
        this.ending = ending;
        this.cluster = cluster;
        this.power = power;
        this.config = config.exports();
        this.clock = clock;
    }

    /** Stops the VMs the decision names; the job waits in STOPPING. */
    void begin(ExportJob job, Decision.Approved approved) {
        // recorded before stopping, with the run strategy to put back: a crash in between still starts them again
        jobs.update(job, j -> {
            for (Evidence.VmSeen vm : approved.observed().vms()) {
                boolean known = j.stoppedVms.stream().anyMatch(s -> s.name().equals(vm.name()));
                if (approved.stopFirst().vms().contains(vm.name()) && !known) {
                    j.stoppedVms.add(new ExportJob.StoppedVm(vm.name(), vm.runStrategy()));
                }
            }
        });
        for (String vm : approved.stopFirst().vms()) {
            power.stop(job.namespace, vm, job.request.stopGracePeriodSeconds());
        }
        job.stopRequestedAt = clock.instant();
        jobs.advance(job, ExportJob.State.STOPPING, ResultEvent.of(EventType.STOPPING_VM, "stopping")
                .message(Messages.stoppingVms(job.namespace, approved.stopFirst().vms(), job.volumeName))
                .observed(approved.observed()));
    }

    /** A job in state STOPPING: back to STARTING once every VM is fully stopped, failed when that takes too long. */
    public void check(ExportJob job) {
        try {
            Optional<Decision.Rejected> unsafe = ExportDecider.recheck(job.namespace, job.volumeName,
                    cluster.read(job.namespace));
            if (unsafe.isEmpty()) {
                jobs.advance(job, ExportJob.State.STARTING, ResultEvent.of(EventType.VM_STOPPED, "stopped")
                        .message(Messages.vmsStopped(job.namespace, job.volumeName)));
            } else if (job.stopRequestedAt != null
                    && clock.instant().isAfter(job.stopRequestedAt.plus(config.stopTimeout()))) {
                ending.end(job, ExportEnding.outcome(EventType.FAILED).reason(ReasonCode.STOP_TIMEOUT)
                        .message(Messages.stopTimeout(config.stopTimeout(), unsafe.get().message()))
                        .observed(unsafe.get().observed()), false);
            }
        } catch (ClusterAccessException e) {
            ending.end(job, ExportEnding.outcome(EventType.FAILED).reason(e.reasonCode()).message(e.refusalMessage()),
                    false);
        }
    }
}
