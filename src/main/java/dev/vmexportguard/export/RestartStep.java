package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.VmPower;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/** After an export (restartAfter): starts again the VMs the guard stopped for it, with the run strategy they had. */
@ApplicationScoped
public class RestartStep {
    private static final Logger LOG = Logger.getLogger(RestartStep.class);

    private final ClusterReader cluster;
    private final VmPower power;

    public RestartStep(ClusterReader cluster, VmPower power) {
        this.cluster = cluster;
        this.power = power;
    }

    /** One attempt per VM; returns the events that tell what happened: VM_RESTARTED first, then each failure. */
    List<ResultEvent.Builder> restart(ExportJob job) {
        List<String> restarted = new ArrayList<>();
        List<ResultEvent.Builder> events = new ArrayList<>();
        ClusterSnapshot now = cluster.read(job.namespace);
        for (ExportJob.StoppedVm vm : job.stoppedVms) {
            boolean stopped = now.vm(vm.name())
                    .map(v -> ClusterSnapshot.STATUS_STOPPED.equals(v.printableStatus())).orElse(false);
            if (!stopped) {
                // never stopped (a stop that timed out), started by someone meanwhile, or deleted: left as it is
                continue;
            }
            try {
                power.restore(job.namespace, vm.name(), vm.runStrategy());
                restarted.add(vm.name());
            } catch (ClusterAccessException e) {
                LOG.warnf("export %s: VM %s/%s not started again: %s", job.requestId, job.namespace, vm.name(),
                        e.getMessage());
                events.add(ResultEvent.of(EventType.RESTART_FAILED, "restart-failed-" + vm.name())
                        .reason(ReasonCode.RESTART_FAILED)
                        .message(Messages.restartFailed(job.namespace, vm.name(), e.getMessage())));
            }
        }
        if (!restarted.isEmpty()) {
            events.add(0, ResultEvent.of(EventType.VM_RESTARTED, "restarted")
                    .message(Messages.restarted(job.namespace, restarted)));
        }
        return events;
    }
}
