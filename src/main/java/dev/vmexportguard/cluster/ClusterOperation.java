package dev.vmexportguard.cluster;

/** What the guard asked the API server: a verb on a resource, e.g. {@code list virtualmachines.kubevirt.io}. */
public record ClusterOperation(String verb, String resource, String namespace) {
    @Override
    public String toString() {
        return verb + " " + resource + (namespace == null ? "" : " in namespace " + namespace);
    }
}
