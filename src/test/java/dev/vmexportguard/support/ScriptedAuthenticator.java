package dev.vmexportguard.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The API server's authenticator as the tests script it: answers TokenReviews for the tokens registered here, as
 * the API server does (201 with {@code status.authenticated}; false for an unknown or expired token, or for a token
 * of another audience than those asked). Every review asked is kept, with the token it named.
 */
public final class ScriptedAuthenticator {
    /** The API server's own audience: a review that names none asks for it. */
    public static final String API_SERVER = "https://kubernetes.default.svc.cluster.local";
    /** The audience the guard asks tokens on Kafka to be minted for. */
    public static final String GUARD = "vm-export-guard";
    /** A chat-ops bot's ServiceAccount token for the guard: what the tests send on Kafka unless they say otherwise. */
    public static final String BOT = "system:serviceaccount:chatops:chatops-bot";
    public static final String BOT_TOKEN = "token-chatops-bot";
    /** An operator's own token (the API server's audience), in the group the scripted authorizer allows all. */
    public static final String OPERATOR = "operator@example.com";
    public static final String OPERATOR_TOKEN = "token-operator";
    /** A token the API server no longer accepts. */
    public static final String EXPIRED_TOKEN = "token-expired";

    private record Known(String user, List<String> groups, Set<String> audiences) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Known> TOKENS = new ConcurrentHashMap<>();
    private static final List<JsonNode> ASKED = new CopyOnWriteArrayList<>();

    static {
        TOKENS.put(BOT_TOKEN, new Known(BOT, List.of("system:serviceaccounts", "system:serviceaccounts:chatops",
                "system:authenticated"), Set.of(GUARD)));
        TOKENS.put(OPERATOR_TOKEN, new Known(OPERATOR, List.of(ScriptedAuthorizer.ADMIN_GROUP, "system:authenticated"),
                Set.of(API_SERVER)));
    }

    private ScriptedAuthenticator() {
    }

    /** Forgets every token, the fixed ones above too: the API server then accepts only tokens made after. */
    public static void forgetAll() {
        TOKENS.clear();
    }

    /** A new token of {@code user} in {@code groups} (and system:authenticated), for {@code audiences}. */
    public static String token(String user, List<String> groups, String... audiences) {
        String token = "token-" + UUID.randomUUID();
        List<String> all = new java.util.ArrayList<>(groups);
        all.add("system:authenticated");
        TOKENS.put(token, new Known(user, List.copyOf(all), Set.of(audiences)));
        return token;
    }

    /** Who {@code token} was made for (user name and groups); empty for a token not made here. */
    public static java.util.Optional<dev.vmexportguard.decision.Identity> identity(String token) {
        return java.util.Optional.ofNullable(token == null ? null : TOKENS.get(token))
                .map(k -> new dev.vmexportguard.decision.Identity(k.user(), k.groups()));
    }

    /** The reviews asked for {@code token}. */
    public static List<JsonNode> reviewsOf(String token) {
        return ASKED.stream().filter(r -> token.equals(r.path("spec").path("token").asText())).toList();
    }

    static String answer(RecordedRequest request) {
        try {
            JsonNode review = JSON.readTree(request.getUtf8Body());
            ASKED.add(review.deepCopy());
            JsonNode spec = review.path("spec");
            Known known = TOKENS.get(spec.path("token").asText());
            Set<String> asked = new java.util.LinkedHashSet<>();
            spec.path("audiences").forEach(a -> asked.add(a.asText()));
            if (asked.isEmpty()) {
                asked.add(API_SERVER);
            }
            ObjectNode status = ((ObjectNode) review).putObject("status");
            if (known == null) {
                status.put("authenticated", false).put("error", "[invalid bearer token, token has expired]");
            } else if (asked.stream().noneMatch(known.audiences()::contains)) {
                status.put("authenticated", false).put("error", "[invalid bearer token, token audiences "
                        + known.audiences() + " is invalid for the target audiences " + asked + "]");
            } else {
                status.put("authenticated", true);
                ObjectNode user = status.putObject("user").put("username", known.user())
                        .put("uid", UUID.nameUUIDFromBytes(known.user().getBytes()).toString());
                known.groups().forEach(user.putArray("groups")::add);
                asked.stream().filter(known.audiences()::contains).forEach(status.putArray("audiences")::add);
            }
            return JSON.writeValueAsString(review);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
