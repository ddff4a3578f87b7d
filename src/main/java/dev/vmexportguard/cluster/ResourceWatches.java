package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.ClusterSnapshot;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Watches what running exports depend on: the guard's images, and every VM, VMI and pod; tells the namespace of
 * each one added, changed or deleted, and every pod or VMI that mounts volumes, so that one that comes and goes
 * between two full checks is still seen.
 */
@ApplicationScoped
public class ResourceWatches {
    private static final Logger LOG = Logger.getLogger(ResourceWatches.class);

    private final KubernetesClient client;
    private final List<SharedIndexInformer<GenericKubernetesResource>> informers = new ArrayList<>();
    private SharedIndexInformer<Pod> pods;

    public ResourceWatches(KubernetesClient client) {
        this.client = client;
    }

    /** What the watches tell, from the informers' threads. */
    public interface Listener {
        /** Something an export depends on changed in {@code namespace}. */
        void changed(String namespace);

        /**
         * A pod or VMI that is not over mounts {@code claims}: told on every change, so that one that comes and
         * goes between two looks is still seen.
         */
        void mounted(String namespace, String what, Set<String> claims, Instant createdAt);
    }

    /** Starts the watches. */
    public synchronized void start(Listener listener) {
        Consumer<String> changed = listener::changed;
        watch(KubernetesResources.VIRTUAL_MACHINE_IMAGE,
                Map.of(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE), changed);
        watch(KubernetesResources.VIRTUAL_MACHINE, Map.of(), changed);
        watch(KubernetesResources.VIRTUAL_MACHINE_INSTANCE, Map.of(), changed, resource -> {
            ClusterSnapshot.Vmi vmi = ClusterReader.vmi(resource);
            if (!vmi.isFinal() && !vmi.claimNames().isEmpty()) {
                listener.mounted(resource.getMetadata().getNamespace(), "VMI " + vmi.name(), vmi.claimNames(),
                        vmi.createdAt());
            }
        });
        try {
            pods = client.pods().inAnyNamespace().inform(new ResourceEventHandler<>() {
                @Override
                public void onAdd(Pod pod) {
                    mounted(pod);
                }

                @Override
                public void onUpdate(Pod before, Pod after) {
                    mounted(after);
                }

                @Override
                public void onDelete(Pod pod, boolean finalStateUnknown) {
                }

                private void mounted(Pod resource) {
                    ClusterSnapshot.Pod pod = ClusterReader.pod(resource);
                    if (!pod.isTerminated() && !pod.claimNames().isEmpty()) {
                        listener.mounted(resource.getMetadata().getNamespace(), "pod " + pod.name(), pod.claimNames(),
                                pod.createdAt());
                    }
                }
            }, 0);
        } catch (RuntimeException e) {
            LOG.warnf("cannot watch pods (%s); a pod that mounts a volume between two looks can go unseen",
                    e.getMessage());
        }
    }

    public synchronized void close() {
        informers.forEach(SharedIndexInformer::close);
        informers.clear();
        if (pods != null) {
            pods.close();
            pods = null;
        }
    }

    private void watch(ResourceDefinitionContext type, Map<String, String> labels, Consumer<String> changed) {
        watch(type, labels, changed, resource -> {
        });
    }

    /** {@code seen} gets each object added or changed, before {@code changed} its namespace. */
    private void watch(ResourceDefinitionContext type, Map<String, String> labels, Consumer<String> changed,
                       Consumer<GenericKubernetesResource> seen) {
        try {
            var resources = client.genericKubernetesResources(type).inAnyNamespace();
            var informer = (labels.isEmpty() ? resources : resources.withLabels(labels)).inform(new ResourceEventHandler<>() {
                @Override
                public void onAdd(GenericKubernetesResource resource) {
                    seen.accept(resource);
                    changed.accept(resource.getMetadata().getNamespace());
                }

                @Override
                public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource after) {
                    seen.accept(after);
                    changed.accept(after.getMetadata().getNamespace());
                }

                @Override
                public void onDelete(GenericKubernetesResource resource, boolean finalStateUnknown) {
                    changed.accept(resource.getMetadata().getNamespace());
                }
            }, 0);
            informers.add(informer);
        } catch (RuntimeException e) {
            LOG.warnf("cannot watch %s (%s); running exports are followed by the regular full check only",
                    type.getPlural(), e.getMessage());
        }
    }
}
