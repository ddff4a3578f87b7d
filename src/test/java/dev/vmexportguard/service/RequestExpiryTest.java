package dev.vmexportguard.service;

import static dev.vmexportguard.support.Requests.newRequestId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.ScriptedAuthenticator;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;

/**
 * A request that waited longer than {@code guard.request.max-age} (15 min by default) by its record's timestamp, or
 * that is past its own {@code notAfter}, is refused REQUEST_EXPIRED, audited, and does nothing.
 */
@QuarkusTest
class RequestExpiryTest extends GuardIntegrationTest {
    private static final DateTimeFormatter RFC_3339 = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssXXX");

    /** A request by the chat-ops bot for {@code requester}, for vm1 in {@link #ns}; {@code options} as in sendAs. */
    private String request(String id, String requester, String options) {
        return "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\",\"requestedBy\":\""
                + requester + "\"" + options + "}";
    }

    /** A requester no other test names: every SubjectAccessReview about them is one this test caused. */
    private static String uniqueRequester() {
        return "alice-" + newRequestId() + "@example.com";
    }

    /** Nothing was asked about the requester, no image made, no VM locked, no Event posted on the VM. */
    private void assertNothingDoneFor(String requester) {
        assertThat(ScriptedAuthorizer.mentioning(requester)).isEmpty();
        assertThat(cluster.allImages(ns)).isEmpty();
        assertThat(lockOf("vm1")).isNull();
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> cluster.client().v1().events().inNamespace(ns).list().getItems().isEmpty());
    }

    private static void assertExpired(Event rejected, String requester) {
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("REQUEST_EXPIRED");
        assertThat(rejected.message()).endsWith("so nothing was done. Send a new request if the export is still wanted.");
        assertThat(rejected.headers()).containsEntry("ce_type", "dev.vmexportguard.export.rejected");
        assertThat(rejected.body().path("requestedBy").asText()).isEqualTo(requester);
        assertThat(rejected.body().path("caller").asText()).isEqualTo(ScriptedAuthenticator.BOT);
        // decided before the cluster was read: no evidence
        assertThat(rejected.body().path("observed").isNull()).isTrue();
    }

    @Test
    void aRecordWrittenLongerAgoThanTheMaximumAgeIsRefusedExpiredAuditedAndDoesNothing() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();
        String requester = uniqueRequester();
        Instant written = Instant.now().minus(Duration.ofMinutes(20));

        topics.sendAt(written.toEpochMilli(), id, request(id, requester, ""));

        Event rejected = topics.awaitResult(id);
        assertExpired(rejected, requester);
        assertThat(rejected.message()).startsWith("Refused: the request was sent 20m")
                .contains("(at " + written.truncatedTo(ChronoUnit.SECONDS) + ")")
                .contains("(15m, guard.request.max-age)");
        AuditApi.export(id, 2)
                .body("status", equalTo("REJECTED"))
                .body("reason", equalTo("REQUEST_EXPIRED"))
                .body("history.type", contains("RECEIVED", "REJECTED"))
                .body("history[0].requestedBy", equalTo(requester));
        assertNothingDoneFor(requester);
    }

    @Test
    void aRequestPastItsNotAfterIsRefusedExpiredAuditedAndDoesNothing() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();
        String requester = uniqueRequester();
        Instant notAfter = Instant.now().minus(Duration.ofMinutes(1)).truncatedTo(ChronoUnit.SECONDS);

        topics.send(id, request(id, requester,
                ",\"notAfter\":\"" + RFC_3339.format(notAfter.atOffset(ZoneOffset.ofHours(2))) + "\""));

        Event rejected = topics.awaitResult(id);
        assertExpired(rejected, requester);
        assertThat(rejected.message()).startsWith("Refused: the request expired at " + notAfter + " (its notAfter), 1m");
        AuditApi.export(id, 2)
                .body("status", equalTo("REJECTED"))
                .body("reason", equalTo("REQUEST_EXPIRED"))
                .body("history.type", contains("RECEIVED", "REJECTED"));
        assertNothingDoneFor(requester);
    }

    @Test
    void aFreshRecordWithANotAfterStillAheadIsServed() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();
        Instant notAfter = Instant.now().plus(Duration.ofHours(1));

        topics.send(id, request(id, "alice@example.com",
                ",\"notAfter\":\"" + RFC_3339.format(notAfter.atOffset(ZoneOffset.ofHours(-5))) + "\""));

        assertThat(topics.awaitResult(id).type()).isEqualTo("STARTED");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @Test
    void aRecordWrittenWithinTheMaximumAgeIsServed() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();

        topics.sendAt(Instant.now().minus(Duration.ofMinutes(10)).toEpochMilli(), id,
                request(id, "alice@example.com", ""));

        assertThat(topics.awaitResult(id).type()).isEqualTo("STARTED");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @Test
    void anOldRedeliveryOfAnAcceptedRequestIsAnsweredWithItsLatestEventNotRefused() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();
        String json = request(id, "alice@example.com", "");
        topics.send(id, json);
        Event started = topics.awaitResult(id);
        assertThat(started.type()).isEqualTo("STARTED");
        AuditApi.export(id, 2).body("status", equalTo("STARTED"));

        // the same request again, as a producer's retry or a redelivery of a record written 20 minutes ago
        topics.sendAt(Instant.now().minus(Duration.ofMinutes(20)).toEpochMilli(), id, json);

        Event again = topics.awaitResults(id, 2).get(1);
        assertThat(again.type()).isEqualTo("STARTED");
        assertThat(again.body().path("eventId").asText()).isEqualTo(started.body().path("eventId").asText());
        assertThat(cluster.guardImages(ns)).hasSize(1);
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> topics.results(id).stream().noneMatch(e -> e.type().equals("REJECTED")));
    }
}
