package dev.vmexportguard.decision;

/**
 * One Kubernetes permission, as a SubjectAccessReview names it: a verb on a resource (with its API group and
 * subresource), in a namespace (null: cluster-wide), optionally on one object.
 */
public record Permission(String verb, String group, String resource, String subresource, String namespace,
                         String name) {
    @Override
    public String toString() {
        String what = resource + (subresource == null ? "" : "/" + subresource)
                + (group.isEmpty() ? "" : " (" + group + ")");
        return verb + " " + what + (name == null ? "" : " " + name)
                + (namespace == null ? " cluster-wide" : " in namespace " + namespace);
    }
}
