package dev.vmexportguard.decision;

import java.util.List;

/** The sentences a person reads in a chat: what happened, why it matters, what to do. */
public final class Messages {
    private static final String WHY_UNSAFE = "exporting it now could miss what is still in memory and guest caches,"
            + " capture a file system that is not consistent, and give an image that does not boot";

    private Messages() {
    }

    static String describe(Evidence.VmSeen vm) {
        String state = vm.printableStatus() == null
                ? (vm.resourceVersion() == null ? "no VirtualMachine object" : "no status reported")
                : vm.printableStatus();
        String vmi = vm.vmiPhase() == null ? "" : ", VMI phase " + (vm.vmiPhase().isEmpty() ? "not set" : vm.vmiPhase());
        return vm.name() + " (" + state + vmi + ")";
    }

    static String describe(Evidence.PodSeen pod) {
        return pod.name() + " (" + (pod.phase() == null ? "phase unknown" : pod.phase()) + ")";
    }

    static String vmRunning(String ns, List<String> vms, String volume) {
        String who = vms.size() == 1 ? "VM " + ns + "/" + vms.get(0) + " is not fully stopped"
                : "VMs " + String.join(", ", vms.stream().map(v -> ns + "/" + v).toList()) + " are not fully stopped";
        return "Refused: " + who + " and uses volume " + volume + "; " + WHY_UNSAFE + ". "
                + "Stop the VM, check that it shows Stopped with no VMI left, then send the request again.";
    }

    static String volumeInUse(String ns, List<String> pods, String volume) {
        return "Refused: volume " + ns + "/" + volume + " is still mounted by pod"
                + (pods.size() == 1 ? " " : "s ") + String.join(", ", pods)
                + " although its VMs are stopped; " + WHY_UNSAFE + ". "
                + "Wait until the pod has terminated (kubectl get pods -n " + ns + "), then send the request again.";
    }

    static String vmNotFound(String ns, String vm) {
        return "Refused: there is no VirtualMachine " + ns + "/" + vm + ". Check the VM name and namespace.";
    }

    static String volumeNotFound(String ns, String volume) {
        return "Refused: there is no PersistentVolumeClaim " + ns + "/" + volume + ". Check the volume name and namespace.";
    }

    static String volumeNotBound(String ns, String volume, String phase) {
        return "Refused: volume " + ns + "/" + volume + " is " + (phase == null ? "in no phase" : phase)
                + ", not Bound, so it holds no disk to export. Wait until it is Bound, then send the request again.";
    }

    static String volumeNotAttached(String ns, String vm, String volume) {
        return "Refused: VM " + ns + "/" + vm + " does not use volume " + volume
                + ". Name a volume of that VM, or leave out vmName to export the volume alone.";
    }

    static String noExportableVolume(String ns, String vm) {
        return "Refused: VM " + ns + "/" + vm + " has no disk backed by a PersistentVolumeClaim or DataVolume,"
                + " so there is nothing to export.";
    }

    static String ambiguousVolume(String ns, String vm, List<String> candidates) {
        return "Refused: VM " + ns + "/" + vm + " has " + candidates.size() + " volumes (" + String.join(", ", candidates)
                + "). Send the request again with volumeName set to the one to export.";
    }

    public static String imageNameTaken(String ns, String displayName, String existingImage) {
        return "Refused: namespace " + ns + " already has an image named '" + displayName + "' (" + existingImage
                + "). Send the request again with another imageDisplayName.";
    }

    public static String invalidRequest(List<Violation> violations) {
        return "Refused: the request is not valid: " + String.join("; ", violations.stream().map(Violation::toString).toList())
                + ". Nothing was exported; fix the request and send it again.";
    }

    public static String requestIdConflict(String requestId, String earlier) {
        return "Refused: requestId " + requestId + " was already used for " + earlier
                + ". Nothing was exported; use a new requestId for a different export.";
    }

    public static String clusterUnavailable(String detail) {
        return "Refused: the guard could not read the cluster (" + detail + "), so nothing was exported."
                + " Send the request again once the Kubernetes API is reachable.";
    }

    public static String guardNotAuthorized(String verb, String resource, String namespace) {
        return "Refused: the guard's service account may not " + verb + " " + resource
                + (namespace == null ? "" : " in namespace " + namespace)
                + ", so it cannot check the VM; nothing was exported. Grant it that permission (see the README's RBAC).";
    }

    public static String imageCreateFailed(String detail) {
        return "Refused: the cluster did not accept the VirtualMachineImage (" + detail + "); nothing was exported.";
    }

    public static String internalError(String detail) {
        return "Refused: the guard failed while handling the request (" + detail + "); nothing was exported."
                + " Send it again; if it keeps failing, look at the guard's log.";
    }

    public static String started(ImagePlan plan, String volume) {
        return "Export started: volume " + plan.namespace() + "/" + volume + " is being copied to image '"
                + plan.displayName() + "' (" + plan.name() + "); every VM using it was checked and is stopped.";
    }
}
