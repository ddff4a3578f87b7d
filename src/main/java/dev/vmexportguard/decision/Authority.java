package dev.vmexportguard.decision;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Who a request acts for, and what it must be allowed, exactly as Kubernetes answers the same questions: the
 * authenticated caller is the requester; a request naming someone else ({@code requestedBy}, with
 * {@code requestedByGroups}) is impersonation, which the caller must be allowed like {@code kubectl --as} and
 * {@code --as-group}; the requester must then be allowed what the guard would do for them.
 */
public final class Authority {
    /** The API group and resource of the audit, a virtual resource that RBAC can grant: {@code list exportaudits}. */
    public static final String AUDIT_GROUP = "vm-export-guard.dev";
    public static final String AUDIT_RESOURCE = "exportaudits";
    private static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

    private Authority() {
    }

    /** The requester and the impersonation the caller needs for it (none when it acts for itself). */
    public record Acting(Identity requester, List<Permission> impersonation) {
    }

    /**
     * For an authenticated {@code caller}: itself, with its own groups, when the request names it and no groups;
     * anyone else is impersonated, with the groups the request names (and {@value Identity#AUTHENTICATED}, as the
     * API server adds it; a ServiceAccount impersonated without groups also has {@code system:serviceaccounts} and
     * {@code system:serviceaccounts:<namespace>}, as the API server gives it). Without a caller (requests from trusted producers) the request names the requester.
     */
    public static Acting acting(Identity caller, String requestedBy, List<String> requestedByGroups) {
        List<String> groups = requestedByGroups == null ? List.of() : requestedByGroups;
        if (caller == null) {
            return new Acting(new Identity(requestedBy, groups), List.of());
        }
        if (caller.username().equals(requestedBy) && groups.isEmpty()) {
            return new Acting(caller, List.of());
        }
        List<Permission> needed = new ArrayList<>();
        if (!caller.username().equals(requestedBy)) {
            needed.add(impersonateUser(requestedBy));
        }
        for (String group : groups) {
            needed.add(new Permission("impersonate", "", "groups", null, null, group));
        }
        Set<String> requesterGroups = new LinkedHashSet<>(groups);
        Permission asUser = impersonateUser(requestedBy);
        if (groups.isEmpty() && asUser.resource().equals("serviceaccounts")) {
            // as the API server does for a ServiceAccount impersonated without groups: the groups it always has
            requesterGroups.add("system:serviceaccounts");
            requesterGroups.add("system:serviceaccounts:" + asUser.namespace());
        }
        requesterGroups.add(Identity.AUTHENTICATED);
        return new Acting(new Identity(requestedBy, List.copyOf(requesterGroups)), needed);
    }

    /** A ServiceAccount is impersonated as one ({@code serviceaccounts} in its namespace), anyone else as a user. */
    static Permission impersonateUser(String username) {
        if (username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
            String[] parts = username.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":", 2);
            if (parts.length == 2 && !parts[0].isEmpty() && !parts[1].isEmpty()) {
                return new Permission("impersonate", "", "serviceaccounts", null, parts[0], parts[1]);
            }
        }
        return new Permission("impersonate", "", "users", null, null, username);
    }

    /**
     * What the guard would do for the requester, as Kubernetes permissions: read the volume and create an image; stop
     * and start its VMs, back them up, when the request asks for it. Before the volume is known, reading the VM.
     */
    public static List<Permission> toExport(ExportRequest request, Decision decision) {
        String ns = request.namespace();
        List<Permission> needed = new ArrayList<>();
        if (decision.volumeName() == null) {
            if (request.vmName() != null) {
                needed.add(new Permission("get", "kubevirt.io", "virtualmachines", null, ns, request.vmName()));
            }
            return needed;
        }
        needed.add(new Permission("get", "", "persistentvolumeclaims", null, ns, decision.volumeName()));
        needed.add(new Permission("create", "harvesterhci.io", "virtualmachineimages", null, ns, null));
        List<String> vms = decision.observed() == null ? List.of()
                : decision.observed().vms().stream().map(Evidence.VmSeen::name).toList();
        for (String vm : vms) {
            if (request.onRunning() == ExportRequest.OnRunning.STOP) {
                needed.add(new Permission("update", "subresources.kubevirt.io", "virtualmachines", "stop", ns, vm));
            }
            if (request.restartAfter()) {
                needed.add(new Permission("update", "subresources.kubevirt.io", "virtualmachines", "start", ns, vm));
            }
        }
        if (request.backupFirst()) {
            needed.add(new Permission("create", "harvesterhci.io", "virtualmachinebackups", null, ns, null));
        }
        return needed;
    }

    /** Reading the audit of a namespace (null: of every namespace, and of requests that named none). */
    /** What whoever starts an export outside the guard must hold for the webhook to say what uses the volume. */
    public static Permission toSeeVolume(String namespace, String volume) {
        return new Permission("get", "", "persistentvolumeclaims", null, namespace, volume);
    }

    public static Permission toReadAudit(String namespace) {
        return new Permission("list", AUDIT_GROUP, AUDIT_RESOURCE, null, namespace, null);
    }
}
