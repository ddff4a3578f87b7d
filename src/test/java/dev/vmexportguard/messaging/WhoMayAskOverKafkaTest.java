package dev.vmexportguard.messaging;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.ScriptedAuthenticator;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** On Kafka (token mode, the default) a record proves its sender with a bearer token for the guard's audience. */
@QuarkusTest
class WhoMayAskOverKafkaTest extends GuardIntegrationTest {

    static Stream<Arguments> unproven() {
        Map<String, String> none = new HashMap<>();
        none.put("authorization", null);
        return Stream.of(
                Arguments.of("no authorization header", none, "no authorization header"),
                Arguments.of("unknown token", Map.of("authorization", "Bearer forged"), "token has expired"),
                Arguments.of("expired token", Map.of("authorization", "Bearer " + ScriptedAuthenticator.EXPIRED_TOKEN),
                        "token has expired"),
                Arguments.of("a token of the API server's audience",
                        Map.of("authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN), "audiences"),
                Arguments.of("not a bearer token", Map.of("authorization", "Basic YWxpY2U6c2VjcmV0"),
                        "not 'Bearer <token>'"),
                Arguments.of("a forged intake seal", Map.of("vm-export-guard-caller",
                        "{\"username\":\"admin\",\"groups\":[\"system:masters\"],\"sealedAt\":\"2026-01-01T00:00:00Z\"}",
                        "vm-export-guard-seal", "AAAA"), "seal does not match"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unproven")
    void aRecordWithoutProofOfItsSenderIsRefusedUnauthenticatedAndDoesNothing(String what, Map<String, String> headers,
                                                                             String problem) {
        stoppedVm("vm1", DISK);
        String id = newRequestId();

        topics.send(id, request(id, ns, "vm1", null).getBytes(StandardCharsets.UTF_8), headers);

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.body().path("reason").asText()).isEqualTo("UNAUTHENTICATED");
        assertThat(rejected.body().path("message").asText()).startsWith("Refused: the request carries no proof")
                .contains(problem);
        assertThat(rejected.body().path("caller").isNull()).isTrue();
        assertThat(cluster.guardImages(ns)).isEmpty();
        AuditApi.export(id, 2).body("status", equalTo("REJECTED")).body("reason", equalTo("UNAUTHENTICATED"))
                .body("history[0].type", equalTo("RECEIVED"));
        // nor is a warning posted on the VM by someone unknown
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> cluster.client().v1().events().inNamespace(ns).list().getItems().isEmpty());
        // the token itself was asked about only for the guard's audience, never kept
        AuditApi.export(id, 2).body("history.payload.findAll { it != null }.every { !it.contains('token-') }",
                equalTo(true));
    }

    @Test
    void theBotsTokenIsCheckedForTheGuardsAudienceAndTheBotIsRecordedAsCaller() {
        stoppedVm("vm1", DISK);
        String id = send("vm1", null);

        Event started = awaitEvent(id, "STARTED");
        assertThat(started.body().path("caller").asText()).isEqualTo(ScriptedAuthenticator.BOT);
        assertThat(started.body().path("requestedBy").asText()).isEqualTo("alice@example.com");
        assertThat(ScriptedAuthenticator.reviewsOf(ScriptedAuthenticator.BOT_TOKEN)).isNotEmpty()
                .allSatisfy(r -> assertThat(r.path("spec").path("audiences").get(0).asText())
                        .isEqualTo(ScriptedAuthenticator.GUARD));
        AuditApi.export(id, 2).body("history[0].caller", equalTo(ScriptedAuthenticator.BOT))
                .body("history[0].requestedBy", equalTo("alice@example.com"));
    }

    @Test
    void aTokensAnswerIsReusedBrieflyAndNeverAskedAgainForEachRecord() {
        stoppedVm("vm1", DISK);
        String bot = "bot-" + ns;
        String token = ScriptedAuthenticator.token(bot, List.of(), ScriptedAuthenticator.GUARD);
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String id = newRequestId();
            ids.add(id);
            topics.send(id, ("{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"ghost-" + i
                    + "\",\"requestedBy\":\"" + bot + "\"}").getBytes(StandardCharsets.UTF_8),
                    Map.of("authorization", "Bearer " + token));
        }

        ids.forEach(id -> assertThat(topics.awaitResult(id).reason()).isEqualTo("VM_NOT_FOUND"));
        // one TokenReview for the three records (guard.authentication.cache-ttl, 10 s)
        assertThat(ScriptedAuthenticator.reviewsOf(token)).hasSize(1);
    }

    @Test
    void aBotThatMayNotImpersonateTheRequesterIsRefusedForbidden() {
        stoppedVm("vm1", DISK);
        String bot = "bot-" + ns;
        String token = ScriptedAuthenticator.token(bot, List.of(), ScriptedAuthenticator.GUARD);
        ScriptedAuthorizer.deny(bot, ScriptedAuthorizer.Rule.of("", "users", "impersonate").named("mallory@example.com"));
        String allowed = newRequestId();
        String denied = newRequestId();

        topics.send(allowed, request(allowed, ns, "vm1", null).getBytes(StandardCharsets.UTF_8),
                Map.of("authorization", "Bearer " + token));
        awaitEvent(allowed, "STARTED");
        simulatorCompletesEveryImage();
        awaitFinal(allowed);
        topics.send(denied, ("{\"requestId\":\"" + denied + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                + "\"requestedBy\":\"mallory@example.com\"}").getBytes(StandardCharsets.UTF_8),
                Map.of("authorization", "Bearer " + token));

        Event rejected = topics.awaitResult(denied);
        assertThat(rejected.body().path("reason").asText()).isEqualTo("FORBIDDEN");
        assertThat(rejected.body().path("message").asText())
                .isEqualTo("Refused: " + bot + " may not impersonate users mallory@example.com cluster-wide, so it"
                        + " cannot ask on that person's behalf; nothing was done. Grant it that impersonation (narrowly,"
                        + " with resourceNames), or send the request as the requester.");
        assertThat(ScriptedAuthorizer.asked("mallory@example.com")).isEmpty();
    }

    @Test
    void eachGroupNamedIsImpersonatedToo() {
        stoppedVm("vm1", DISK);
        String bot = "bot-" + ns;
        String token = ScriptedAuthenticator.token(bot, List.of(), ScriptedAuthenticator.GUARD);
        ScriptedAuthorizer.deny(bot, ScriptedAuthorizer.Rule.of("", "groups", "impersonate").named("vm-operators"));
        String id = newRequestId();

        topics.send(id, ("{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                + "\"requestedBy\":\"alice@example.com\",\"requestedByGroups\":[\"team-a\",\"vm-operators\"]}")
                .getBytes(StandardCharsets.UTF_8), Map.of("authorization", "Bearer " + token));

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.body().path("reason").asText()).isEqualTo("FORBIDDEN");
        assertThat(rejected.body().path("message").asText()).startsWith("Refused: " + bot
                + " may not impersonate groups vm-operators cluster-wide, so it cannot ask on that person's behalf;");
    }

    @Test
    void aSystemGroupIsNeverNamedByARequest() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();

        topics.send(id, "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                + "\"requestedBy\":\"alice@example.com\",\"requestedByGroups\":[\"system:masters\"]}");

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.body().path("reason").asText()).isEqualTo("INVALID_REQUEST");
        assertThat(rejected.body().path("message").asText()).contains("requestedByGroups: must not name system: groups");
        assertThat(ScriptedAuthorizer.asked("alice@example.com"))
                .noneMatch(r -> ns.equals(r.path("spec").path("resourceAttributes").path("namespace").asText()));
    }

    @Test
    void theDeadLetterCopyKeepsTheValueAndHeadersButNotTheToken() {
        String id = newRequestId();
        byte[] value = ("{\"requestId\":\"" + id + "\",\"namespace\":\"Not A Namespace\"}").getBytes(StandardCharsets.UTF_8);

        var sent = topics.send(id, value, Map.of("x-trace", "abc"));

        ConsumerRecord<String, byte[]> copy = topics.awaitDeadLetter(sent.offset());
        assertThat(copy.value()).isEqualTo(value);
        Map<String, String> headers = GuardTopics.headers(copy);
        assertThat(headers).containsEntry("x-trace", "abc").containsEntry("dead-letter-cause", "INVALID_REQUEST")
                .doesNotContainKey("authorization");
        copy.headers().forEach(h -> assertThat(new String(h.value(), StandardCharsets.UTF_8))
                .doesNotContain(ScriptedAuthenticator.BOT_TOKEN));
    }

    private void simulatorCompletesEveryImage() {
        cluster.guardImages(ns).forEach(i -> simulator.complete(ns, i.getMetadata().getName(), 1));
    }
}
