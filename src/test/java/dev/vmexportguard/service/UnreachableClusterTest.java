package dev.vmexportguard.service;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.support.ScriptedAuthenticator;
import java.time.Duration;
import static org.awaitility.Awaitility.await;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** No API server answers at all: every request is refused, and readiness says why. */
@QuarkusTest
@TestProfile(UnreachableClusterTest.NoApiServer.class)
class UnreachableClusterTest {

    @jakarta.inject.Inject
    AuditLog audit;

    public static class NoApiServer implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // port 1 (tcpmux) is closed on any machine that runs these tests: the connection is refused at once
            return Map.of("quarkus.kubernetes-client.api-server-url", "https://127.0.0.1:1",
                    "quarkus.kubernetes-client.trust-certs", "true",
                    "quarkus.kubernetes-client.connection-timeout", "1S");
        }
    }

    @Test
    void unreachableApiServerRefusesWithClusterUnavailable() {
        GuardTopics topics = GuardTopics.get();
        String id = newRequestId();

        topics.send(id, request(id, "default", "vm1", null));

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
        assertThat(rejected.message()).contains("no answer").contains("nothing was exported");
        // who asks cannot be verified either: the audit API answers 503, and the row is in the database
        given().header("Authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN).get("/api/exports/{id}", id)
                .then().statusCode(503).contentType("application/problem+json")
                .body("title", equalTo("Cannot verify who is asking"));
        await().atMost(Duration.ofSeconds(30)).until(() -> audit.latestEvent(id).isPresent());
        assertThat(audit.latestEvent(id).orElseThrow().reason).isEqualTo("CLUSTER_UNAVAILABLE");
    }

    @Test
    void readinessReportsTheApiServerDown() {
        given().get("/q/health/ready").then().statusCode(503)
                .body("checks.find { it.name == 'kubernetes-api' }.status", equalTo("DOWN"))
                .body("checks.name", hasItem("kubernetes-api"));
    }
}
