package dev.vmexportguard.config;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.export.ExportJob;
import dev.vmexportguard.export.ExportJobs;
import dev.vmexportguard.support.AcceptedJobs;
import dev.vmexportguard.support.ApiServerRequests;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The API server's retries ({@code guard.cluster.max-attempts}, {@code initial-backoff}, {@code max-backoff}), counted
 * and timed where they arrive; the dispatch's own round ({@code guard.exports.dispatch-interval}) made so long that a
 * job accepted by another replica waits for a request accepted here; and a shorter {@code guard.request.max-age}.
 */
@QuarkusTest
@TestProfile(ChangedSettings.class)
class ClusterAndDispatchSettingsTest extends GuardIntegrationTest {

    @Inject
    ExportJobs jobs;

    String vmList() {
        return "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines";
    }

    List<ApiServerRequests.Request> vmListReads(ApiServerRequests api) {
        return api.all().stream().filter(r -> r.method().equals("GET") && r.path().equals(vmList())).toList();
    }

    @Test
    void serverErrorsAreTriedMaxAttemptsTimesWithBackoffDoublingUpToTheMaximum() {
        stoppedVm("vm1", DISK);
        server.expect().get().withPath(vmList()).andReturn(503, new StatusBuilder().withStatus("Failure").withCode(503)
                .withReason("ServiceUnavailable").withMessage("etcd leader changed").build()).always();
        try (ApiServerRequests api = new ApiServerRequests(server).recordInBackground()) {

            String id = send("vm1", null);

            Event rejected = topics.awaitResults(id, 1).get(0);
            assertThat(rejected.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
            assertThat(rejected.message()).contains("HTTP 503");
            List<ApiServerRequests.Request> reads = vmListReads(api);
            assertThat(reads).as("attempts that reached the API server").hasSize(3);
            long first = reads.get(1).atMillis() - reads.get(0).atMillis();
            long second = reads.get(2).atMillis() - reads.get(1).atMillis();
            // 500 ms, then 1 s doubled but 600 ms at most
            assertThat(first).isBetween(450L, 1000L);
            assertThat(second).isBetween(550L, 950L);
        }
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void tooManyRequestsIsTriedAgainWithinTheAttempts() {
        stoppedVm("vm1", DISK);
        server.expect().get().withPath(vmList()).andReturn(429, new StatusBuilder().withStatus("Failure").withCode(429)
                .withReason("TooManyRequests").withMessage("too many requests, please try again later").build()).times(2);
        try (ApiServerRequests api = new ApiServerRequests(server).recordInBackground()) {

            String id = send("vm1", null);

            // two answered 429, the third attempt served (with one attempt fewer it would be refused)
            assertThat(awaitEvent(id, "STARTED").type()).isEqualTo("STARTED");
            List<ApiServerRequests.Request> reads = vmListReads(api);
            assertThat(reads.size()).isGreaterThanOrEqualTo(3);
            assertThat(reads.get(1).atMillis() - reads.get(0).atMillis()).isGreaterThanOrEqualTo(450L);
            assertThat(reads.get(2).atMillis() - reads.get(1).atMillis()).isGreaterThanOrEqualTo(550L);
        }
    }

    @Test
    void aJobAcceptedByAnotherReplicaWaitsForTheDispatchWhichARequestAcceptedHereWakes() {
        String other = newRequestId();
        // accepted by another replica, which does not wake this one's dispatch; its volume does not exist, so the
        // dispatch that looks at it refuses it
        QuarkusTransaction.requiringNew().run(() -> jobs.accept(AcceptedJobs.pending(other, ns, "gone-disk")));

        await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(8)).until(() -> topics.results(other).isEmpty());
        assertThat(jobs.find(other)).get().extracting(j -> j.state).isEqualTo(ExportJob.State.PENDING);

        stoppedVm("vm1", DISK);
        String here = send("vm1", null);

        assertThat(awaitEvent(here, "STARTED").type()).isEqualTo("STARTED");
        Event refused = awaitFinal(other);
        assertThat(refused.type()).isEqualTo("REJECTED");
        assertThat(refused.reason()).isEqualTo("VOLUME_NOT_FOUND");
    }

    @Test
    void aRecordOlderThanTheConfiguredMaxAgeIsExpired() {
        stoppedVm("vm1", DISK);
        String old = newRequestId();
        String fresh = newRequestId();

        topics.sendAt(Instant.now().minusSeconds(90).toEpochMilli(), old, request(old, ns, "vm1", null));
        topics.sendAt(Instant.now().minusSeconds(30).toEpochMilli(), fresh, request(fresh, ns, "vm1", null));

        Event expired = topics.awaitResults(old, 1).get(0);
        assertThat(expired.reason()).isEqualTo("REQUEST_EXPIRED");
        assertThat(expired.message()).contains("1m");
        assertThat(awaitEvent(fresh, "STARTED").type()).isEqualTo("STARTED");
    }
}
