package dev.vmexportguard.cluster;

import dev.vmexportguard.config.GuardConfig;
import io.fabric8.kubernetes.client.KubernetesClientException;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Runs one API call with bounded retries and exponential backoff on transient failures, and turns every failure
 * into a {@link ClusterAccessException} that says what the guard was doing.
 */
@ApplicationScoped
public class ClusterCalls {
    private static final Logger LOG = Logger.getLogger(ClusterCalls.class);

    private final GuardConfig.Cluster config;

    public ClusterCalls(GuardConfig config) {
        this.config = config.cluster();
    }

    public <T> T run(ClusterOperation operation, Supplier<T> call) {
        Duration backoff = config.initialBackoff();
        int attempts = Math.max(1, config.maxAttempts());
        for (int attempt = 1; ; attempt++) {
            ClusterAccessException failure;
            boolean retry;
            try {
                return call.get();
            } catch (KubernetesClientException e) {
                failure = classify(operation, e);
                retry = transientFailure(e);
            } catch (RuntimeException e) {
                // the HTTP layer can fail outside fabric8's exception type (e.g. a closed connection pool)
                failure = new ClusterAccessException(ClusterAccessException.Kind.UNAVAILABLE, operation, 0,
                        operation + " failed, no answer: " + rootMessage(e), e);
                retry = true;
            }
            if (!retry || attempt >= attempts) {
                throw failure;
            }
            LOG.warnf("%s failed (attempt %d of %d): %s; retrying in %d ms", operation, attempt, attempts,
                    failure.getMessage(), backoff.toMillis());
            sleep(backoff);
            backoff = backoff.multipliedBy(2);
            if (backoff.compareTo(config.maxBackoff()) > 0) {
                backoff = config.maxBackoff();
            }
        }
    }

    static ClusterAccessException classify(ClusterOperation operation, KubernetesClientException e) {
        int code = e.getCode();
        if (code == 401 || code == 403) {
            return new ClusterAccessException(ClusterAccessException.Kind.FORBIDDEN, operation, code,
                    "HTTP " + code + " on " + operation, e);
        }
        if (code == 404) {
            return new ClusterAccessException(ClusterAccessException.Kind.UNAVAILABLE, operation, code,
                    "the API server does not serve " + operation.resource() + " (HTTP 404): is it installed?", e);
        }
        if (transientFailure(e)) {
            String what = code <= 0 ? "no answer: " + rootMessage(e) : "HTTP " + code;
            return new ClusterAccessException(ClusterAccessException.Kind.UNAVAILABLE, operation, code,
                    operation + " failed, " + what, e);
        }
        String detail = e.getStatus() != null && e.getStatus().getMessage() != null
                ? e.getStatus().getMessage() : rootMessage(e);
        return new ClusterAccessException(ClusterAccessException.Kind.REFUSED, operation, code,
                "HTTP " + code + ": " + detail, e);
    }

    /** No answer at all (connection refused, timeout: no HTTP code), overload (429) or a server error (5xx). */
    private static boolean transientFailure(KubernetesClientException e) {
        int code = e.getCode();
        return code <= 0 || code == 429 || code >= 500;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to retry", e);
        }
    }
}
