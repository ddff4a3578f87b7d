package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;

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

    /**
     * Whether the call may have taken effect all the same: no answer (a timeout, a connection dropped after the
     * request was sent) or a server error. A 429 or a 404 was refused before anything was done.
     */
    public boolean outcomeUnknown() {
        return kind == Kind.UNAVAILABLE && (status <= 0 || status >= 500);
    }

    /** The reason code a refusal caused by this failure carries. */
    public ReasonCode reasonCode() {
        return switch (kind) {
            case FORBIDDEN -> ReasonCode.GUARD_NOT_AUTHORIZED;
            case UNAVAILABLE -> ReasonCode.CLUSTER_UNAVAILABLE;
            // to a create, Harvester refused the image; to anything else, the state is unknown
            case REFUSED -> "create".equals(operation.verb()) ? ReasonCode.IMAGE_CREATE_FAILED : ReasonCode.CLUSTER_UNAVAILABLE;
        };
    }

    /** The sentence a person reads about this failure. */
    public String refusalMessage() {
        return switch (reasonCode()) {
            case GUARD_NOT_AUTHORIZED -> Messages.guardNotAuthorized(operation.verb(), operation.resource(), operation.namespace());
            case IMAGE_CREATE_FAILED -> Messages.imageCreateFailed(getMessage());
            default -> Messages.clusterUnavailable(kind == Kind.REFUSED ? operation + " answered " + getMessage() : getMessage());
        };
    }
}
