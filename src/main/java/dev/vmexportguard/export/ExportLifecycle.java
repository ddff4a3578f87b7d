package dev.vmexportguard.export;

import dev.vmexportguard.cluster.ResourceWatches;
import dev.vmexportguard.concurrent.KeyedTasks;
import dev.vmexportguard.concurrent.SerialWorker;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ResultEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.persistence.OptimisticLockException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

/**
 * Owns every accepted export until it ends. One thread, on the replica that leads ({@link Leadership}), gives waiting
 * exports a slot (at most {@code guard.exports.max-concurrent}), follows running ones when their image or a VM of
 * their namespace changes (watches) and on a regular full check, finishes ending ones, and starts again the VMs of
 * ended ones (restartAfter) once they are stopped. Starting an export (a fresh read of its namespace, the
 * requester's rights, the lock, the image) runs on threads of its own, {@code guard.exports.start-concurrency} at a
 * time, a namespace's starts one after another; a job being started is left alone by the lifecycle's thread until
 * its start step ends. On start it picks up whatever a previous run left: the state is in the database, not in
 * memory. Leadership is checked before each step, and each
 * write of a step is fenced by the leader epoch: a replica that lost the lease stops between two steps, and fails
 * the write that precedes any call to the cluster.
 */
@ApplicationScoped
public class ExportLifecycle {
    private static final Logger LOG = Logger.getLogger(ExportLifecycle.class);

    private final ExportJobs jobs;
    private final ExportSteps steps;
    private final Leadership leader;
    private final ResourceWatches watches;
    private final GuardConfig.Exports config;
    private final Clock clock;
    private final Set<String> changedNamespaces = ConcurrentHashMap.newKeySet();
    private final Queue<Mounting> seenMounting = new ConcurrentLinkedQueue<>();
    private final SerialWorker worker = new SerialWorker("export-lifecycle");
    private final KeyedTasks starts;
    /** The jobs handed to {@link #starts} whose start step has not ended. */
    private final Set<String> starting = ConcurrentHashMap.newKeySet();
    private final Runnable dispatchSoon = worker.trigger("starting exports", this::dispatchIfLeader);
    private final Runnable followChangesSoon = worker.trigger("following exports", this::followChanges);

    public ExportLifecycle(ExportJobs jobs, ExportSteps steps, Leadership leader, ResourceWatches watches,
                           GuardConfig config, Clock clock) {
        this.clock = clock;
        this.jobs = jobs;
        this.steps = steps;
        this.leader = leader;
        this.watches = watches;
        this.config = config.exports();
        this.starts = new KeyedTasks("export-start", this.config.startConcurrency(), Integer.MAX_VALUE);
    }

    void start(@Observes StartupEvent ignored) {
        leader.start();
        worker.every(config.dispatchInterval(), "starting exports", this::dispatchIfLeader);
        worker.every(config.resyncInterval(), "checking running exports", this::resync);
        watches.start(new ResourceWatches.Listener() {
            @Override
            public void changed(String namespace) {
                ExportLifecycle.this.changed(namespace);
            }

            @Override
            public void mounted(String namespace, String what, Set<String> claims, Instant createdAt) {
                seenMounting.add(new Mounting(namespace, what, claims, createdAt, clock.instant()));
                followChangesSoon.run();
            }
        });
    }

    void stop(@Observes ShutdownEvent ignored) {
        watches.close();
        worker.close();
        // a start cut short goes on after the next start of the guard: each of its steps is recorded first
        starts.close(Duration.ofSeconds(10));
        leader.close();
    }

    /** Looks at waiting exports now: a request was accepted or an export ended. */
    public void wake() {
        dispatchSoon.run();
    }

    /**
     * An image, VM or VMI of {@code namespace} changed: its running and stopping exports, and the ended ones waiting
     * to start a VM again, are looked at. Changes are
     * gathered by namespace and handled in one pass, so that a burst of them (or the informers' first listing at
     * start) costs one query, not one per object.
     */
    private void changed(String namespace) {
        changedNamespaces.add(namespace);
        followChangesSoon.run();
    }

    /** A pod or VMI a watch saw mounting volumes. */
    /** A pod or VMI a watch told of mounting {@code claims}, and when the guard was told ({@code toldAt}). */
    private record Mounting(String namespace, String what, Set<String> claims, Instant createdAt, Instant toldAt) {
    }

    private void followChanges() {
        List<Mounting> mountings = new ArrayList<>();
        for (Mounting m; (m = seenMounting.poll()) != null; ) {
            mountings.add(m);
        }
        if (!mountings.isEmpty() && leader.lead()) {
            noteUsesDuringCopy(mountings);
        }
        Set<String> namespaces = new HashSet<>(changedNamespaces);
        changedNamespaces.removeAll(namespaces);
        if (!namespaces.isEmpty() && leader.lead()) {
            jobs.inStates(ExportJob.State.RUNNING, ExportJob.State.STOPPING, ExportJob.State.RESTARTING).stream()
                    .filter(j -> namespaces.contains(j.namespace)).forEach(this::advance);
        }
    }

    /**
     * A running export whose volume a pod or VMI mounted is marked, the first time: the next look fails it even if
     * the pod is gone by then (unless it came after the image was ready). Only what the guard was told of from just
     * before the fresh read that let the copy start counts: an earlier event (a VMI still shutting down after a stop,
     * handled late) told of a state that read saw after it, and found the volume free.
     */
    private void noteUsesDuringCopy(List<Mounting> mountings) {
        for (ExportJob job : jobs.inStates(ExportJob.State.RUNNING)) {
            if (job.usedDuringCopy != null) {
                continue;
            }
            mountings.stream().filter(m -> m.namespace().equals(job.namespace) && m.claims().contains(job.volumeName)
                            && (job.usesCountFrom == null || !m.toldAt().isBefore(job.usesCountFrom)))
                    .findFirst().ifPresent(m -> {
                        LOG.warnf("export %s: %s mounted volume %s/%s during the copy", job.requestId, m.what(),
                                job.namespace, job.volumeName);
                        jobs.update(job, j -> {
                            j.usedDuringCopy = m.what();
                            j.usedDuringCopyAt = m.createdAt();
                        });
                        changedNamespaces.add(job.namespace);
                    });
        }
    }

    private void resync() {
        if (leader.lead()) {
            jobs.inStates(ExportJob.State.RUNNING).forEach(this::advance);
        }
    }

    private void dispatchIfLeader() {
        if (leader.lead()) {
            try {
                dispatch();
            } catch (Leadership.NotLeaderException | OptimisticLockException e) {
                LOG.warnf("waiting exports left to the leader: %s", e.getMessage());
            }
        }
    }

    /** One step of a job, unless it is being started; see {@link #step}. */
    private void advance(ExportJob job) {
        if (!starting.contains(job.requestId)) {
            step(job);
        }
    }

    /** Hands a job in state STARTING to the starting threads, unless it is there already. */
    private void startSoon(ExportJob job) {
        if (!starting.add(job.requestId)) {
            return;
        }
        starts.submit(job.namespace, Set.of(job.namespace), () -> {
            try {
                step(job);
            } finally {
                starting.remove(job.requestId);
            }
        });
    }

    /** One step of a job; one that fails is tried again on the next round; a slot freed wakes the dispatch. */
    private void step(ExportJob job) {
        if (!leader.lead()) {
            return;
        }
        ExportJob.State before = job.state;
        // every line logged by a step of the job names its request
        MDC.put("requestId", job.requestId);
        MDC.put("namespace", job.namespace);
        if (job.volumeName != null) {
            MDC.put("volume", job.volumeName);
        }
        try {
            steps.advance(job);
        } catch (Leadership.NotLeaderException e) {
            LOG.warnf("export %s (%s) left to the leader: %s", job.requestId, job.state, e.getMessage());
            return;
        } catch (OptimisticLockException e) {
            // this replica still leads: the job was loaded before a step here moved it on (a start that ended on a
            // starting thread while the list was read); the next round looks at it as it is now
            LOG.debugf("export %s (%s) moved on since it was loaded: %s", job.requestId, job.state, e.getMessage());
            return;
        } catch (RuntimeException e) {
            LOG.warnf(e, "export %s (%s) failed; trying again on the next round", job.requestId, job.state);
        } finally {
            MDC.remove("requestId");
            MDC.remove("namespace");
            MDC.remove("volume");
        }
        // not on every look at a job that keeps waiting (RESTARTING): that would wake the dispatch in a loop
        if ((before.holdsSlot() && !job.state.holdsSlot())
                || (job.state == ExportJob.State.ENDED && before != ExportJob.State.ENDED)) {
            wake();
        }
    }

    void dispatch() {
        jobs.inStates(ExportJob.State.ENDING, ExportJob.State.STARTING, ExportJob.State.STOPPING,
                ExportJob.State.BACKING_UP, ExportJob.State.RESTARTING).forEach(job -> {
                    if (job.state == ExportJob.State.STARTING) {
                        startSoon(job);
                    } else {
                        advance(job);
                    }
                });
        List<ExportJob> waiting = jobs.inStates(ExportJob.State.PENDING, ExportJob.State.QUEUED);
        int position = 0;
        for (ExportJob job : waiting) {
            if (!leader.lead()) {
                return;
            }
            if (jobs.holdingSlots() < config.maxConcurrent()) {
                jobs.advance(job, ExportJob.State.STARTING);
                startSoon(job);
                continue;
            }
            position++;
            if (job.state == ExportJob.State.PENDING) {
                jobs.advance(job, ExportJob.State.QUEUED, ResultEvent.of(EventType.QUEUED, "queued")
                        .message(Messages.queued(job.namespace, job.volumeName, position, config.maxConcurrent()))
                        .queuePosition(position));
            }
        }
    }
}
