package dev.vmexportguard.config;

import static dev.vmexportguard.config.ChangedSettings.DATASCHEMA_BASE;
import static dev.vmexportguard.config.ChangedSettings.HTTP_AUDIENCE;
import static dev.vmexportguard.config.ChangedSettings.KAFKA_AUDIENCE;
import static dev.vmexportguard.config.ChangedSettings.LEASE_NAME;
import static dev.vmexportguard.config.ChangedSettings.LEASE_NAMESPACE;
import static dev.vmexportguard.config.ChangedSettings.REPLICA;
import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vmexportguard.support.ApiServerRequests;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.LostAnswers;
import dev.vmexportguard.support.ScriptedAuthenticator;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Who may ask and for how long a proof holds ({@code guard.authentication.kafka-audiences}, {@code http-audiences},
 * {@code cache-ttl}, {@code intake-max-age}), {@code guard.authorization.cache-allowed-ttl} and {@code cache-denied-ttl}, how many records are held at once ({@code guard.request.max-in-flight}),
 * where the schema is published ({@code guard.events.dataschema-base}) and the leader's lease
 * ({@code guard.leadership.*}), each changed ({@link ChangedSettings}) and its effect seen from outside: on the
 * topics, over HTTP, in the TokenReviews and calls the API server received, and on the Lease.
 */
@QuarkusTest
@TestProfile(ChangedSettings.class)
class AccessAndLeadershipSettingsTest extends GuardIntegrationTest {
    private static final List<String> BOT_GROUPS = List.of("system:serviceaccounts", "system:serviceaccounts:chatops");
    private static final String LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/" + LEASE_NAMESPACE + "/leases/"
            + LEASE_NAME;

    /** Sends a request for {@code vm} in {@code namespace} with {@code token} on Kafka; returns its id. */
    private String sendWith(String token, String namespace, String vm) {
        String id = newRequestId();
        topics.send(id, request(id, namespace, vm, null).getBytes(StandardCharsets.UTF_8),
                Map.of("authorization", "Bearer " + token));
        return id;
    }

    @Test
    void aTokenMintedForAnyOfTheKafkaAudiencesIsAcceptedAndOneForAnotherIsNot() {
        stoppedVm("vm1", DISK);
        String eu = ScriptedAuthenticator.token(ScriptedAuthenticator.BOT, BOT_GROUPS, KAFKA_AUDIENCE);
        String apiServers = ScriptedAuthenticator.token(ScriptedAuthenticator.BOT, BOT_GROUPS,
                ScriptedAuthenticator.API_SERVER);

        String refused = sendWith(apiServers, ns, "vm1");
        String served = sendWith(eu, ns, "vm1");

        Event rejected = awaitFinal(refused);
        assertThat(rejected.reason()).isEqualTo("UNAUTHENTICATED");
        Event started = awaitEvent(served, "STARTED");
        // the review asks for every configured audience
        JsonNode review = ScriptedAuthenticator.reviewsOf(eu).get(0);
        assertThat(review.path("spec").path("audiences").toString())
                .isEqualTo("[\"vm-export-guard\",\"" + KAFKA_AUDIENCE + "\"]");
        assertThat(started.headers().get("ce_dataschema")).isEqualTo(DATASCHEMA_BASE + "export-result-v1.json");
        assertThat(rejected.headers().get("ce_dataschema")).isEqualTo(DATASCHEMA_BASE + "export-result-v1.json");
    }

    @Test
    void overHttpATokenOfAConfiguredAudienceIsAcceptedAndTheGuardsKafkaAudienceIsNot() {
        stoppedVm("vm1", DISK);
        String forHttp = ScriptedAuthenticator.token("portal@example.com", List.of(), HTTP_AUDIENCE);
        String id = newRequestId();

        given().header("Authorization", "Bearer " + forHttp).contentType("application/json")
                .body(request(id, ns, "vm1", null)).post("/api/exports").then().statusCode(202);
        given().header("Authorization", "Bearer " + ScriptedAuthenticator.BOT_TOKEN).contentType("application/json")
                .body(request(newRequestId(), ns, "vm1", null)).post("/api/exports").then().statusCode(401);

        Event started = awaitEvent(id, "STARTED");
        assertThat(started.body().path("caller").asText()).isEqualTo("portal@example.com");
        assertThat(ScriptedAuthenticator.reviewsOf(forHttp).get(0).path("spec").path("audiences").toString())
                .isEqualTo("[\"" + ScriptedAuthenticator.API_SERVER + "\",\"" + HTTP_AUDIENCE + "\"]");
    }

    @Test
    void aTokenIsReviewedAgainOnceItsAnswerIsOlderThanTheCacheTtl() {
        vmWithDisk("vm1", "Running", DISK);
        String token = ScriptedAuthenticator.token(ScriptedAuthenticator.BOT, BOT_GROUPS, ScriptedAuthenticator.GUARD);
        assertThat(awaitFinal(sendWith(token, ns, "vm1")).reason()).isEqualTo("VM_RUNNING");
        int reviewed = ScriptedAuthenticator.reviewsOf(token).size();
        assertThat(reviewed).isEqualTo(1);

        // 1 s; the default of 10 s would answer the next record from the cache
        await().pollDelay(Duration.ofMillis(1500)).until(() -> true);
        assertThat(awaitFinal(sendWith(token, ns, "vm1")).reason()).isEqualTo("VM_RUNNING");

        assertThat(ScriptedAuthenticator.reviewsOf(token)).hasSize(2);
    }

    @Test
    void aSubjectAccessReviewIsReusedForItsTtlWhetherItAllowedOrRefused() {
        vmWithDisk("vm1", "Running", DISK);
        String user = "reused-" + newRequestId().substring(0, 8) + "@example.com";
        AtomicBoolean allowed = new AtomicBoolean(true);
        ScriptedAuthorizer.allowOnly(user, review -> allowed.get());
        String token = ScriptedAuthenticator.token(user, List.of(), ScriptedAuthenticator.GUARD);

        assertThat(reasonOfOwnRequest(token, user)).isEqualTo("VM_RUNNING");
        int asked = ScriptedAuthorizer.asked(user).size();
        assertThat(asked).isPositive();

        // the right taken away: the grant is reused for 4 s (cache-allowed-ttl), with no review, then refused
        allowed.set(false);
        assertThat(reasonOfOwnRequest(token, user)).isEqualTo("VM_RUNNING");
        assertThat(ScriptedAuthorizer.asked(user)).hasSize(asked);
        await().pollDelay(Duration.ofMillis(4500)).until(() -> true);
        assertThat(reasonOfOwnRequest(token, user)).isEqualTo("FORBIDDEN");
        int askedAgain = ScriptedAuthorizer.asked(user).size();
        assertThat(askedAgain).isGreaterThan(asked);

        // granted again: the refusal is reused for 3 s (cache-denied-ttl), then the grant counts
        allowed.set(true);
        assertThat(reasonOfOwnRequest(token, user)).isEqualTo("FORBIDDEN");
        assertThat(ScriptedAuthorizer.asked(user)).hasSize(askedAgain);
        await().pollDelay(Duration.ofMillis(3500)).until(() -> true);
        assertThat(reasonOfOwnRequest(token, user)).isEqualTo("VM_RUNNING");
    }

    /** Sends a request for vm1 in {@link #ns} by {@code user} itself, with its token; the reason of its answer. */
    private String reasonOfOwnRequest(String token, String user) {
        String id = newRequestId();
        topics.send(id, ("{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                        + "\"requestedBy\":\"" + user + "\"}").getBytes(StandardCharsets.UTF_8),
                Map.of("authorization", "Bearer " + token));
        return awaitFinal(id).reason();
    }

    @Test
    void aSealedRequestReplayedAfterTheIntakeMaxAgeIsRefusedAndDoesNothing() {
        vmWithDisk("vm1", "Running", DISK);
        String id = newRequestId();
        given().contentType("application/json").body(request(id, ns, "vm1", null)).post("/api/exports")
                .then().statusCode(202);
        assertThat(awaitFinal(id).reason()).isEqualTo("VM_RUNNING");
        // what the intake put on the topic: the request, the operator's identity and the seal over both
        ConsumerRecord<String, byte[]> sealed = topics.awaitRequest(id);
        Map<String, String> headers = new HashMap<>(GuardTopics.headers(sealed));
        assertThat(headers).containsKeys("vm-export-guard-caller", "vm-export-guard-seal");
        headers.put("authorization", null);
        // the VM is stopped now: a request refused when it was decided is decided anew when sent again
        cluster.vms(ns).withName("vm1").delete();
        await().until(() -> cluster.vms(ns).withName("vm1").get() == null);
        stoppedVm("vm1", "vm1-disk-1");

        // 3 s after it was sealed, the same record is written again as it was
        await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
        topics.send(id, sealed.value(), headers);

        Event replayed = topics.awaitResults(id, 2).get(1);
        assertThat(replayed.type()).isEqualTo("REJECTED");
        assertThat(replayed.reason()).isEqualTo("UNAUTHENTICATED");
        assertThat(replayed.message()).contains("the intake seal is older than 3s");
        assertThat(cluster.allImages(ns)).isEmpty();
        assertThat(cluster.vms(ns).withName("vm1").get().getMetadata().getAnnotations()).isNullOrEmpty();
    }

    @Test
    void beyondMaxInFlightRecordsNoneIsTakenUntilOneIsAnswered() {
        // VMs whose volumes are not there: a refusal for something missing is read again from the API server,
        // which answers this namespace slowly
        cluster.vm(ns, "vm-a", "Running", "a-disk");
        cluster.vm(ns, "vm-b", "Running", "b-disk");
        answerListsSlowly(ns, 1500);
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(other, DISK);
        cluster.vm(other, "vm1", "Running", DISK);

        String a = send("vm-a", null);
        String b = send("vm-b", null);
        String third = sendWith(ScriptedAuthenticator.BOT_TOKEN, other, "vm1");

        // two held (max-in-flight 2), both waiting for the slow namespace: the third is not taken, though two of the
        // four deciding threads are free; with the default of 64 it would be answered at once
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> topics.results(third).isEmpty());
        Event first = awaitFinal(a);
        Event second = awaitFinal(b);
        Event last = awaitFinal(third);
        assertThat(List.of(first.reason(), second.reason())).containsOnly("VOLUME_NOT_FOUND");
        assertThat(last.reason()).isEqualTo("VM_RUNNING");
        assertThat(last.offset()).isGreaterThan(Math.min(first.offset(), second.offset()));
    }

    private static Map<String, Object> leadership() {
        return given().get("/q/health/ready").then().extract().jsonPath()
                .getMap("checks.find { it.name == 'leadership' }.data");
    }

    private static boolean leading() {
        return Boolean.TRUE.equals(leadership().get("leading"));
    }

    private Lease lease() {
        return server.getClient().leases().inNamespace(LEASE_NAMESPACE).withName(LEASE_NAME).get();
    }

    @Test
    void theLeaseInTheConfiguredNamespaceIsHeldUnderTheConfiguredIdentityAndRenewedEveryRetryPeriod() {
        await().atMost(Duration.ofSeconds(30)).until(AccessAndLeadershipSettingsTest::leading);
        assertThat(leadership()).containsEntry("lease", LEASE_NAMESPACE + "/" + LEASE_NAME)
                .containsEntry("replica", REPLICA).containsEntry("leader", REPLICA);
        assertThat(lease().getSpec().getHolderIdentity()).isEqualTo(REPLICA);
        assertThat(lease().getSpec().getLeaseDurationSeconds()).isEqualTo(4);

        try (ApiServerRequests api = new ApiServerRequests(server).recordInBackground()) {
            await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
            long renewals = api.all().stream()
                    .filter(r -> r.path().equals(LEASE_PATH) && r.changes() && r.succeeded()).count();
            // every 500 ms: about six in 3 s (every 2 s by default: one or two)
            assertThat(renewals).isBetween(4L, 8L);
        }
    }

    @Test
    void aLeaderThatCannotRenewStopsLeadingWithinTheRenewDeadlineAndLeadsAgainOnceItCan() {
        await().atMost(Duration.ofSeconds(30)).until(AccessAndLeadershipSettingsTest::leading);
        AtomicBoolean away = new AtomicBoolean();
        LostAnswers.unansweredWhile(server, LEASE_PATH, away::get);

        long cut = System.nanoTime();
        away.set(true);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> !leading());
        long millis = (System.nanoTime() - cut) / 1_000_000;
        // its last renewal was at most one retry period (500 ms) before the cut; 3 s later it stops (10 s by default)
        assertThat(millis).isBetween(2000L, 5000L);

        away.set(false);
        await().atMost(Duration.ofSeconds(15)).until(AccessAndLeadershipSettingsTest::leading);
        stoppedVm("vm1", DISK);
        assertThat(awaitEvent(send("vm1", null), "STARTED").type()).isEqualTo("STARTED");
    }
}
