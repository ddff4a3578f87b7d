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
        String strategy = ClusterSnapshot.RUN_STRATEGY_ALWAYS.equals(vm.runStrategy()) ? ", runStrategy Always" : "";
        String start = vm.startPending() ? ", a start pending" : "";
        return vm.name() + " (" + state + strategy + start + vmi + ")";
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

    /** A request past its {@code notAfter}: when it expired and how long before the guard came to it. */
    static String requestExpired(java.time.Instant notAfter, java.time.Duration since) {
        return "Refused: the request expired at " + notAfter + " (its notAfter), " + elapsed(since)
                + " before the guard came to it, so nothing was done. Send a new request if the export is still wanted.";
    }

    /** A request whose record is older than the guard acts on: how old it was, and the limit. */
    static String requestTooOld(java.time.Instant sentAt, java.time.Duration age, java.time.Duration maxAge) {
        return "Refused: the request was sent " + elapsed(age) + " ago (at "
                + sentAt.truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + "), longer ago than the guard acts on"
                + " requests (" + human(maxAge) + ", guard.request.max-age), so nothing was done."
                + " Send a new request if the export is still wanted.";
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

    public static String exportInProgress(String ns, String volume, String runningRequest) {
        return "Refused: volume " + ns + "/" + volume + " is already being exported by request " + runningRequest
                + ". Wait for that export to end, then send the request again.";
    }

    public static String queued(String ns, String volume, int position, int maxConcurrent) {
        return "Queued: " + maxConcurrent + " exports already run, so the export of " + ns + "/" + volume
                + " waits at position " + position + "; it starts, after checking the VMs again, when one ends.";
    }

    public static String progress(String displayName, int step) {
        return "Export to image '" + displayName + "' is at " + step + "%.";
    }

    public static String completed(String ns, String displayName, String imageName) {
        return "Export completed: image '" + displayName + "' (" + ns + "/" + imageName + ") is ready.";
    }

    static String imageDeleted(ExportTracking.RunningExport export) {
        return "Export failed: image '" + export.displayName() + "' (" + export.imageName()
                + ") was deleted before it was ready, so volume " + export.volumeName() + " was not exported.";
    }

    static String exportFailed(ExportTracking.RunningExport export, String harvesterMessage) {
        return "Export failed: Harvester gave up copying volume " + export.volumeName() + " to image '"
                + export.displayName() + "'" + (harvesterMessage == null ? "" : ": " + harvesterMessage)
                + ". The failed image is left in place for inspection.";
    }

    public static String vmStartedDuringExport(String volume, String imageName, String refusal) {
        return "Export failed: while volume " + volume + " was being copied, " + cause(refusal)
                + "; image " + imageName + " may hold a disk in use, so it was deleted. Stop the VM and send a new request.";
    }

    static String exportTimeout(ExportTracking.RunningExport export, java.time.Duration timeout, boolean deleted) {
        return "Export failed: copying volume " + export.volumeName() + " to image '" + export.displayName()
                + "' took longer than " + human(timeout) + "; " + (deleted ? "the unfinished image was deleted."
                : "the unfinished image " + export.imageName() + " was left in place.");
    }


    /** What a power-state refusal says is wrong, e.g. {@code VM ns/vm1 (Running) is not fully stopped ...}. */
    private static String cause(String refusal) {
        String why = refusal.startsWith("Refused: ") ? refusal.substring("Refused: ".length()) : refusal;
        int end = why.indexOf(';');
        return end > 0 ? why.substring(0, end) : why;
    }

    /**
     * A duration as the settings are written, in a form the settings accept back: whole days as {@code 365d},
     * anything with a fraction of a second in milliseconds ({@code 250ms}, {@code 1500ms}), else hours, minutes and
     * seconds that are not zero ({@code 4s}, {@code 10m}, {@code 1h30m}, {@code 51h}). The one way messages print a
     * duration.
     */
    public static String human(java.time.Duration d) {
        long millis = d.toMillis();
        if (millis <= 0) {
            return millis == 0 ? "0s" : "-" + human(d.negated());
        }
        if (millis % 1000 != 0) {
            return millis + "ms";
        }
        long seconds = millis / 1000;
        if (seconds % 86400 == 0) {
            return seconds / 86400 + "d";
        }
        StringBuilder text = new StringBuilder();
        long[] sizes = {3600, 60, 1};
        String[] units = {"h", "m", "s"};
        for (int i = 0; i < sizes.length; i++) {
            if (seconds >= sizes[i]) {
                text.append(seconds / sizes[i]).append(units[i]);
                seconds %= sizes[i];
            }
        }
        return text.toString();
    }

    public static String usedDuringCopy(String ns, String volume, String what, java.time.Instant at) {
        return what + " mounted volume " + ns + "/" + volume + " while it was copied (at "
                + (at == null ? "an unknown time" : at.toString()) + "), even if it is gone now";
    }

    /** A time that passed, in its two largest units, written as {@link #human}: {@code 20m3s}, {@code 2h5m}, {@code 73h} (3 days 1 hour), {@code 45s}. */
    static String elapsed(java.time.Duration d) {
        long seconds = d.getSeconds();
        if (seconds < 1) {
            return "under a second";
        }
        long[] sizes = {86400, 3600, 60, 1};
        int first = 0;
        while (seconds < sizes[first]) {
            first++;
        }
        long kept = first < 3 ? seconds - seconds % sizes[first + 1] : seconds;
        return human(java.time.Duration.ofSeconds(kept));
    }

    public static String unauthenticated(String problem) {
        return "Refused: the request carries no proof of who sent it that the guard accepts (" + problem + "), so"
                + " nothing was done. Send it with 'authorization: Bearer <token>' (a token for the audience the guard"
                + " asks for, e.g. 'kubectl create token <service account> --audience vm-export-guard').";
    }

    public static String impersonationForbidden(String caller, String permission) {
        return "Refused: " + caller + " may not " + permission + ", so it cannot ask on that person's behalf;"
                + " nothing was done. Grant it that impersonation (narrowly, with resourceNames), or send the request"
                + " as the requester.";
    }

    /**
     * A refusal as the admission webhook shows it to whoever started the export in Harvester's UI or with kubectl:
     * the way out ends in exporting again, not in sending a request.
     */
    public static String forAdmission(String refusal) {
        return refusal.replace("send the request again", "export the volume again")
                .replace("Send the request again", "Export the volume again");
    }

    public static String admitted(String ns, String volume, String image, String user) {
        return "Admitted: every VM using volume " + ns + "/" + volume + " is fully stopped and no pod mounts it;"
                + " the export to image " + image + " started by " + user + " may run.";
    }

    public static String noVolumeToExport(String ns, String image) {
        return "Refused: image " + ns + "/" + image + " has sourceType export-from-volume but names no volume"
                + " (spec.pvcName). Name the PersistentVolumeClaim to export.";
    }

    public static String forbiddenToSee(String user, String permission) {
        return "Refused: " + user + " may not " + permission + ", so the guard does not say whether the volume is in"
                + " use; nothing was exported. Ask for that permission, or have someone who has it export the volume.";
    }

    public static String admissionNotRecorded(String ns, String volume) {
        return "Refused: the guard's database did not answer, so it could neither check its own exports of volume "
                + ns + "/" + volume + " nor record this decision; nothing was exported. Export the volume again in a"
                + " minute.";
    }

    public static String forbidden(String user, String permission) {
        return "Refused: " + user + " may not " + permission + ", so the guard does not do it on their behalf;"
                + " nothing was exported. Ask for that permission, or have someone who has it send the request.";
    }

    public static String stoppingVms(String ns, java.util.List<String> vms, String volume) {
        return vms.isEmpty()
                ? "Waiting: a pod still mounts volume " + ns + "/" + volume + "; the export starts once it has terminated."
                : "Stopping VM" + (vms.size() == 1 ? " " : "s ") + String.join(", ", vms.stream().map(v -> ns + "/" + v).toList())
                + " as requested, so that volume " + volume + " can be exported safely; the export starts once "
                + (vms.size() == 1 ? "it is" : "they are") + " fully stopped.";
    }

    public static String vmsStopped(String ns, String volume) {
        return "Every VM using volume " + ns + "/" + volume + " is now fully stopped (no VMI, no pod mounting it).";
    }

    public static String stopTimeout(java.time.Duration timeout, String refusal) {
        return "Export failed: after " + human(timeout) + " " + cause(refusal)
                + "; nothing was exported. Look at the VM in Harvester, stop it, then send the request again.";
    }

    public static String backupReady(String ns, java.util.List<String> backups, String type) {
        return "Backup ready before the export: " + type + " " + String.join(", ", backups.stream().map(b -> ns + "/" + b).toList())
                + ".";
    }

    public static String backupFailed(String backup, String detail) {
        return "Export failed: the backup " + backup + " taken before it " + detail + "; nothing was exported.";
    }

    public static String restarted(String ns, java.util.List<String> vms) {
        return "Started again after the export: " + String.join(", ", vms.stream().map(v -> ns + "/" + v).toList()) + ".";
    }

    /** restartAfter: the deadline passed before the VM reached Stopped ({@code state} says how it is now). */
    public static String restartNotStopped(String ns, String vm, java.time.Duration deadline, String state) {
        return "VM " + ns + "/" + vm + " was stopped for the export but had not reached Stopped " + human(deadline)
                + " after the export ended (it shows " + state + "); the guard did not start it again and no longer"
                + " waits for it. Look at the VM in Harvester: once it shows Stopped, start it by hand if it should run.";
    }

    /** restartAfter: the VM stopped, but another export's lock kept it off until the deadline. */
    public static String restartLocked(String ns, String vm, java.time.Duration deadline,
                                       java.util.Collection<String> exports) {
        return "VM " + ns + "/" + vm + " was stopped for the export but was still locked by export "
                + String.join(", ", exports) + ", which reads its disk, " + human(deadline)
                + " after this export ended; the guard did not start it again. Start it by hand once that export has"
                + " ended, if it should run.";
    }

    /** restartAfter: a start asked before the guard was restarted, and the VM still Stopped at the deadline. */
    public static String restartUnconfirmed(String ns, String vm, java.time.Duration deadline) {
        return "VM " + ns + "/" + vm + " was stopped for the export; the guard asked KubeVirt to start it again (it"
                + " never asks twice, also across its own restarts), but it still showed Stopped " + human(deadline)
                + " after the export ended. Start it by hand.";
    }

    /** restartAfter: the VM could not be read until the deadline. */
    public static String restartUnreadable(String ns, String vm, java.time.Duration deadline, String detail) {
        return "VM " + ns + "/" + vm + " was stopped for the export, but the guard could not read it until "
                + human(deadline) + " after the export ended (" + detail + "); it did not start it again. Check"
                + " the VM and start it by hand if it should run.";
    }

    public static String restartFailed(String ns, String vm, String detail) {
        return "VM " + ns + "/" + vm + " was stopped for the export but could not be started again (" + detail
                + "); start it by hand.";
    }
}
