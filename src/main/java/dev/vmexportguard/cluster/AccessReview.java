package dev.vmexportguard.cluster;

import io.fabric8.kubernetes.api.model.authorization.v1.ResourceAttributesBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Optional;

/** Asks the API server whether the person a request is made for may do what the guard would do for them. */
@ApplicationScoped
public class AccessReview {

    /** One permission: a verb on a resource (with its API group and subresource), optionally on one object. */
    public record Permission(String verb, String group, String resource, String subresource, String namespace,
                             String name) {
        @Override
        public String toString() {
            String what = resource + (subresource == null ? "" : "/" + subresource)
                    + (group.isEmpty() ? "" : " (" + group + ")");
            return verb + " " + what + (name == null ? "" : " " + name) + " in namespace " + namespace;
        }
    }

    private final KubernetesClient client;
    private final ClusterCalls calls;

    public AccessReview(KubernetesClient client, ClusterCalls calls) {
        this.client = client;
        this.calls = calls;
    }

    /** The first permission the user lacks, if any; asked one by one, in order, with SubjectAccessReviews. */
    public Optional<Permission> firstDenied(String user, List<String> groups, List<Permission> permissions) {
        for (Permission p : permissions) {
            SubjectAccessReview review = new SubjectAccessReviewBuilder()
                    .withNewSpec().withUser(user).withGroups(groups)
                    .withResourceAttributes(new ResourceAttributesBuilder().withVerb(p.verb()).withGroup(p.group())
                            .withResource(p.resource()).withSubresource(p.subresource())
                            .withNamespace(p.namespace()).withName(p.name()).build())
                    .endSpec().build();
            SubjectAccessReview answer = calls.run(
                    new ClusterOperation("create", "subjectaccessreviews.authorization.k8s.io", null),
                    () -> client.authorization().v1().subjectAccessReview().create(review));
            if (answer.getStatus() == null || !Boolean.TRUE.equals(answer.getStatus().getAllowed())) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
