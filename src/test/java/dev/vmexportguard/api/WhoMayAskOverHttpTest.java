package dev.vmexportguard.api;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.ScriptedAuthenticator;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.ValidatableResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Over HTTP the caller is whoever its bearer token proves; it acts for others only as Kubernetes impersonation. */
@QuarkusTest
class WhoMayAskOverHttpTest extends GuardIntegrationTest {

    /** Posts as the holder of {@code token} (in place of the operator every other call is made as). */
    static ValidatableResponse post(String token, String body) {
        var spec = given().contentType("application/json").body(body);
        if (token != null) {
            spec = spec.header("Authorization", "Bearer " + token);
        }
        return spec.post("/api/exports").then();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Basic b3BlcmF0b3I6cGFzcw==", "Bearer not-a-known-token",
            "Bearer " + ScriptedAuthenticator.EXPIRED_TOKEN})
    void noTokenOrOneTheClusterDoesNotAcceptIsAnswered401(String authorization) {
        RestAssured.requestSpecification = null;
        String id = newRequestId();
        var spec = given().contentType("application/json").body(request(id, ns, "vm1", null));
        if (!authorization.isEmpty()) {
            spec = spec.header("Authorization", authorization);
        }

        spec.post("/api/exports").then().statusCode(401)
                .contentType("application/problem+json")
                .header("WWW-Authenticate", containsString("Bearer"))
                .body("title", equalTo("Not authenticated"));
        given().header("Authorization", authorization).get("/api/audit").then().statusCode(401);
        given().get("/api/exports/{id}", id).then().statusCode(401);
        // nothing reached the topic, and the token is not what the guard keeps
        assertThat(topics.results(id)).isEmpty();
    }

    @Test
    void healthStaysOpen() {
        RestAssured.requestSpecification = null;
        given().get("/q/health/live").then().statusCode(200);
    }

    @Test
    void aTokenOfAnotherAudienceIsNotAcceptedOverHttp() {
        // the bot's token is minted for the guard's Kafka audience, not for the API server's
        post(ScriptedAuthenticator.BOT_TOKEN, request(newRequestId(), ns, "vm1", null)).statusCode(401);
    }

    @Test
    void theCallerActsForItselfAndIsRecordedAsTheCaller() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();
        String body = "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                + "\"requestedBy\":\"" + ScriptedAuthenticator.OPERATOR + "\"}";

        post(ScriptedAuthenticator.OPERATOR_TOKEN, body).statusCode(202);

        Event started = awaitEvent(id, "STARTED");
        assertThat(started.body().path("requestedBy").asText()).isEqualTo(ScriptedAuthenticator.OPERATOR);
        assertThat(started.body().path("caller").asText()).isEqualTo(ScriptedAuthenticator.OPERATOR);
        // no impersonation was asked: the operator acts for itself
        assertThat(ScriptedAuthorizer.asked(ScriptedAuthenticator.OPERATOR))
                .noneMatch(r -> "impersonate".equals(r.path("spec").path("resourceAttributes").path("verb").asText()));
    }

    @Test
    void aBotThatMayImpersonateActsForThePersonAndBothAreAudited() {
        stoppedVm("vm1", DISK);
        String bot = "bot-" + ns;
        String token = ScriptedAuthenticator.token(bot, List.of(), ScriptedAuthenticator.API_SERVER);
        String id = newRequestId();

        post(token, request(id, ns, "vm1", null)).statusCode(202);

        Event started = awaitEvent(id, "STARTED");
        assertThat(started.body().path("requestedBy").asText()).isEqualTo("alice@example.com");
        assertThat(started.body().path("caller").asText()).isEqualTo(bot);
        assertThat(ScriptedAuthorizer.asked(bot)).anySatisfy(r -> {
            assertThat(r.path("spec").path("resourceAttributes").path("verb").asText()).isEqualTo("impersonate");
            assertThat(r.path("spec").path("resourceAttributes").path("resource").asText()).isEqualTo("users");
            assertThat(r.path("spec").path("resourceAttributes").path("name").asText()).isEqualTo("alice@example.com");
        });
        AuditApi.export(id, 2).body("caller", equalTo(bot)).body("requestedBy", equalTo("alice@example.com"))
                .body("history.caller", everyItem(equalTo(bot)));
    }

    @Test
    void aBotThatMayNotImpersonateIsAnswered403AtOnceAndTheRefusalIsAudited() {
        stoppedVm("vm1", DISK);
        String bot = "bot-" + ns;
        String token = ScriptedAuthenticator.token(bot, List.of(), ScriptedAuthenticator.API_SERVER);
        ScriptedAuthorizer.deny(bot, ScriptedAuthorizer.Rule.of("", "users", "impersonate"));
        String id = newRequestId();

        post(token, request(id, ns, "vm1", null)).statusCode(403)
                .contentType("application/problem+json")
                .body("detail", containsString(bot + " may not impersonate users alice@example.com cluster-wide"));

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.body().path("reason").asText()).isEqualTo("FORBIDDEN");
        assertThat(rejected.body().path("message").asText())
                .isEqualTo("Refused: " + bot + " may not impersonate users alice@example.com cluster-wide, so it cannot"
                        + " ask on that person's behalf; nothing was done. Grant it that impersonation (narrowly, with"
                        + " resourceNames), or send the request as the requester.");
        assertThat(rejected.body().path("caller").asText()).isEqualTo(bot);
        assertThat(cluster.guardImages(ns)).isEmpty();
        // nobody's rights were asked for the export itself
        assertThat(ScriptedAuthorizer.asked("alice@example.com"))
                .noneMatch(r -> ns.equals(r.path("spec").path("resourceAttributes").path("namespace").asText()));
        AuditApi.export(id, 2).body("reason", equalTo("FORBIDDEN")).body("caller", equalTo(bot));
        // a refusal of who may ask writes no warning on the VM it names
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> cluster.client().v1().events().inNamespace(ns).list().getItems().isEmpty());
    }

    @Test
    void aBodyOver64KiBIsRefused413() {
        String big = "{\"requestId\":\"" + newRequestId() + "\",\"reason\":\"" + "x".repeat(70 * 1024) + "\"}";

        given().contentType("application/json").body(big).post("/api/exports").then().statusCode(413);
    }

    @Test
    void auditRowsOfANamespaceTheReaderMayNotListAreNeitherReturnedNorCounted() {
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(ns, DISK);
        cluster.vm(ns, "vm1", "Running", DISK);
        cluster.volume(other, DISK);
        cluster.vm(other, "vm1", "Running", DISK);
        String mine = newRequestId();
        String theirs = newRequestId();
        topics.send(mine, request(mine, ns, "vm1", null));
        topics.send(theirs, request(theirs, other, "vm1", null));
        AuditApi.export(mine, 2);
        AuditApi.export(theirs, 2);
        String reader = "reader-" + ns;
        String token = ScriptedAuthenticator.token(reader, List.of(), ScriptedAuthenticator.API_SERVER);
        // an auditor of this namespace only: a RoleBinding of the auditor role in it
        ScriptedAuthorizer.bindClusterRole(reader, ns, java.nio.file.Path.of("k8s/rbac/vm-export-guard-auditor.yaml"));
        RestAssured.requestSpecification = null;

        given().header("Authorization", "Bearer " + token).get("/api/audit?limit=500").then().statusCode(200)
                .body("items.requestId", hasItem(mine))
                .body("items.requestId", not(hasItem(theirs)))
                .body("items.namespace", everyItem(equalTo(ns)));
        given().header("Authorization", "Bearer " + token).get("/api/audit?namespace=" + other).then()
                .statusCode(200).body("items", org.hamcrest.Matchers.empty());
        given().header("Authorization", "Bearer " + token).get("/api/audit?requestId=" + theirs).then()
                .statusCode(200).body("items", org.hamcrest.Matchers.empty());
        given().header("Authorization", "Bearer " + token).get("/api/exports/{id}", theirs).then().statusCode(404);
        given().header("Authorization", "Bearer " + token).get("/api/exports/{id}", mine).then().statusCode(200)
                .body("status", equalTo("REJECTED"));
        // the question asked was the one the README names: list exportaudits (vm-export-guard.dev) per namespace
        assertThat(ScriptedAuthorizer.asked(reader)).anySatisfy(r -> {
            var attributes = r.path("spec").path("resourceAttributes");
            assertThat(attributes.path("group").asText()).isEqualTo("vm-export-guard.dev");
            assertThat(attributes.path("resource").asText()).isEqualTo("exportaudits");
            assertThat(attributes.path("verb").asText()).isEqualTo("list");
            assertThat(attributes.path("namespace").asText()).isEqualTo(ns);
        });
    }

    @Test
    void aRequestsHistoryIsPaged() {
        cluster.volume(ns, DISK);
        cluster.vm(ns, "vm1", "Running", DISK);
        String id = newRequestId();
        for (int i = 0; i < 3; i++) {
            topics.send(id, request(id, ns, "vm1", null));
        }
        topics.awaitResults(id, 3);
        AuditApi.export(id, 6);

        var first = given().get("/api/exports/{id}?limit=4", id).then().statusCode(200).extract().jsonPath();
        assertThat(first.getList("history")).hasSize(4);
        String cursor = first.getString("nextCursor");
        assertThat(cursor).isNotNull();
        var second = given().get("/api/exports/{id}?limit=4&cursor=" + cursor, id).then().statusCode(200)
                .extract().jsonPath();
        assertThat(second.getList("history")).hasSize(2);
        assertThat(second.getString("nextCursor")).isNull();
        assertThat(second.getString("status")).isEqualTo("REJECTED");
        given().get("/api/exports/{id}?limit=501", id).then().statusCode(400);
    }
}
