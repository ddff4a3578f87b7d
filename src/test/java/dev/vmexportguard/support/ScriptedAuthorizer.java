package dev.vmexportguard.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * The API server's authorizer as the tests script it: SubjectAccessReviews are allowed unless a rule denies the
 * user a permission, or the user's rights are listed ({@link #allowOnly}) and do not include it; a group named in
 * {@link #ADMIN_GROUP} is allowed everything. Every review asked is kept.
 */
public final class ScriptedAuthorizer {
    public static final String ADMIN_GROUP = "harvester-admins";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> DENIED = ConcurrentHashMap.newKeySet();
    /** Rules that also look at the namespace and name: a review matching one is denied. */
    private static final List<java.util.function.Predicate<JsonNode>> RULES = new CopyOnWriteArrayList<>();
    /** Users whose rights are listed, like an RBAC Role's rules: what the list does not allow is denied. */
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

    private ScriptedAuthorizer() {
    }

    /**
     * Lists {@code user}'s rights: a review of theirs is allowed only when {@code allows} accepts it (and no rule
     * denies it); the {@link #ADMIN_GROUP} still allows everything.
     */
    public static void allowOnly(String user, Predicate<Review> allows) {
        ONLY.put(user, allows);
    }

    /** {@code subresource} may be null. */
    public static void deny(String user, String verb, String resource, String subresource) {
        DENIED.add(key(user, verb, resource, subresource));
    }

    /** Denies {@code user} {@code verb} on {@code resource}/{@code subresource} named {@code name} only. */
    public static void denyOn(String user, String verb, String resource, String subresource, String name) {
        RULES.add(review -> user.equals(review.path("spec").path("user").asText())
                && attributes(review).equals(List.of(verb, resource, subresource == null ? "" : subresource))
                && name.equals(review.path("spec").path("resourceAttributes").path("name").asText()));
    }

    /** Denies {@code user} {@code verb} on {@code resource} anywhere but in {@code namespace} (also cluster-wide). */
    public static void denyOutside(String user, String verb, String resource, String namespace) {
        RULES.add(review -> user.equals(review.path("spec").path("user").asText())
                && attributes(review).equals(List.of(verb, resource, ""))
                && !namespace.equals(review.path("spec").path("resourceAttributes").path("namespace").asText()));
    }

    private static List<String> attributes(JsonNode review) {
        JsonNode a = review.path("spec").path("resourceAttributes");
        return List.of(a.path("verb").asText(), a.path("resource").asText(), a.path("subresource").asText(""));
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
            JsonNode spec = review.path("spec");
            JsonNode attributes = spec.path("resourceAttributes");
            boolean admin = false;
            for (JsonNode group : spec.path("groups")) {
                admin |= ADMIN_GROUP.equals(group.asText());
            }
            Predicate<Review> listed = ONLY.get(spec.path("user").asText());
            boolean denied = !admin && RULES.stream().anyMatch(rule -> rule.test(review)) || !admin && DENIED.contains(key(spec.path("user").asText(), attributes.path("verb").asText(),
                    attributes.path("resource").asText(),
                    attributes.path("subresource").isMissingNode() || attributes.path("subresource").isNull()
                            ? null : attributes.path("subresource").asText()))
                    || !admin && listed != null && !listed.test(Review.of(review));
            ((com.fasterxml.jackson.databind.node.ObjectNode) review).putObject("status")
                    .put("allowed", !denied)
                    .put("reason", denied ? "RBAC: no rule allows it" : "RBAC: allowed by a RoleBinding");
            return JSON.writeValueAsString(review);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String key(String user, String verb, String resource, String subresource) {
        return user + "|" + verb + "|" + resource + "|" + (subresource == null || subresource.isEmpty() ? "" : subresource);
    }
}
