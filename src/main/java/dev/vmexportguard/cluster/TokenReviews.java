package dev.vmexportguard.cluster;

import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Identity;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Asks the API server who a bearer token belongs to (TokenReview, authentication.k8s.io/v1), so that ServiceAccount
 * tokens, OIDC tokens and whatever else the cluster accepts prove an identity. Answers are reused for a short time,
 * kept by a SHA-256 of the token and its audiences: the token itself is never stored, logged or sent elsewhere.
 * Requests decided at the same time with the same token wait for one review, rather than each asking.
 */
@ApplicationScoped
public class TokenReviews {
    private static final int MAX_CACHED = 10_000;

    /** The answer: an identity, or why the token was not accepted. */
    public record Outcome(Identity identity, String problem) {
        public boolean authenticated() {
            return identity != null;
        }
    }

    private record Cached(Outcome outcome, Instant until) {
    }

    private final KubernetesClient client;
    private final ClusterCalls calls;
    private final Duration ttl;
    private final Clock clock;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    /** The reviews being asked now, by the same key: others with that token wait for their answer. */
    private final Map<String, CompletableFuture<Outcome>> asking = new ConcurrentHashMap<>();

    public TokenReviews(KubernetesClient client, ClusterCalls calls, GuardConfig config, Clock clock) {
        this.client = client;
        this.calls = calls;
        this.ttl = config.authentication().cacheTtl();
        this.clock = clock;
    }

    /**
     * Who {@code token} belongs to, if the API server accepts it for one of {@code audiences} (none: the API
     * server's own). An API server that cannot be asked is a {@link ClusterAccessException}, never "not accepted".
     */
    public Outcome review(String token, List<String> audiences) {
        String key = sha256(String.join(",", audiences) + "\n" + token);
        Outcome known = cached(key);
        if (known != null) {
            return known;
        }
        CompletableFuture<Outcome> mine = new CompletableFuture<>();
        CompletableFuture<Outcome> other = asking.putIfAbsent(key, mine);
        if (other != null) {
            return answerOf(other);
        }
        try {
            // the one asked before may have ended between the look at the cache and now
            Outcome outcome = Objects.requireNonNullElseGet(cached(key), () -> ask(key, token, audiences));
            mine.complete(outcome);
            return outcome;
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            asking.remove(key, mine);
        }
    }

    private Outcome cached(String key) {
        Cached cached = cache.get(key);
        return cached != null && clock.instant().isBefore(cached.until()) ? cached.outcome() : null;
    }

    private static Outcome answerOf(CompletableFuture<Outcome> review) {
        try {
            return review.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            throw e;
        }
    }

    private Outcome ask(String key, String token, List<String> audiences) {
        Instant now = clock.instant();
        TokenReview review = new TokenReviewBuilder().withNewSpec().withToken(token)
                .withAudiences(audiences.isEmpty() ? null : audiences).endSpec().build();
        TokenReview answer = calls.run(new ClusterOperation("create", "tokenreviews.authentication.k8s.io", null),
                () -> client.authentication().v1().tokenReviews().create(review));
        Outcome outcome = outcome(answer);
        if (cache.size() >= MAX_CACHED) {
            cache.clear();
        }
        cache.put(key, new Cached(outcome, now.plus(ttl)));
        return outcome;
    }

    static Outcome outcome(TokenReview answer) {
        var status = answer == null ? null : answer.getStatus();
        if (status == null || !Boolean.TRUE.equals(status.getAuthenticated()) || status.getUser() == null
                || status.getUser().getUsername() == null || status.getUser().getUsername().isEmpty()) {
            String error = status == null || status.getError() == null || status.getError().isBlank()
                    ? "the API server did not accept the token" : "the API server did not accept the token: " + status.getError();
            return new Outcome(null, error);
        }
        return new Outcome(new Identity(status.getUser().getUsername(), status.getUser().getGroups()), null);
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
