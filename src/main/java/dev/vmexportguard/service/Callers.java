package dev.vmexportguard.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.TokenReviews;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Authority;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.export.Rights;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Who sent a request, proven and never claimed: a bearer token the API server accepts (TokenReview), or, for a
 * request the guard's own HTTP intake put on the topic, the identity the intake proved, sealed with a key only the
 * guard's replicas hold (kept in the database, made at first start). A seal covers the record's value and is
 * refused after {@code guard.authentication.intake-max-age}.
 */
@ApplicationScoped
public class Callers {
    /** The header with the identity the intake proved, and the header with its seal. */
    public static final String CALLER_HEADER = "vm-export-guard-caller";
    public static final String SEAL_HEADER = "vm-export-guard-seal";
    private static final String BEARER = "bearer ";
    private static final String KEY_NAME = "intake-seal";
    private static final Duration CLOCK_SKEW = Duration.ofMinutes(1);

    /** Who sent a request: proven, trusted without proof (trusted producers), or refused with the reason. */
    public record Caller(Identity identity, String problem) {
        public static final Caller TRUSTED = new Caller(null, null);

        public static Caller proven(Identity identity) {
            return new Caller(identity, null);
        }

        public static Caller refused(String problem) {
            return new Caller(null, problem);
        }

        public boolean refused() {
            return problem != null;
        }

        public String username() {
            return identity == null ? null : identity.username();
        }
    }

    /** What a Kafka record carries that can prove who sent it: its value and its headers. */
    public record Proof(byte[] value, Map<String, String> headers) {
    }

    private record Sealed(String username, List<String> groups, Instant sealedAt) {
    }

    private final TokenReviews tokens;
    private final Rights rights;
    private final GuardConfig.Authentication config;
    private final EntityManager em;
    private final ObjectMapper json;
    private final Clock clock;
    private volatile byte[] key;

    public Callers(TokenReviews tokens, Rights rights, GuardConfig config, EntityManager em, ObjectMapper json,
                   Clock clock) {
        this.tokens = tokens;
        this.rights = rights;
        this.config = config.authentication();
        this.em = em;
        this.json = json;
        this.clock = clock;
    }

    /** The API server, which answers who a token is and what it may do, cannot be asked now. */
    public static class CannotVerify extends RuntimeException {
        CannotVerify(ClusterAccessException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** An HTTP caller, from its {@code Authorization} header. */
    public Caller ofHttp(String authorization) {
        try {
            return bearer(authorization, config.httpAudiences().orElse(List.of()));
        } catch (ClusterAccessException e) {
            throw new CannotVerify(e);
        }
    }

    /** {@link #actingFor} for an HTTP caller, proven: the refusal's message, or null when it may. */
    public String forbiddenOverHttp(Identity caller, ExportRequest request) {
        try {
            return actingFor(Caller.proven(caller), request).forbidden();
        } catch (ClusterAccessException e) {
            throw new CannotVerify(e);
        }
    }

    /**
     * The sender of a Kafka record: a valid seal of the intake, else the bearer token of its {@code authorization}
     * header; a record with neither is trusted only when {@code guard.authentication.kafka=trusted}.
     */
    public Caller ofRecord(Proof proof) {
        byte[] value = proof.value();
        Map<String, String> headers = proof.headers();
        if (headers.get(SEAL_HEADER) != null || headers.get(CALLER_HEADER) != null) {
            return unseal(value, headers.get(CALLER_HEADER), headers.get(SEAL_HEADER));
        }
        if (headers.get("authorization") != null) {
            return bearer(headers.get("authorization"), config.kafkaAudiences());
        }
        return config.kafka() == GuardConfig.Authentication.KafkaMode.TRUSTED ? Caller.TRUSTED
                : Caller.refused("no authorization header");
    }

    /**
     * Who {@code caller} acts for with {@code request}, or, when it may not impersonate them, the refusal's message
     * (asked of the API server as {@code kubectl --as} would be, unless {@code guard.authorization.mode=none}).
     */
    public Acting actingFor(Caller caller, ExportRequest request) {
        Authority.Acting acting = Authority.acting(caller.identity(), request.requestedBy(), request.requestedByGroups());
        return new Acting(acting.requester(), caller.identity() == null ? null
                : rights.toActFor(caller.identity(), acting).orElse(null));
    }

    /** The requester a caller acts for, or why it may not ({@code forbidden}, the refusal's message). */
    public record Acting(Identity requester, String forbidden) {
    }

    /** The headers that carry {@code caller}, proven over HTTP, with a request put on the topic. */
    public Map<String, String> seal(Identity caller, byte[] value) {
        try {
            String sealed = json.writeValueAsString(new Sealed(caller.username(), caller.groups(), clock.instant()));
            return Map.of(CALLER_HEADER, sealed, SEAL_HEADER, mac(sealed, value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("caller not serializable", e);
        }
    }

    private Caller bearer(String authorization, List<String> audiences) {
        if (authorization == null || authorization.isBlank()) {
            return Caller.refused("no bearer token");
        }
        if (!authorization.toLowerCase(Locale.ROOT).startsWith(BEARER)
                || authorization.substring(BEARER.length()).isBlank()) {
            return Caller.refused("the authorization header is not 'Bearer <token>'");
        }
        TokenReviews.Outcome outcome = tokens.review(authorization.substring(BEARER.length()).trim(), audiences);
        return outcome.authenticated() ? Caller.proven(outcome.identity()) : Caller.refused(outcome.problem());
    }

    private Caller unseal(byte[] value, String sealed, String seal) {
        if (sealed == null || seal == null
                || !MessageDigest.isEqual(mac(sealed, value).getBytes(StandardCharsets.US_ASCII),
                seal.getBytes(StandardCharsets.US_ASCII))) {
            return Caller.refused("the intake seal does not match the record");
        }
        Sealed caller;
        try {
            caller = json.readValue(sealed, Sealed.class);
        } catch (JsonProcessingException e) {
            return Caller.refused("the sealed caller is unreadable");
        }
        Instant now = clock.instant();
        if (caller.sealedAt() == null || caller.sealedAt().isAfter(now.plus(CLOCK_SKEW))
                || caller.sealedAt().plus(config.intakeMaxAge()).isBefore(now)) {
            return Caller.refused("the intake seal is older than " + Messages.human(config.intakeMaxAge()));
        }
        return Caller.proven(new Identity(caller.username(), caller.groups()));
    }

    private String mac(String sealed, byte[] value) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key(), "HmacSHA256"));
            mac.update(sealed.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            mac.update(value == null ? new byte[0] : value);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The replicas' shared key: made by whichever replica needs it first, then read by all. */
    private byte[] key() {
        byte[] known = key;
        if (known != null) {
            return known;
        }
        byte[] candidate = new byte[32];
        new SecureRandom().nextBytes(candidate);
        byte[] shared = QuarkusTransaction.requiringNew().call(() -> {
            em.createNativeQuery("insert into guard_key (name, secret) values (?1, ?2) on conflict (name) do nothing")
                    .setParameter(1, KEY_NAME).setParameter(2, candidate).executeUpdate();
            return (byte[]) em.createNativeQuery("select secret from guard_key where name = ?1")
                    .setParameter(1, KEY_NAME).getSingleResult();
        });
        key = shared;
        return shared;
    }
}
