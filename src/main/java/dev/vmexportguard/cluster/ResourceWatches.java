package dev.vmexportguard.cluster;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Watches what running exports depend on: the guard's images, and every VM and VMI; tells the namespace of each
 * one added, changed or deleted. A watch only makes following prompt; the regular full check does not need it.
 */
@ApplicationScoped
public class ResourceWatches {
    private static final Logger LOG = Logger.getLogger(ResourceWatches.class);

    private final KubernetesClient client;
    private final List<SharedIndexInformer<GenericKubernetesResource>> informers = new ArrayList<>();

    public ResourceWatches(KubernetesClient client) {
        this.client = client;
    }

    /** Starts the watches; {@code changed} gets a namespace, from the informers' threads. */
    public synchronized void start(Consumer<String> changed) {
        watch(KubernetesResources.VIRTUAL_MACHINE_IMAGE,
                Map.of(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE), changed);
        watch(KubernetesResources.VIRTUAL_MACHINE, Map.of(), changed);
        watch(KubernetesResources.VIRTUAL_MACHINE_INSTANCE, Map.of(), changed);
    }

    public synchronized void close() {
        informers.forEach(SharedIndexInformer::close);
        informers.clear();
    }

    private void watch(ResourceDefinitionContext type, Map<String, String> labels, Consumer<String> changed) {
        try {
            var resources = client.genericKubernetesResources(type).inAnyNamespace();
            var informer = (labels.isEmpty() ? resources : resources.withLabels(labels)).inform(new ResourceEventHandler<>() {
                @Override
                public void onAdd(GenericKubernetesResource resource) {
                    changed.accept(resource.getMetadata().getNamespace());
                }

                @Override
                public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource after) {
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
