package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.ClusterSnapshot;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * What the watches have shown of the cluster, kept as the decision rules' own plain values (never the API objects),
 * by namespace, with the VMs, VMIs and pods indexed by the claims they use. {@link #scoped} gives what deciding one
 * request needs: the volume, the VM the request names, every VM, VMI and pod that uses the volume, and the
 * namespace's images; its cost grows with the objects that use the volume, not with the namespace. Pods that mount
 * no claim are not kept. Safe for the watches' threads and the deciding threads at once.
 */
public final class ProjectedCluster {

    /** The kinds kept, with how each is named and which claims it uses. */
    public enum Kind { VOLUME, VM, VMI, POD, IMAGE }

    private final Map<String, Namespace> namespaces = new ConcurrentHashMap<>();

    /** Keeps {@code value} (a record of {@link ClusterSnapshot} of the {@code kind}) as the object's current state. */
    public void put(Kind kind, String namespace, Object value) {
        Namespace ns = namespaces.computeIfAbsent(namespace, n -> new Namespace());
        synchronized (ns) {
            switch (kind) {
                case VOLUME -> ns.volumes.put(((ClusterSnapshot.Volume) value).name(), (ClusterSnapshot.Volume) value);
                case VM -> ns.vms.put(((ClusterSnapshot.Vm) value).name(), (ClusterSnapshot.Vm) value);
                case VMI -> ns.vmis.put(((ClusterSnapshot.Vmi) value).name(), (ClusterSnapshot.Vmi) value);
                case POD -> {
                    ClusterSnapshot.Pod pod = (ClusterSnapshot.Pod) value;
                    if (pod.claimNames().isEmpty()) {
                        ns.pods.remove(pod.name());
                    } else {
                        ns.pods.put(pod.name(), pod);
                    }
                }
                case IMAGE -> ns.images.put(((ClusterSnapshot.Image) value).name(), (ClusterSnapshot.Image) value);
            }
        }
    }

    /** Forgets an object deleted (or no longer listed). */
    public void remove(Kind kind, String namespace, String name) {
        Namespace ns = namespaces.get(namespace);
        if (ns == null) {
            return;
        }
        synchronized (ns) {
            switch (kind) {
                case VOLUME -> ns.volumes.remove(name);
                case VM -> ns.vms.remove(name);
                case VMI -> ns.vmis.remove(name);
                case POD -> ns.pods.remove(name);
                case IMAGE -> ns.images.remove(name);
            }
        }
    }

    /**
     * What deciding a request for {@code volumeName} (null: the one VM {@code vmName} has) in {@code namespace}
     * needs, as a snapshot read at {@code readAt}: the same answer the rules give from the whole namespace.
     */
    public ClusterSnapshot scoped(String namespace, String volumeName, String vmName, Instant readAt) {
        Namespace ns = namespaces.get(namespace);
        if (ns == null) {
            return new ClusterSnapshot(namespace, List.of(), List.of(), List.of(), List.of(), List.of(), readAt);
        }
        synchronized (ns) {
            Set<String> claims = new LinkedHashSet<>();
            if (volumeName != null) {
                claims.add(volumeName);
            }
            Set<String> users = new HashSet<>();
            if (vmName != null) {
                users.add(vmName);
                Optional.ofNullable(ns.vms.get(vmName))
                        .ifPresent(vm -> vm.claims().forEach(c -> claims.add(c.claimName())));
            }
            Map<String, ClusterSnapshot.Pod> pods = new TreeMap<>();
            for (String claim : claims) {
                users.addAll(ns.vms.namesUsing(claim));
                users.addAll(ns.vmis.namesUsing(claim));
                ns.pods.using(claim).forEach(p -> pods.put(p.name(), p));
            }
            return new ClusterSnapshot(namespace,
                    present(claims.stream().map(ns.volumes::get).toList(), ClusterSnapshot.Volume::name),
                    present(users.stream().map(ns.vms::get).toList(), ClusterSnapshot.Vm::name),
                    present(users.stream().map(ns.vmis::get).toList(), ClusterSnapshot.Vmi::name),
                    List.copyOf(pods.values()),
                    present(ns.images.all(), ClusterSnapshot.Image::name),
                    readAt);
        }
    }

    /** The whole namespace, as a fresh read would list it (by name). */
    public ClusterSnapshot namespace(String namespace, Instant readAt) {
        Namespace ns = namespaces.get(namespace);
        if (ns == null) {
            return new ClusterSnapshot(namespace, List.of(), List.of(), List.of(), List.of(), List.of(), readAt);
        }
        synchronized (ns) {
            return new ClusterSnapshot(namespace,
                    present(ns.volumes.all(), ClusterSnapshot.Volume::name),
                    present(ns.vms.all(), ClusterSnapshot.Vm::name),
                    present(ns.vmis.all(), ClusterSnapshot.Vmi::name),
                    present(ns.pods.all(), ClusterSnapshot.Pod::name),
                    present(ns.images.all(), ClusterSnapshot.Image::name),
                    readAt);
        }
    }

    private static <T> List<T> present(Collection<T> values, Function<T, String> name) {
        List<T> list = new ArrayList<>();
        for (T value : values) {
            if (value != null) {
                list.add(value);
            }
        }
        list.sort(Comparator.comparing(name));
        return List.copyOf(list);
    }

    /** One namespace's objects; guarded by itself. */
    private static final class Namespace {
        final Indexed<ClusterSnapshot.Volume> volumes = new Indexed<>(v -> Set.of());
        final Indexed<ClusterSnapshot.Vm> vms = new Indexed<>(vm -> {
            Set<String> claims = new HashSet<>();
            vm.claims().forEach(c -> claims.add(c.claimName()));
            return claims;
        });
        final Indexed<ClusterSnapshot.Vmi> vmis = new Indexed<>(ClusterSnapshot.Vmi::claimNames);
        final Indexed<ClusterSnapshot.Pod> pods = new Indexed<>(ClusterSnapshot.Pod::claimNames);
        final Indexed<ClusterSnapshot.Image> images = new Indexed<>(i -> Set.of());
    }

    /** Objects of one kind by name, and the names of those using each claim. */
    private static final class Indexed<T> {
        private final Map<String, T> byName = new HashMap<>();
        private final Map<String, Set<String>> byClaim = new HashMap<>();
        private final Function<T, Set<String>> claimsOf;

        Indexed(Function<T, Set<String>> claimsOf) {
            this.claimsOf = claimsOf;
        }

        void put(String name, T value) {
            remove(name);
            byName.put(name, value);
            for (String claim : claimsOf.apply(value)) {
                byClaim.computeIfAbsent(claim, c -> new HashSet<>()).add(name);
            }
        }

        void remove(String name) {
            T before = byName.remove(name);
            if (before == null) {
                return;
            }
            for (String claim : claimsOf.apply(before)) {
                Set<String> names = byClaim.get(claim);
                if (names != null) {
                    names.remove(name);
                    if (names.isEmpty()) {
                        byClaim.remove(claim);
                    }
                }
            }
        }

        T get(String name) {
            return byName.get(name);
        }

        Set<String> namesUsing(String claim) {
            return byClaim.getOrDefault(claim, Set.of());
        }

        List<T> using(String claim) {
            return namesUsing(claim).stream().map(byName::get).toList();
        }

        Collection<T> all() {
            return byName.values();
        }
    }
}
