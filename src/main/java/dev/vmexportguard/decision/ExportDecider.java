package dev.vmexportguard.decision;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The decision rules: which volume a request means, which VMs use it, and whether its disk can be read safely.
 * Fails closed: a VM whose state is missing or unknown counts as running.
 */
public final class ExportDecider {

    private ExportDecider() {
    }

    public static Decision decide(ExportRequest request, ClusterSnapshot cluster, Instant now) {
        Optional<ClusterSnapshot.Image> adopted = cluster.image(ImagePlan.imageName(request.requestId()))
                .filter(image -> request.requestId().equals(image.requestId()));

        Resolution resolution = resolve(request, cluster);
        ClusterSnapshot.Volume volume = resolution.volume;
        String volumeName = volume != null ? volume.name() : resolution.claim;
        List<String> users = usersOf(volumeName, cluster);
        String vmName = request.vmName() != null ? request.vmName() : users.size() == 1 ? users.get(0) : null;
        Evidence evidence = evidence(volume, volumeName, users, cluster);
        if (resolution.refusal != null) {
            return new Decision.Rejected(resolution.refusal, resolution.message, evidence, vmName, volumeName);
        }

        if (adopted.isPresent()) {
            // the export already started (a redelivery, or a start resumed after a crash): keep its image
            ImagePlan planned = ImagePlan.of(request, volume, now);
            ImagePlan plan = new ImagePlan(planned.namespace(), adopted.get().name(), adopted.get().displayName(),
                    planned.pvcName(), planned.storageClassName(), planned.requestId(), planned.requestHash(),
                    planned.requestedBy());
            return new Decision.Approved(plan, evidence, vmName, volumeName, true, null);
        }

        Optional<Decision.Rejected> unsafe = powerStateRefusal(request.namespace(), volumeName, vmName, evidence, cluster);
        Decision.StopFirst stopFirst = null;
        if (unsafe.isPresent()) {
            List<String> bareVmis = evidence.vms().stream()
                    .filter(v -> cluster.vm(v.name()).isEmpty() && !safelyStopped(Optional.empty(), cluster.vmi(v.name())))
                    .map(Evidence.VmSeen::name).toList();
            // a VMI without a VirtualMachine cannot be stopped through KubeVirt's stop subresource
            if (request.onRunning() != ExportRequest.OnRunning.STOP || !bareVmis.isEmpty()) {
                return unsafe.get();
            }
            stopFirst = new Decision.StopFirst(evidence.vms().stream()
                    .filter(v -> cluster.vm(v.name()).isPresent()
                            && !safelyStopped(cluster.vm(v.name()), cluster.vmi(v.name())))
                    .map(Evidence.VmSeen::name).toList());
        }

        ImagePlan plan = ImagePlan.of(request, volume, now);
        Optional<ClusterSnapshot.Image> sameName = cluster.images().stream()
                .filter(i -> plan.displayName().equals(i.displayName()))
                .findFirst();
        if (sameName.isPresent()) {
            return new Decision.Rejected(ReasonCode.IMAGE_NAME_TAKEN,
                    Messages.imageNameTaken(request.namespace(), plan.displayName(), sameName.get().name()),
                    evidence, vmName, volumeName);
        }
        return new Decision.Approved(plan, evidence, vmName, volumeName, false, stopFirst);
    }

    /**
     * Whether a decision taken on what the watches show (a view that may lag behind the API server by a moment)
     * stands: an acceptance does, since the export is decided again on a fresh read before anything is stopped or
     * created; so does a refusal because something uses the volume or the image's name is taken, which a retry
     * fixes once that is over. A refusal because something is missing or not ready (a VM, volume or claim created a
     * moment ago) does not: it is decided again on a fresh read.
     */
    public static boolean standsOnWatchedState(Decision decision) {
        return !(decision instanceof Decision.Rejected rejected) || switch (rejected.reason()) {
            case VM_RUNNING, VOLUME_IN_USE, IMAGE_NAME_TAKEN -> true;
            default -> false;
        };
    }

    /**
     * The power-state check alone, for a volume already resolved: empty when every VM using it is safely stopped
     * and no pod mounts it. Used again while an export runs, since a VM can be started at any moment.
     */
    public static Optional<Decision.Rejected> recheck(String namespace, String volumeName, ClusterSnapshot cluster) {
        List<String> users = usersOf(volumeName, cluster);
        Evidence evidence = evidence(cluster.volume(volumeName).orElse(null), volumeName, users, cluster);
        return powerStateRefusal(namespace, volumeName, users.size() == 1 ? users.get(0) : null, evidence, cluster);
    }

    /**
     * What the admission webhook answers for an image that exports {@code volumeName} of {@code namespace}, started
     * outside the guard (Harvester's UI, kubectl): the rules of a request with onRunning REJECT for that volume. The
     * refusal, or none with what was seen.
     */
    public static Admission admit(String namespace, String volumeName, ClusterSnapshot cluster) {
        ExportRequest asked = new ExportRequest(null, namespace, null, volumeName, null, null, null,
                ExportRequest.OnRunning.REJECT, false, null, null, null, false, null, List.of(), null);
        Resolution resolution = resolve(asked, cluster);
        List<String> users = usersOf(volumeName, cluster);
        String vmName = users.size() == 1 ? users.get(0) : null;
        Evidence evidence = evidence(resolution.volume, volumeName, users, cluster);
        Decision.Rejected refusal = resolution.refusal != null
                ? new Decision.Rejected(resolution.refusal, resolution.message, evidence, vmName, volumeName)
                : powerStateRefusal(namespace, volumeName, vmName, evidence, cluster).orElse(null);
        return new Admission(refusal, evidence, vmName);
    }

    /** The webhook's answer: {@code refusal} null when the export may run; {@code observed} what it was decided on. */
    public record Admission(Decision.Rejected refusal, Evidence observed, String vmName) {
        public boolean allowed() {
            return refusal == null;
        }
    }

    /**
     * Since when the volume is in use: the earliest creation of a live VMI of a VM using it, or of a pod still
     * mounting it. Empty when nothing uses it; {@link Instant#MIN} when a user's creation time is unknown.
     */
    public static Optional<Instant> inUseSince(String volumeName, ClusterSnapshot cluster) {
        List<Instant> since = new ArrayList<>();
        for (String user : usersOf(volumeName, cluster)) {
            cluster.vmi(user).filter(vmi -> !vmi.isFinal())
                    .ifPresent(vmi -> since.add(vmi.createdAt() == null ? Instant.MIN : vmi.createdAt()));
        }
        cluster.pods().stream().filter(p -> p.claimNames().contains(volumeName) && !p.isTerminated())
                .forEach(p -> since.add(p.createdAt() == null ? Instant.MIN : p.createdAt()));
        return since.stream().min(Instant::compareTo);
    }

    private static Optional<Decision.Rejected> powerStateRefusal(String namespace, String volumeName, String vmName,
                                                                 Evidence evidence, ClusterSnapshot cluster) {
        List<String> unsafeVms = new ArrayList<>();
        for (Evidence.VmSeen seen : evidence.vms()) {
            if (!safelyStopped(cluster.vm(seen.name()), cluster.vmi(seen.name()))) {
                unsafeVms.add(Messages.describe(seen));
            }
        }
        if (!unsafeVms.isEmpty()) {
            return Optional.of(new Decision.Rejected(ReasonCode.VM_RUNNING,
                    Messages.vmRunning(namespace, unsafeVms, volumeName), evidence, vmName, volumeName));
        }
        List<String> busyPods = evidence.pods().stream()
                .filter(p -> !isTerminated(p.phase()))
                .map(Messages::describe)
                .toList();
        if (!busyPods.isEmpty()) {
            return Optional.of(new Decision.Rejected(ReasonCode.VOLUME_IN_USE,
                    Messages.volumeInUse(namespace, busyPods, volumeName), evidence, vmName, volumeName));
        }
        return Optional.empty();
    }

    /**
     * Safe: printableStatus Stopped (a VM without status is not) and a runStrategy other than Always (with Always,
     * KubeVirt starts it again at once), and no VMI or only one in a final phase. A VM whose strategy is
     * RerunOnFailure and whose VMI failed is not stopped either: KubeVirt shows it Stopped (its VMI is final) but
     * starts it again by itself, nor is a VM with a start request pending on its status: KubeVirt shows it Stopped
     * while it waits out its start back-off, then starts it. A bare VMI without a VirtualMachine is judged by its phase
     * alone.
     */
    static boolean safelyStopped(Optional<ClusterSnapshot.Vm> vm, Optional<ClusterSnapshot.Vmi> vmi) {
        boolean restartsFailedVmi = vm.map(v -> "RerunOnFailure".equals(v.runStrategy())).orElse(false)
                && vmi.map(i -> "Failed".equals(i.phase())).orElse(false);
        boolean vmStopped = !restartsFailedVmi && vm.map(v -> ClusterSnapshot.STATUS_STOPPED.equals(v.printableStatus())
                && !v.startPending() && !ClusterSnapshot.RUN_STRATEGY_ALWAYS.equals(v.runStrategy())).orElse(true);
        boolean noLiveVmi = vmi.map(ClusterSnapshot.Vmi::isFinal).orElse(true);
        return vmStopped && noLiveVmi;
    }

    private static boolean isTerminated(String phase) {
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    /** The volume a request means, or why it cannot be found; {@code claim} is the name looked for. */
    private record Resolution(ClusterSnapshot.Volume volume, String claim, ReasonCode refusal, String message) {
    }

    private static Resolution resolve(ExportRequest request, ClusterSnapshot cluster) {
        String ns = request.namespace();
        Optional<ClusterSnapshot.Vm> vm = request.vmName() == null ? Optional.empty() : cluster.vm(request.vmName());
        String claim;
        if (request.volumeName() != null) {
            claim = request.volumeName();
        } else {
            if (vm.isEmpty()) {
                return refuse(ReasonCode.VM_NOT_FOUND, Messages.vmNotFound(ns, request.vmName()), null);
            }
            List<String> candidates = vm.get().claims().stream()
                    .filter(ClusterSnapshot.ClaimRef::exportable)
                    .map(ClusterSnapshot.ClaimRef::claimName)
                    .distinct()
                    .sorted()
                    .toList();
            if (candidates.isEmpty()) {
                return refuse(ReasonCode.NO_EXPORTABLE_VOLUME,
                        Messages.noExportableVolume(ns, request.vmName()), null);
            }
            if (candidates.size() > 1) {
                return refuse(ReasonCode.AMBIGUOUS_VOLUME,
                        Messages.ambiguousVolume(ns, request.vmName(), candidates), null);
            }
            claim = candidates.get(0);
        }
        Optional<ClusterSnapshot.Volume> volume = cluster.volume(claim);
        if (volume.isEmpty()) {
            return refuse(ReasonCode.VOLUME_NOT_FOUND, Messages.volumeNotFound(ns, claim), claim);
        }
        if (!volume.get().bound()) {
            return new Resolution(volume.get(), claim, ReasonCode.VOLUME_NOT_BOUND,
                    Messages.volumeNotBound(ns, claim, volume.get().phase()));
        }
        if (request.vmName() != null && request.volumeName() != null) {
            if (vm.isEmpty()) {
                return new Resolution(volume.get(), claim, ReasonCode.VM_NOT_FOUND,
                        Messages.vmNotFound(ns, request.vmName()));
            }
            if (!vm.get().uses(claim)) {
                return new Resolution(volume.get(), claim, ReasonCode.VOLUME_NOT_ATTACHED_TO_VM,
                        Messages.volumeNotAttached(ns, request.vmName(), claim));
            }
        }
        return new Resolution(volume.get(), claim, null, null);
    }

    private static Resolution refuse(ReasonCode reason, String message, String claim) {
        return new Resolution(null, claim, reason, message);
    }

    /** Every VM (or bare VMI) in the namespace that uses the claim: shared disks have several. */
    static List<String> usersOf(String claim, ClusterSnapshot cluster) {
        TreeSet<String> names = new TreeSet<>();
        if (claim == null) {
            return List.of();
        }
        cluster.vms().stream().filter(vm -> vm.uses(claim)).forEach(vm -> names.add(vm.name()));
        cluster.vmis().stream().filter(vmi -> vmi.claimNames().contains(claim)).forEach(vmi -> names.add(vmi.name()));
        return List.copyOf(names);
    }

    private static Evidence evidence(ClusterSnapshot.Volume volume, String claim, List<String> users,
                                     ClusterSnapshot cluster) {
        Evidence.VolumeSeen volumeSeen = volume == null ? null
                : new Evidence.VolumeSeen(volume.name(), volume.phase(), volume.storageClassName(),
                volume.resourceVersion());
        List<Evidence.VmSeen> vms = users.stream().map(name -> {
            Optional<ClusterSnapshot.Vm> vm = cluster.vm(name);
            Optional<ClusterSnapshot.Vmi> vmi = cluster.vmi(name);
            return new Evidence.VmSeen(name,
                    vm.map(ClusterSnapshot.Vm::printableStatus).orElse(null),
                    vm.map(ClusterSnapshot.Vm::runStrategy).orElse(null),
                    vm.map(ClusterSnapshot.Vm::resourceVersion).orElse(null),
                    vmi.map(v -> v.phase() == null ? "" : v.phase()).orElse(null),
                    vmi.map(ClusterSnapshot.Vmi::resourceVersion).orElse(null),
                    vm.map(ClusterSnapshot.Vm::startPending).orElse(false));
        }).toList();
        List<Evidence.PodSeen> pods = claim == null ? List.of() : cluster.pods().stream()
                .filter(p -> p.claimNames().contains(claim))
                .map(p -> new Evidence.PodSeen(p.name(), p.phase(), p.role(), p.vmName()))
                .toList();
        return new Evidence(cluster.readAt(), volumeSeen, vms, pods);
    }
}
