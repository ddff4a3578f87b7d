package dev.vmexportguard.cluster;

import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.Permission;
import io.fabric8.kubernetes.api.model.authorization.v1.ResourceAttributesBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Asks the API server, with SubjectAccessReviews, whether a user may do something: the caller impersonate the
 * requester, the requester what the guard would do for them, an auditor read a namespace's audit. Answers are reused
 * for a short time ({@code guard.authorization.cache-allowed-ttl}, {@code cache-denied-ttl}), as the API server's own
 * webhook authorizer does.
 */
@ApplicationScoped
public class AccessReview {

    private static final int MAX_CACHED = 10_000;

    /** One question: who (user and groups, in a stable order) and what. */
    private record Question(String user, List<String> groups, Permission permission) {
    }

    private final KubernetesClient client;
    private final ClusterCalls calls;
    private final ReusedAnswers<Question, Boolean> answers;

    public AccessReview(KubernetesClient client, ClusterCalls calls, GuardConfig config) {
        this.client = client;
        this.calls = calls;
        Duration allowedFor = config.authorization().cacheAllowedTtl();
        Duration deniedFor = config.authorization().cacheDeniedTtl();
        this.answers = new ReusedAnswers<>(MAX_CACHED, allowed -> allowed ? allowedFor : deniedFor);
    }

    /** The first permission {@code who} lacks, if any; asked one by one, in order. */
    public Optional<Permission> firstDenied(Identity who, List<Permission> permissions) {
        for (Permission p : permissions) {
            if (!allowed(who, p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code who} has the permission, as a SubjectAccessReview answers it; an answer given less than
     * {@code guard.authorization.cache-allowed-ttl} (or {@code cache-denied-ttl}) ago is reused.
     */
    public boolean allowed(Identity who, Permission p) {
        List<String> groups = who.groups() == null ? List.of() : who.groups().stream().sorted().toList();
        return answers.answer(new Question(who.username(), groups, p), () -> ask(who, p));
    }

    private boolean ask(Identity who, Permission p) {
        SubjectAccessReview review = new SubjectAccessReviewBuilder()
                .withNewSpec().withUser(who.username()).withGroups(who.groups())
                .withResourceAttributes(new ResourceAttributesBuilder().withVerb(p.verb()).withGroup(p.group())
                        .withResource(p.resource()).withSubresource(p.subresource())
                        .withNamespace(p.namespace()).withName(p.name()).build())
                .endSpec().build();
        SubjectAccessReview answer = calls.run(
                new ClusterOperation("create", "subjectaccessreviews.authorization.k8s.io", null),
                () -> client.authorization().v1().subjectAccessReview().create(review));
        return answer.getStatus() != null && Boolean.TRUE.equals(answer.getStatus().getAllowed());
    }
}
