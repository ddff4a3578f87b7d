package dev.vmexportguard.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The API server's authorizer as the tests script it: SubjectAccessReviews are allowed unless a rule denies the
 * user a permission; a group named in {@link #ADMIN_GROUP} is allowed everything. Every review asked is kept.
 */
public final class ScriptedAuthorizer {
    public static final String ADMIN_GROUP = "harvester-admins";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> DENIED = ConcurrentHashMap.newKeySet();
    /** Rules that also look at the namespace and name: a review matching one is denied. */
    private static final List<java.util.function.Predicate<JsonNode>> RULES = new CopyOnWriteArrayList<>();
    private static final List<JsonNode> ASKED = new CopyOnWriteArrayList<>();

    private ScriptedAuthorizer() {
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
            boolean denied = !admin && RULES.stream().anyMatch(rule -> rule.test(review)) || !admin && DENIED.contains(key(spec.path("user").asText(), attributes.path("verb").asText(),
                    attributes.path("resource").asText(),
                    attributes.path("subresource").isMissingNode() || attributes.path("subresource").isNull()
                            ? null : attributes.path("subresource").asText()));
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
