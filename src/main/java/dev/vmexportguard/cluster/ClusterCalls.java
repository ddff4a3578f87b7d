package dev.vmexportguard.cluster;

import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Messages;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Runs one API call with bounded retries and exponential backoff on transient failures, and turns every failure
 * into a {@link ClusterAccessException} that says what the guard was doing.
 * <p>
 * Work run {@link #withDeadline} shares one deadline among all the calls it makes on its thread: no attempt runs
 * and no pause is waited past it, and a call still unanswered then is given up. The guard decides each request so,
 * and a slow API server makes it refuse the request rather than hold it.
 */
@ApplicationScoped
public class ClusterCalls {
    private static final Logger LOG = Logger.getLogger(ClusterCalls.class);

    /** The deadline of the work in hand on this thread, if it has one. */
    private static final ThreadLocal<Deadline> DEADLINE = new ThreadLocal<>();

    private record Deadline(long atNanos, Duration budget) {
        long remainingNanos() {
            return atNanos - System.nanoTime();
        }
    }

    private final GuardConfig.Cluster config;
    /** Runs the attempts of calls that have a deadline, so that the caller can stop waiting for them. */
    private final ExecutorService attemptThreads;

    /** Counts calls by verb, resource and outcome, and the attempts made again; none in unit tests. */
    private final MeterRegistry registry;

    public ClusterCalls(GuardConfig config) {
        this(config, null);
    }

    @Inject
    public ClusterCalls(GuardConfig config, MeterRegistry registry) {
        this.registry = registry;
        this.config = config.cluster();
        AtomicInteger count = new AtomicInteger();
        this.attemptThreads = Executors.newCachedThreadPool(r -> {
            Thread thread = new Thread(r, "guard-api-call-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    @PreDestroy
    void stop() {
        attemptThreads.shutdownNow();
    }

    /**
     * Runs {@code work} with one deadline, {@code budget} from now, for every API call it makes on this thread:
     * a call that cannot be answered by then fails as {@link ClusterAccessException.Kind#UNAVAILABLE}, saying so.
     */
    public <T> T withDeadline(Duration budget, Supplier<T> work) {
        Deadline outer = DEADLINE.get();
        Deadline deadline = new Deadline(System.nanoTime() + budget.toNanos(), budget);
        // a deadline within a deadline cannot outlast the outer one
        DEADLINE.set(outer != null && outer.atNanos() - deadline.atNanos() < 0 ? outer : deadline);
        try {
            return work.get();
        } finally {
            if (outer == null) {
                DEADLINE.remove();
            } else {
                DEADLINE.set(outer);
            }
        }
    }

    /**
     * {@link #run} on a thread of its own, under the deadline of the work in hand on this thread (if any): for
     * calls that need not wait for one another. {@link #answer} waits for it.
     */
    public <T> Future<T> runAside(ClusterOperation operation, Supplier<T> call) {
        Deadline deadline = DEADLINE.get();
        return attemptThreads.submit(() -> {
            if (deadline != null) {
                DEADLINE.set(deadline);
            }
            try {
                return run(operation, call);
            } finally {
                DEADLINE.remove();
            }
        });
    }

    /** The answer of a call {@link #runAside}: its value, or its failure as {@link #run} throws it. */
    public static <T> T answer(Future<T> call) {
        try {
            return call.get();
        } catch (ExecutionException e) {
            throw thrown(e);
        } catch (InterruptedException e) {
            call.cancel(true);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for an API call", e);
        }
    }

    public <T> T run(ClusterOperation operation, Supplier<T> call) {
        String outcome = "failure";
        try {
            T answer = runWithRetries(operation, call);
            outcome = "success";
            return answer;
        } finally {
            if (registry != null) {
                registry.counter("guard.cluster.calls", "verb", operation.verb(), "resource", operation.resource(),
                        "outcome", outcome).increment();
            }
        }
    }

    private <T> T runWithRetries(ClusterOperation operation, Supplier<T> call) {
        Duration backoff = config.initialBackoff();
        int attempts = Math.max(1, config.maxAttempts());
        Deadline deadline = DEADLINE.get();
        ClusterAccessException last = null;
        for (int attempt = 1; ; attempt++) {
            ClusterAccessException failure;
            boolean retry;
            try {
                return deadline == null ? call.get() : attempt(operation, call, deadline, last);
            } catch (DeadlineSpent e) {
                throw e.failure;
            } catch (KubernetesClientException e) {
                failure = classify(operation, e);
                retry = transientFailure(e);
            } catch (RuntimeException e) {
                // the HTTP layer can fail outside fabric8's exception type (e.g. a closed connection pool)
                failure = new ClusterAccessException(ClusterAccessException.Kind.UNAVAILABLE, operation, 0,
                        operation + " failed, no answer: " + rootMessage(e), e);
                retry = true;
            }
            last = failure;
            if (!retry || attempt >= attempts) {
                throw failure;
            }
            if (deadline != null && deadline.remainingNanos() <= backoff.toNanos()) {
                // the next attempt could not begin before the deadline
                throw spent(operation, deadline, failure);
            }
            LOG.warnf("%s failed (attempt %d of %d): %s; retrying in %d ms", operation, attempt, attempts,
                    failure.getMessage(), backoff.toMillis());
            if (registry != null) {
                registry.counter("guard.cluster.retries", "verb", operation.verb(), "resource", operation.resource())
                        .increment();
            }
            sleep(backoff);
            backoff = backoff.multipliedBy(2);
            if (backoff.compareTo(config.maxBackoff()) > 0) {
                backoff = config.maxBackoff();
            }
        }
    }

    /**
     * One attempt of a call with a deadline: given up, unanswered, when the deadline comes first; the failure of the
     * attempt before it ({@code last}, null for the first) is then carried in the refusal.
     */
    private <T> T attempt(ClusterOperation operation, Supplier<T> call, Deadline deadline,
                          ClusterAccessException last) {
        long remaining = deadline.remainingNanos();
        if (remaining <= 0) {
            throw new DeadlineSpent(spent(operation, deadline, last));
        }
        Future<T> answer = attemptThreads.submit(call::get);
        try {
            return answer.get(remaining, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            answer.cancel(true);
            throw new DeadlineSpent(spent(operation, deadline, last));
        } catch (ExecutionException e) {
            throw thrown(e);
        } catch (InterruptedException e) {
            answer.cancel(true);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + operation, e);
        }
    }

    /** What a call run on another thread threw, as it threw it. */
    private static RuntimeException thrown(ExecutionException e) {
        if (e.getCause() instanceof RuntimeException failure) {
            return failure;
        }
        if (e.getCause() instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(e.getCause());
    }

    private static ClusterAccessException spent(ClusterOperation operation, Deadline deadline,
                                                ClusterAccessException last) {
        String detail = operation + " was not answered within " + Messages.human(deadline.budget())
                + ", the time the API calls deciding a request may take together"
                + (last == null ? "" : " (last attempt: " + last.getMessage() + ")");
        return new ClusterAccessException(ClusterAccessException.Kind.UNAVAILABLE, operation, 0, detail, last);
    }

    /** Carries a spent deadline past the retry loop's handling of other failures. */
    private static final class DeadlineSpent extends RuntimeException {
        final ClusterAccessException failure;

        DeadlineSpent(ClusterAccessException failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
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
