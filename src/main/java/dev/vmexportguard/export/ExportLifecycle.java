package dev.vmexportguard.export;

import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.messaging.EventOutbox;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Owns every accepted export until it ends. One thread, on the replica that holds the leader lock, does all of it:
 * gives waiting exports a slot (at most {@code guard.exports.max-concurrent}), starts them, follows running ones
 * when their image or a VM of their namespace changes (watches) and on a regular full check, and finishes ending
 * ones. On start it picks up whatever a previous run left: the state is in the database, not in memory.
 */
@ApplicationScoped
public class ExportLifecycle {
    private static final Logger LOG = Logger.getLogger(ExportLifecycle.class);

    private final ExportJobs jobs;
    private final ExportStarter starter;
    private final ExportFollower follower;
    private final ExportEnding ending;
    private final EventOutbox outbox;
    private final LeaderLock leader;
    private final KubernetesClient client;
    private final GuardConfig.Exports config;
    private final Clock clock;
    private final AtomicBoolean dispatchScheduled = new AtomicBoolean();
    private final AtomicBoolean changesScheduled = new AtomicBoolean();
    private final Set<String> changedNamespaces = ConcurrentHashMap.newKeySet();
    private final List<SharedIndexInformer<GenericKubernetesResource>> informers = new ArrayList<>();
    private ScheduledExecutorService worker;

    public ExportLifecycle(ExportJobs jobs, ExportStarter starter, ExportFollower follower, ExportEnding ending,
                           EventOutbox outbox, LeaderLock leader, KubernetesClient client, GuardConfig config,
                           Clock clock) {
        this.jobs = jobs;
        this.starter = starter;
        this.follower = follower;
        this.ending = ending;
        this.outbox = outbox;
        this.leader = leader;
        this.client = client;
        this.config = config.exports();
        this.clock = clock;
    }

    void start(@Observes StartupEvent ignored) {
        worker = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "export-lifecycle"));
        worker.scheduleWithFixedDelay(this::dispatchSafely, 0, config.dispatchInterval().toMillis(), TimeUnit.MILLISECONDS);
        worker.scheduleWithFixedDelay(this::resyncSafely, 0, config.resyncInterval().toMillis(), TimeUnit.MILLISECONDS);
        watch(KubernetesResources.VIRTUAL_MACHINE_IMAGE, Map.of(KubernetesResources.LABEL_MANAGED_BY,
                KubernetesResources.MANAGED_BY_VALUE));
        watch(KubernetesResources.VIRTUAL_MACHINE, Map.of());
        watch(KubernetesResources.VIRTUAL_MACHINE_INSTANCE, Map.of());
    }

    void stop(@Observes ShutdownEvent ignored) {
        informers.forEach(SharedIndexInformer::close);
        if (worker != null) {
            worker.shutdown();
            try {
                worker.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        leader.close();
    }

    /** Looks at waiting exports now: a request was accepted or an export ended. */
    public void wake() {
        if (worker != null && !worker.isShutdown() && dispatchScheduled.compareAndSet(false, true)) {
            worker.execute(() -> {
                dispatchScheduled.set(false);
                dispatchSafely();
            });
        }
    }

    private void watch(io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext type, Map<String, String> labels) {
        try {
            var resources = client.genericKubernetesResources(type).inAnyNamespace();
            var informer = (labels.isEmpty() ? resources : resources.withLabels(labels)).inform(new ResourceEventHandler<>() {
                @Override
                public void onAdd(GenericKubernetesResource resource) {
                    changed(resource);
                }

                @Override
                public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource after) {
                    changed(after);
                }

                @Override
                public void onDelete(GenericKubernetesResource resource, boolean finalStateUnknown) {
                    changed(resource);
                }
            }, 0);
            informers.add(informer);
        } catch (RuntimeException e) {
            // the regular full check still follows every export; the watch only makes it prompt
            LOG.warnf("cannot watch %s (%s); running exports are checked every %s", type.getPlural(), e.getMessage(),
                    config.resyncInterval());
        }
    }

    /**
     * An image, VM or VMI changed: the running and stopping exports of its namespace are looked at. Changes are
     * gathered by namespace and handled in one pass, so that a burst of them (or the informers' first listing at
     * start) costs one query, not one per object.
     */
    private void changed(GenericKubernetesResource resource) {
        changedNamespaces.add(resource.getMetadata().getNamespace());
        if (worker != null && !worker.isShutdown() && changesScheduled.compareAndSet(false, true)) {
            worker.execute(this::followChanges);
        }
    }

    private void followChanges() {
        changesScheduled.set(false);
        Set<String> namespaces = new HashSet<>(changedNamespaces);
        changedNamespaces.removeAll(namespaces);
        if (!namespaces.isEmpty() && leader.lead()) {
            guarded("following exports", () -> jobs.inStates(ExportJob.State.RUNNING, ExportJob.State.STOPPING).stream()
                    .filter(j -> namespaces.contains(j.namespace)).forEach(this::advance));
        }
    }

    private void dispatchSafely() {
        if (leader.lead()) {
            guarded("starting exports", this::dispatch);
        }
    }

    private void resyncSafely() {
        if (leader.lead()) {
            guarded("checking running exports", () -> jobs.inStates(ExportJob.State.RUNNING).forEach(this::advance));
        }
    }

    /** One step of a job, by its state; a slot freed wakes the dispatch. */
    private void advance(ExportJob job) {
        guarded("export " + job.requestId + " (" + job.state + ")", () -> {
            switch (job.state) {
                case STARTING -> starter.start(job);
                case STOPPING -> starter.continueStopping(job);
                case BACKING_UP -> starter.continueBackingUp(job);
                case RUNNING -> follower.follow(job);
                case ENDING -> ending.finish(job);
                default -> {
                }
            }
            if (job.state == ExportJob.State.ENDED) {
                wake();
            }
        });
    }

    void dispatch() {
        jobs.inStates(ExportJob.State.ENDING, ExportJob.State.STARTING, ExportJob.State.STOPPING,
                ExportJob.State.BACKING_UP).forEach(this::advance);
        List<ExportJob> waiting = jobs.inStates(ExportJob.State.PENDING, ExportJob.State.QUEUED);
        int position = 0;
        for (ExportJob job : waiting) {
            if (jobs.holdingSlots() < config.maxConcurrent()) {
                QuarkusTransaction.requiringNew().run(() -> {
                    job.state = ExportJob.State.STARTING;
                    jobs.save(job);
                });
                advance(job);
                continue;
            }
            position++;
            if (job.state == ExportJob.State.PENDING) {
                int queuePosition = position;
                QuarkusTransaction.requiringNew().run(() -> {
                    job.state = ExportJob.State.QUEUED;
                    jobs.save(job);
                    outbox.add(ResultEvent.of(JobContents.subject(job), EventType.QUEUED, null,
                            Messages.queued(job.namespace, job.volumeName, queuePosition, config.maxConcurrent()),
                            null, null, queuePosition, "queued", clock.instant()), job.source);
                });
            }
        }
    }

    private static void guarded(String what, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.warnf(e, "%s failed; trying again on the next round", what);
        }
    }
}
