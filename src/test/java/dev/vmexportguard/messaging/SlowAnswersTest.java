package dev.vmexportguard.messaging;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterCluster;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An API server that answers one namespace slowly: requests for other namespaces are not held back, requests for
 * one volume are still decided in order, and a request whose reads outlast its deadline is refused, not held. Every
 * decision reads the API server here ({@code guard.request.decide-on-watches=false}), as decisions do while the
 * watches are down.
 */
@QuarkusTest
@TestProfile(SlowAnswersTest.ShortDeadline.class)
class SlowAnswersTest extends GuardIntegrationTest {
    private static final long SLOW_READ_MILLIS = 200;

    public static class ShortDeadline implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // five reads of 200 ms fit in it; one of 8 s does not; every decision reads the API server
            return Map.of("guard.request.decision-timeout", "6s", "guard.request.concurrency", "4",
                    "guard.request.decide-on-watches", "false");
        }
    }

    @Test
    void aNamespaceWithSlowReadsDoesNotHoldBackAnotherAndEveryRequestIsAnswered() {
        List<String> slow = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            vmWithDisk("vm-" + i, "Running", "vm-" + i + "-disk");
        }
        answerListsSlowly(ns, SLOW_READ_MILLIS);
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(other, "web-disk");
        cluster.vm(other, "web", "Running", "web-disk");

        for (int i = 0; i < 40; i++) {
            slow.add(send(null, "vm-" + i + "-disk"));
        }
        String fast = Requests.sendTo(topics, other, "web", null);

        Event fastAnswer = awaitFinal(fast);
        assertThat(fastAnswer.reason()).isEqualTo("VM_RUNNING");
        List<Event> slowAnswers = slow.stream().map(this::awaitFinal).toList();
        for (int i = 0; i < 40; i++) {
            Event answer = slowAnswers.get(i);
            assertThat(answer.type()).isEqualTo("REJECTED");
            assertThat(answer.reason()).isEqualTo("VM_RUNNING");
            assertThat(answer.body().path("vmName").asText()).isEqualTo("vm-" + i);
        }
        // the other namespace's answer came out before nearly all of the slow namespace's: it did not wait its turn
        // behind the forty (the result topic has one partition: offsets are the order of publication)
        long decidedBefore = slowAnswers.stream().filter(e -> e.offset() < fastAnswer.offset()).count();
        assertThat(decidedBefore).isLessThan(10);

        List<String> all = new ArrayList<>(slow);
        all.add(fast);
        // nothing more comes: one final event each, nothing dead-lettered
        await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() -> true);
        for (String id : all) {
            assertThat(topics.results(id)).hasSize(1);
        }
        assertThat(topics.deadLetters())
                .noneMatch(r -> all.contains(GuardTopics.headers(r).get("dead-letter-request-id")));
    }

    @Test
    void requestsForOneVolumeAreDecidedInTheOrderSent() {
        vmWithDisk("db", "Running", "db-disk");
        answerListsSlowly(ns, SLOW_READ_MILLIS);

        String first = send(null, "db-disk");
        String second = send("db", "db-disk");

        Event firstAnswer = awaitFinal(first);
        Event secondAnswer = awaitFinal(second);
        assertThat(firstAnswer.reason()).isEqualTo("VM_RUNNING");
        assertThat(secondAnswer.reason()).isEqualTo("VM_RUNNING");
        // the second was taken up (its RECEIVED row) only once the first was decided
        Instant firstDecided = Instant.parse(firstAnswer.body().path("occurredAt").asText());
        Instant secondReceived = Instant.parse(receivedAt(second));
        assertThat(secondReceived).isAfterOrEqualTo(firstDecided);
        assertThat(secondAnswer.offset()).isGreaterThan(firstAnswer.offset());
    }

    @Test
    void aRequestWhoseReadsOutlastTheDeadlineIsRefusedAndTheConsumerGoesOn() {
        stoppedVm("vm1", DISK);
        server.expect().get().delay(8, TimeUnit.SECONDS).withPath("/api/v1/namespaces/" + ns + "/pods")
                .andReturn(200, new PodListBuilder().build()).always();

        String late = send("vm1", null);

        Event refused = awaitFinal(late);
        assertThat(refused.type()).isEqualTo("REJECTED");
        assertThat(refused.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
        assertThat(refused.message()).contains("list pods in namespace " + ns + " was not answered within 6s")
                .contains("nothing was exported");
        assertThat(cluster.allImages(ns)).isEmpty();
        JsonPath audited = AuditApi.export(late, 2).extract().jsonPath();
        assertThat(audited.getString("status")).isEqualTo("REJECTED");
        assertThat(audited.getString("reason")).isEqualTo("CLUSTER_UNAVAILABLE");
        await().atMost(Duration.ofSeconds(10)).until(() -> "DOWN".equals(consumerReadiness().get("status")));
        assertThat(String.valueOf(((Map<?, ?>) consumerReadiness().get("data")).get("waiting-for")))
                .contains("the Kubernetes API server");

        // the next request, of a namespace the API server answers, is decided as usual
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(other, "web-disk");
        cluster.vm(other, "web", "Running", "web-disk");
        assertThat(awaitFinal(Requests.sendTo(topics, other, "web", null)).reason()).isEqualTo("VM_RUNNING");
        await().atMost(Duration.ofSeconds(10)).until(() -> "UP".equals(consumerReadiness().get("status")));
        assertThat(topics.deadLetters()).noneMatch(r -> late.equals(GuardTopics.headers(r).get("dead-letter-request-id")));
    }

    private static String receivedAt(String requestId) {
        List<Map<String, Object>> history = AuditApi.export(requestId, 2).extract().jsonPath().getList("history");
        return history.stream().filter(row -> "RECEIVED".equals(row.get("type"))).findFirst()
                .map(row -> String.valueOf(row.get("occurredAt"))).orElseThrow();
    }

    /** The readiness check of the request consumer: {@code status}, {@code data.waiting-for}, ... */
    private static Map<String, Object> consumerReadiness() {
        return given().get("/q/health/ready").then().extract().jsonPath()
                .getMap("checks.find { it.name == 'request-consumer' }");
    }

    /** Requests to a namespace other than the test's own. */
    private static final class Requests {
        static String sendTo(GuardTopics topics, String namespace, String vm, String volume) {
            String id = dev.vmexportguard.support.Requests.newRequestId();
            topics.send(id, dev.vmexportguard.support.Requests.request(id, namespace, vm, volume));
            return id;
        }
    }
}
