package dev.vmexportguard.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * The API server's authorizer as the tests script it, matching a SubjectAccessReview's resourceAttributes the way
 * RBAC does: a rule names API groups, resources ({@code virtualmachines} is not {@code virtualmachines/stop}),
 * verbs and optionally resourceNames (then only a review naming one of them matches), each exactly or {@code *};
 * a grant bound in a namespace (a RoleBinding) allows reviews of that namespace only, one bound cluster-wide (a
 * ClusterRoleBinding) every namespace and cluster-wide reviews.
 * <p>
 * A user whose rights are listed ({@link #grant}, {@link #bindClusterRole}, {@link #allowOnly}) is allowed only
 * what they grant. Any other user is allowed everything but what a {@link #deny} rule matches (matched by the same
 * RBAC rules, so a denial of {@code virtualmachines/stop} in {@code subresources.kubevirt.io} does not deny the same
 * resource asked in another group). A member of {@link #ADMIN_GROUP} is allowed everything. Every review asked is
 * kept.
 */
public final class ScriptedAuthorizer {
    public static final String ADMIN_GROUP = "harvester-admins";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Users allowed everything but what these match. */
    private static final Map<String, List<Binding>> DENIED = new ConcurrentHashMap<>();
    /** Users allowed only what these grant. */
    private static final Map<String, List<Binding>> GRANTED = new ConcurrentHashMap<>();
    /** Users allowed only what the predicate accepts. */
    private static final Map<String, Predicate<Review>> ONLY = new ConcurrentHashMap<>();
    private static final List<JsonNode> ASKED = new CopyOnWriteArrayList<>();

    /** What a SubjectAccessReview asks: who, and the resource attributes (null when absent or empty, as the core group). */
    public record Review(String user, List<String> groups, String verb, String group, String resource,
                         String subresource, String namespace, String name) {
        /** {@code verb} on {@code resource} (any group, no subresource). */
        public boolean is(String verb, String resource) {
            return verb.equals(this.verb) && resource.equals(this.resource) && subresource == null;
        }

        static Review of(JsonNode review) {
            JsonNode spec = review.path("spec");
            JsonNode a = spec.path("resourceAttributes");
            List<String> groups = new ArrayList<>();
            spec.path("groups").forEach(g -> groups.add(g.asText()));
            return new Review(text(spec.path("user")), List.copyOf(groups), text(a.path("verb")), text(a.path("group")),
                    text(a.path("resource")), text(a.path("subresource")), text(a.path("namespace")), text(a.path("name")));
        }

        private static String text(JsonNode node) {
            return node.isMissingNode() || node.isNull() || node.asText().isEmpty() ? null : node.asText();
        }
    }

    /**
     * One RBAC PolicyRule: API groups ({@code ""} the core group), resources ({@code resource} or
     * {@code resource/subresource}), verbs, resourceNames (empty: any); {@code *} matches any value, and
     * {@code * /subresource} (without the space) any resource's subresource.
     */
    public record Rule(List<String> apiGroups, List<String> resources, List<String> verbs, List<String> resourceNames) {
        /** {@code verb} on {@code resource} (e.g. {@code virtualmachines/stop}) of {@code apiGroup}. */
        public static Rule of(String apiGroup, String resource, String verb) {
            return new Rule(List.of(apiGroup), List.of(resource), List.of(verb), List.of());
        }

        /** This rule for the objects named so only. */
        public Rule named(String... names) {
            return new Rule(apiGroups, resources, verbs, List.of(names));
        }

        /** Whether the rule covers the review's verb, group, resource, subresource and name, as RBAC decides it. */
        public boolean matches(Review r) {
            String group = r.group() == null ? "" : r.group();
            String combined = r.resource() + (r.subresource() == null ? "" : "/" + r.subresource());
            boolean resourceMatches = resources.stream().anyMatch(res -> res.equals("*") || res.equals(combined)
                    || r.subresource() != null && res.equals("*/" + r.subresource()));
            return r.resource() != null && resourceMatches
                    && apiGroups.stream().anyMatch(g -> g.equals("*") || g.equals(group))
                    && verbs.stream().anyMatch(v -> v.equals("*") || v.equals(r.verb()))
                    && (resourceNames.isEmpty() || r.name() != null && resourceNames.contains(r.name()));
        }
    }

    /** A rule bound in a namespace (a RoleBinding), or cluster-wide (null: a ClusterRoleBinding). */
    public record Binding(String namespace, Rule rule) {
        boolean matches(Review r) {
            return (namespace == null || namespace.equals(r.namespace())) && rule.matches(r);
        }
    }

    private ScriptedAuthorizer() {
    }

    /**
     * Grants {@code user} the rules in {@code namespace} (null: cluster-wide); from then on the user is allowed only
     * what their grants allow.
     */
    public static void grant(String user, String namespace, Rule... rules) {
        List<Binding> bindings = GRANTED.computeIfAbsent(user, u -> new CopyOnWriteArrayList<>());
        Arrays.stream(rules).forEach(rule -> bindings.add(new Binding(namespace, rule)));
    }

    /** {@link #grant} of every rule of the ClusterRole in {@code file} (YAML), bound in {@code namespace}. */
    public static void bindClusterRole(String user, String namespace, Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            ClusterRole role = Serialization.unmarshal(in, ClusterRole.class);
            grant(user, namespace, role.getRules().stream()
                    .map(r -> new Rule(r.getApiGroups(), r.getResources(), r.getVerbs(),
                            r.getResourceNames() == null ? List.of() : r.getResourceNames()))
                    .toArray(Rule[]::new));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Lists {@code user}'s rights: a review of theirs is allowed only when {@code allows} accepts it; the
     * {@link #ADMIN_GROUP} still allows everything.
     */
    public static void allowOnly(String user, Predicate<Review> allows) {
        ONLY.put(user, allows);
    }

    /** Denies {@code user} what {@code rule} matches, in every namespace and cluster-wide. */
    public static void deny(String user, Rule rule) {
        deny(user, null, rule);
    }

    /** Denies {@code user} what {@code rule} matches in {@code namespace} (null: everywhere). */
    public static void deny(String user, String namespace, Rule rule) {
        DENIED.computeIfAbsent(user, u -> new CopyOnWriteArrayList<>()).add(new Binding(namespace, rule));
    }

    /** The answer to a review, as {@code status.allowed}. */
    public static boolean allows(Review review) {
        if (review.groups().contains(ADMIN_GROUP)) {
            return true;
        }
        Predicate<Review> listed = ONLY.get(review.user());
        if (listed != null) {
            return listed.test(review);
        }
        List<Binding> granted = GRANTED.get(review.user());
        if (granted != null) {
            return granted.stream().anyMatch(b -> b.matches(review));
        }
        return DENIED.getOrDefault(review.user(), List.of()).stream().noneMatch(b -> b.matches(review));
    }

    public static List<JsonNode> asked(String user) {
        return ASKED.stream().filter(r -> user.equals(r.path("spec").path("user").asText())).toList();
    }

    /** The reviews asked that name {@code text} anywhere: as the user, a group, or the name impersonated. */
    public static List<JsonNode> mentioning(String text) {
        return ASKED.stream().filter(r -> r.toString().contains(text)).toList();
    }

    static String answer(RecordedRequest request) {
        try {
            JsonNode review = JSON.readTree(request.getUtf8Body());
            ASKED.add(review);
            boolean allowed = allows(Review.of(review));
            ((ObjectNode) review).putObject("status")
                    .put("allowed", allowed)
                    .put("reason", allowed ? "RBAC: allowed by a RoleBinding" : "RBAC: no rule allows it");
            return JSON.writeValueAsString(review);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
