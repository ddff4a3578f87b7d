package dev.vmexportguard.config;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * Settings of the README changed from their defaults together, in one start of the guard: the API server's retries,
 * the dispatch's round and the largest age of a record ({@link ClusterAndDispatchSettingsTest}); who may ask and how
 * long proofs hold, the records held at once, the schema's address and the leader's lease
 * ({@link AccessAndLeadershipSettingsTest}). Each is chosen so that the tests of the others still hold.
 */
public class ChangedSettings implements QuarkusTestProfile {
    static final String KAFKA_AUDIENCE = "guard-eu";
    static final String HTTP_AUDIENCE = "guard-http";
    static final String DATASCHEMA_BASE = "https://guard.example/contracts/";
    static final String LEASE_NAMESPACE = "guard-settings";
    /**
     * The default name: the Role that lets the guard hold its Lease names it ({@code resourceNames}), and every call
     * of the tests is checked against the shipped roles (GuardRbacIT).
     */
    static final String LEASE_NAME = "vm-export-guard-leader";
    static final String REPLICA = "settings-replica";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.ofEntries(
                Map.entry("guard.cluster.max-attempts", "3"),
                Map.entry("guard.cluster.initial-backoff", "500ms"),
                Map.entry("guard.cluster.max-backoff", "600ms"),
                Map.entry("guard.exports.dispatch-interval", "1h"),
                Map.entry("guard.request.max-age", "1m"),
                // the default audience stays, so that the bot's token works as everywhere else
                Map.entry("guard.authentication.kafka-audiences", "vm-export-guard," + KAFKA_AUDIENCE),
                Map.entry("guard.authentication.http-audiences",
                        "https://kubernetes.default.svc.cluster.local," + HTTP_AUDIENCE),
                Map.entry("guard.authentication.cache-ttl", "1s"),
                Map.entry("guard.authorization.cache-allowed-ttl", "4s"),
                Map.entry("guard.authorization.cache-denied-ttl", "3s"),
                Map.entry("guard.authentication.intake-max-age", "3s"),
                Map.entry("guard.request.max-in-flight", "2"),
                Map.entry("guard.events.dataschema-base", DATASCHEMA_BASE),
                Map.entry("guard.leadership.lease-namespace", LEASE_NAMESPACE),
                Map.entry("guard.leadership.identity", REPLICA),
                Map.entry("guard.leadership.lease-duration", "4s"),
                Map.entry("guard.leadership.renew-deadline", "3s"),
                Map.entry("guard.leadership.retry-period", "500ms"));
    }
}
