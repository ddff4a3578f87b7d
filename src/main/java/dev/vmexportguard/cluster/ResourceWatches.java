package dev.vmexportguard.cluster;

import dev.vmexportguard.cluster.ProjectedCluster.Kind;
import dev.vmexportguard.decision.ClusterSnapshot;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.ReducedStateItemStore;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import org.jboss.logging.Logger;

/**
 * Watches, on every replica, what decisions and running exports depend on, in every namespace: claims, VMs, VMIs,
 * pods and images (fabric8 informers, which list once, then watch, and list again when a watch cannot go on).
 * <p>
 * What they show is kept as the decision rules' plain values ({@link ProjectedCluster}); the informers themselves keep
 * only each object's name and resourceVersion, so memory grows with the objects a decision can need, not with the
 * size of a pod's spec. A decision may be taken from it ({@link #decisionView}) only while every watch is up; and
 * only a refusal may be final: whatever acts (an export started, a VM stopped, an image admitted) reads the API
 * server afresh first.
 * <p>
 * The listener (the export lifecycle) is told the namespace of each VM, VMI, pod or guard image added, changed or
 * deleted, and every pod or VMI that mounts volumes, so that one that comes and goes between two full checks is
 * still seen.
 */
@ApplicationScoped
public class ResourceWatches {
    private static final Logger LOG = Logger.getLogger(ResourceWatches.class);

    private final KubernetesClient client;
    private final Clock clock;
    private final ProjectedCluster seen = new ProjectedCluster();
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private volatile Listener listener = Listener.NONE;
    private boolean started;

    public ResourceWatches(KubernetesClient client, Clock clock) {
        this.client = client;
        this.clock = clock;
    }

    /** What the watches tell, from the informers' threads. */
    public interface Listener {
        Listener NONE = new Listener() {
            @Override
            public void changed(String namespace) {
            }

            @Override
            public void mounted(String namespace, String what, Set<String> claims, Instant createdAt) {
            }
        };

        /** Something an export depends on changed in {@code namespace}. */
        void changed(String namespace);

        /**
         * A pod or VMI that is not over mounts {@code claims}: told on every change, so that one that comes and
         * goes between two looks is still seen.
         */
        void mounted(String namespace, String what, Set<String> claims, Instant createdAt);
    }

    /** Starts the watches (once), telling {@code listener} what they see; the first listing runs in the background. */
    public synchronized void start(Listener listener) {
        this.listener = Objects.requireNonNull(listener);
        if (started) {
            return;
        }
        started = true;
        watch("persistentvolumeclaims", client.persistentVolumeClaims().inAnyNamespace(), Kind.VOLUME, (pvc, volume) -> {
        });
        watch("virtualmachines", client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inAnyNamespace(),
                Kind.VM, (vm, seenVm) -> this.listener.changed(vm.getMetadata().getNamespace()));
        watch("virtualmachineinstances",
                client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_INSTANCE).inAnyNamespace(),
                Kind.VMI, (resource, projected) -> {
                    ClusterSnapshot.Vmi vmi = (ClusterSnapshot.Vmi) projected;
                    if (!vmi.isFinal() && !vmi.claimNames().isEmpty()) {
                        this.listener.mounted(resource.getMetadata().getNamespace(), "VMI " + vmi.name(),
                                vmi.claimNames(), vmi.createdAt());
                    }
                    this.listener.changed(resource.getMetadata().getNamespace());
                });
        watch("pods", client.pods().inAnyNamespace(), Kind.POD, (resource, projected) -> {
            ClusterSnapshot.Pod pod = (ClusterSnapshot.Pod) projected;
            if (!pod.isTerminated() && !pod.claimNames().isEmpty()) {
                this.listener.mounted(resource.getMetadata().getNamespace(), "pod " + pod.name(), pod.claimNames(),
                        pod.createdAt());
            }
        });
        watch("virtualmachineimages",
                client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE).inAnyNamespace(),
                Kind.IMAGE, (image, projected) -> {
                    Map<String, String> labels = image.getMetadata().getLabels();
                    if (labels != null && KubernetesResources.MANAGED_BY_VALUE.equals(
                            labels.get(KubernetesResources.LABEL_MANAGED_BY))) {
                        this.listener.changed(image.getMetadata().getNamespace());
                    }
                });
    }

    /** Stops the watches and forgets what they showed. */
    public synchronized void close() {
        informers.forEach(SharedIndexInformer::close);
        informers.clear();
        listener = Listener.NONE;
        started = false;
    }

    /** True while every watch has listed and is watching: only then does it show the cluster as it is, give or take the watch's delay. */
    public boolean watching() {
        List<SharedIndexInformer<?>> current;
        synchronized (this) {
            if (!started) {
                return false;
            }
            current = List.copyOf(informers);
        }
        return current.size() == Kind.values().length && current.stream().allMatch(i -> i.hasSynced() && i.isWatching());
    }

    /**
     * What deciding a request for {@code volumeName} (or the one volume of VM {@code vmName}) in {@code namespace}
     * needs, as the watches show it; null while they cannot be trusted to (not all listed yet, or one not watching).
     */
    public ClusterSnapshot decisionView(String namespace, String volumeName, String vmName) {
        return watching() ? seen.scoped(namespace, volumeName, vmName, clock.instant()) : null;
    }

    /**
     * Takes an object as a watch shows it: what the informers' handlers do with each object they are told of. An
     * older state of an object given here (as a watch that lags behind would) is what decisions see until the next.
     */
    public void seen(HasMetadata object) {
        Kind kind = kindOf(object);
        seen.put(kind, object.getMetadata().getNamespace(), project(kind, object));
    }

    /** Forgets an object, as the informers' handlers do when a watch tells that it was deleted. */
    public void gone(HasMetadata object) {
        seen.remove(kindOf(object), object.getMetadata().getNamespace(), object.getMetadata().getName());
    }

    private static Kind kindOf(HasMetadata object) {
        if (object instanceof PersistentVolumeClaim) {
            return Kind.VOLUME;
        }
        if (object instanceof Pod) {
            return Kind.POD;
        }
        return switch (object.getKind()) {
            case "VirtualMachine" -> Kind.VM;
            case "VirtualMachineInstance" -> Kind.VMI;
            case "VirtualMachineImage" -> Kind.IMAGE;
            default -> throw new IllegalArgumentException("not watched: " + object.getKind());
        };
    }

    private static Object project(Kind kind, HasMetadata object) {
        return switch (kind) {
            case VOLUME -> ClusterReader.volume((PersistentVolumeClaim) object);
            case VM -> ClusterReader.vm((GenericKubernetesResource) object);
            case VMI -> ClusterReader.vmi((GenericKubernetesResource) object);
            case POD -> ClusterReader.pod((Pod) object);
            case IMAGE -> ClusterReader.image((GenericKubernetesResource) object);
        };
    }

    /**
     * One informer over every namespace: keeps the rules' value of each object of the {@code kind} in {@link #seen},
     * then hands the object and that value to {@code then}. The informer's own store keeps only names and
     * resourceVersions.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private <T extends HasMetadata> void watch(String what, Informable<T> resources, Kind kind,
                                               BiConsumer<HasMetadata, Object> then) {
        SharedIndexInformer<T> informer = resources.runnableInformer(0);
        informer.removeNamespaceIndex();
        informer.itemStore(new ReducedStateItemStore(ReducedStateItemStore.NAME_KEY_STATE, informer.getApiTypeClass(),
                client.getKubernetesSerialization()));
        informer.addEventHandler(new ResourceEventHandler<T>() {
            @Override
            public void onAdd(T object) {
                took(object);
            }

            @Override
            public void onUpdate(T before, T after) {
                took(after);
            }

            @Override
            public void onDelete(T object, boolean finalStateUnknown) {
                seen.remove(kind, object.getMetadata().getNamespace(), object.getMetadata().getName());
                if (kind != Kind.POD) {
                    listener.changed(object.getMetadata().getNamespace());
                }
            }

            private void took(T object) {
                Object projected = project(kind, object);
                seen.put(kind, object.getMetadata().getNamespace(), projected);
                then.accept(object, projected);
            }
        });
        informer.start().whenComplete((ignored, failure) -> {
            if (failure != null) {
                LOG.warnf("cannot watch %s (%s); decisions read the API server, and running exports are followed by "
                        + "the regular full check only", what, failure.getMessage());
            }
        });
        informers.add(informer);
    }
}
