package dev.vmexportguard.cluster;

/** A call to the API server that did not give an answer the guard can act on. */
public class ClusterAccessException extends RuntimeException {

    public enum Kind {
        /** Timeouts, connection errors, 5xx and 429, after the configured retries; or a resource type not served. */
        UNAVAILABLE,
        /** 401 or 403 on the guard's own call. */
        FORBIDDEN,
        /** Any other answer, e.g. 409 or 422 on a create. */
        REFUSED
    }

    private final Kind kind;
    private final ClusterOperation operation;
    private final int status;

    public ClusterAccessException(Kind kind, ClusterOperation operation, int status, String detail, Throwable cause) {
        super(detail, cause);
        this.kind = kind;
        this.operation = operation;
        this.status = status;
    }

    public Kind kind() {
        return kind;
    }

    public ClusterOperation operation() {
        return operation;
    }

    /** The HTTP status, 0 or less when there was no answer. */
    public int status() {
        return status;
    }
}
