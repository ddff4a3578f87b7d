package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.GuardObjects;
import dev.vmexportguard.cluster.KubernetesEventRecorder;
import dev.vmexportguard.concurrent.SerialWorker;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Orphans;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.interceptor.Interceptor;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Looks, every {@code guard.orphans.sweep-interval} on the replica that leads, for images and backups that carry the
 * guard's labels but belong to no active export ({@link Orphans} decides which): what an export left behind when an
 * answer of the API server was lost, or when it ended without removing what it made. Each is reported: in the metric
 * {@code guard_orphaned_objects{kind}}, in the log (once per object and run) and as a Kubernetes Event on the
 * object. An unfinished one is deleted only with {@code guard.orphans.delete-unfinished}.
 */
@ApplicationScoped
public class OrphanSweep {
    private static final Logger LOG = Logger.getLogger(OrphanSweep.class);
    static final String GAUGE = "guard.orphaned.objects";
    static final String DELETED = "guard.orphaned.objects.deleted";

    private final ExportJobs jobs;
    private final Leadership leader;
    private final GuardObjects objects;
    private final KubernetesEventRecorder events;
    private final GuardConfig.Orphans config;
    private final SerialWorker worker = new SerialWorker("orphan-sweep");
    /** Orphans of the last sweep left in place, by kind; read by the metric. */
    private final Map<Orphans.Kind, Integer> found = new ConcurrentHashMap<>();
    private final Map<Orphans.Kind, Counter> deleted = new EnumMap<>(Orphans.Kind.class);
    /** Orphans already logged by this run: each is logged once, not at every sweep. */
    private final Set<String> logged = ConcurrentHashMap.newKeySet();

    public OrphanSweep(ExportJobs jobs, Leadership leader, GuardObjects objects, KubernetesEventRecorder events,
                       GuardConfig config, MeterRegistry registry) {
        this.jobs = jobs;
        this.leader = leader;
        this.objects = objects;
        this.events = events;
        this.config = config.orphans();
        // meters left by an earlier start in the same JVM (tests start the guard again) would read their old owner
        for (String name : new String[] {GAUGE, DELETED}) {
            registry.find(name).meters().forEach(registry::remove);
        }
        for (Orphans.Kind kind : Orphans.Kind.values()) {
            found.put(kind, 0);
            Gauge.builder(GAUGE, () -> found.get(kind)).tag("kind", kind.label())
                    .description("Objects carrying the guard's labels that belong to no active export, left in place"
                            + " by the last sweep").register(registry);
            deleted.put(kind, Counter.builder(DELETED).tag("kind", kind.label())
                    .description("Unfinished orphaned objects the sweep deleted").register(registry));
        }
    }

    void start(@Observes StartupEvent ignored) {
        worker.every(config.sweepInterval(), "looking for orphaned objects", this::sweepIfLeader);
    }

    /** Before the lifecycle lets the leader lock go: no sweep takes it again on the way out. */
    void stop(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent ignored) {
        worker.close();
    }

    private void sweepIfLeader() {
        if (leader.lead()) {
            sweep();
        }
    }

    /** One sweep: the objects are listed before the jobs are read, so that no job is missed for an object. */
    void sweep() {
        List<Orphans.GuardObject> labelled;
        try {
            labelled = objects.list();
        } catch (ClusterAccessException e) {
            LOG.warnf("looking for orphaned objects: %s; trying again in %s", e.getMessage(), config.sweepInterval());
            return;
        }
        Set<String> requestIds = labelled.stream().map(Orphans.GuardObject::requestId).filter(Objects::nonNull)
                .collect(Collectors.toSet());
        Map<String, Orphans.Job> known = jobs.ofRequests(requestIds).stream().map(OrphanSweep::facts)
                .collect(Collectors.toMap(Orphans.Job::requestId, Function.identity()));
        List<Orphans.Orphan> orphans = Orphans.find(labelled, known, config.deleteUnfinished());
        Map<Orphans.Kind, Integer> left = new EnumMap<>(Orphans.Kind.class);
        Set<String> seen = new HashSet<>();
        for (Orphans.Orphan orphan : orphans) {
            Orphans.GuardObject o = orphan.object();
            String key = o.kind() + " " + o.namespace() + "/" + o.name();
            seen.add(key);
            if (orphan.delete() && delete(orphan)) {
                continue;
            }
            left.merge(o.kind(), 1, Integer::sum);
            if (logged.add(key)) {
                LOG.warnf("orphaned %s %s/%s of request %s: %s; %s", o.kind().kubernetesKind(), o.namespace(),
                        o.name(), o.requestId(), orphan.why(), o.finished() ? "finished, kept"
                                : config.deleteUnfinished() ? "not deleted yet" : "unfinished, kept"
                                + " (guard.orphans.delete-unfinished=false)");
                events.recordOrphan(o, "ExportObjectOrphaned", message(orphan) + (o.finished()
                        ? " It is finished, so the guard keeps it: delete it if nobody needs it."
                        : " It is not finished; the guard keeps it unless guard.orphans.delete-unfinished is set."));
            }
        }
        logged.retainAll(seen);
        for (Orphans.Kind kind : Orphans.Kind.values()) {
            found.put(kind, left.getOrDefault(kind, 0));
        }
    }

    /** True once the unfinished orphan is deleted; false when the API server did not let it be (tried again later). */
    private boolean delete(Orphans.Orphan orphan) {
        Orphans.GuardObject o = orphan.object();
        try {
            objects.delete(o);
        } catch (ClusterAccessException e) {
            LOG.warnf("orphaned %s %s/%s of request %s could not be deleted: %s", o.kind().kubernetesKind(),
                    o.namespace(), o.name(), o.requestId(), e.getMessage());
            return false;
        }
        deleted.get(o.kind()).increment();
        LOG.warnf("orphaned %s %s/%s of request %s: %s; unfinished, deleted", o.kind().kubernetesKind(), o.namespace(),
                o.name(), o.requestId(), orphan.why());
        events.recordOrphan(o, "ExportObjectOrphanDeleted", message(orphan)
                + " It was not finished, and guard.orphans.delete-unfinished is set: the guard deleted it.");
        return true;
    }

    private static String message(Orphans.Orphan orphan) {
        Orphans.GuardObject o = orphan.object();
        return "VM Export Guard made this " + o.kind().kubernetesKind() + " (request " + o.requestId()
                + "), but no active export follows it: " + orphan.why() + ".";
    }

    private static Orphans.Job facts(ExportJob job) {
        return new Orphans.Job(job.requestId, job.namespace, job.state == ExportJob.State.ENDED, job.outcome,
                job.imageName, job.backups == null ? List.of() : List.copyOf(job.backups), job.backupsReady);
    }
}
