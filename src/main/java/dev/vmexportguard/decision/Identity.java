package dev.vmexportguard.decision;

import java.util.List;

/** A Kubernetes user as the API server knows it: a username and the groups it belongs to. */
public record Identity(String username, List<String> groups) {
    /** Every authenticated user is in it; the API server adds it to users it lets someone impersonate, too. */
    public static final String AUTHENTICATED = "system:authenticated";

    public Identity {
        groups = groups == null ? List.of() : List.copyOf(groups);
    }
}
