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
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

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

    private final KubernetesClient client;
    private final ClusterCalls calls;
    /** By a SHA-256 of the audiences and the token: the token itself is never kept. */
    private final ReusedAnswers<String, Outcome> answers;

    public TokenReviews(KubernetesClient client, ClusterCalls calls, GuardConfig config) {
        this.client = client;
        this.calls = calls;
        Duration ttl = config.authentication().cacheTtl();
        this.answers = new ReusedAnswers<>(MAX_CACHED, outcome -> ttl);
    }

    /**
     * Who {@code token} belongs to, if the API server accepts it for one of {@code audiences} (none: the API
     * server's own). An API server that cannot be asked is a {@link ClusterAccessException}, never "not accepted".
     */
    public Outcome review(String token, List<String> audiences) {
        return answers.answer(sha256(String.join(",", audiences) + "\n" + token), () -> ask(token, audiences));
    }

    private Outcome ask(String token, List<String> audiences) {
        TokenReview review = new TokenReviewBuilder().withNewSpec().withToken(token)
                .withAudiences(audiences.isEmpty() ? null : audiences).endSpec().build();
        TokenReview answer = calls.run(new ClusterOperation("create", "tokenreviews.authentication.k8s.io", null),
                () -> client.authentication().v1().tokenReviews().create(review));
        return outcome(answer);
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
