package dev.vmexportguard.export;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterApiSetup;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.HarvesterSimulator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An export that runs too long is ended and its unfinished image removed. */
@QuarkusTest
@TestProfile(ExportTimeoutTest.ShortTimeout.class)
@WithKubernetesTestServer(crud = true, setup = HarvesterApiSetup.class)
class ExportTimeoutTest {

    public static class ShortTimeout implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.exports.timeout", "3s");
        }
    }

    @KubernetesTestServer
    KubernetesServer server;

    @Test
    void exportRunningTooLongFailsAndItsImageIsDeleted() {
        HarvesterCluster cluster = new HarvesterCluster(server.getClient());
        GuardTopics topics = GuardTopics.get();
        String ns = HarvesterCluster.freshNamespace();
        cluster.volume(ns, "vm1-disk-0-abcde");
        cluster.vm(ns, "vm1", "Stopped", "vm1-disk-0-abcde");
        String id = newRequestId();

        topics.send(id, request(id, ns, "vm1", null));
        Event started = topics.awaitResult(id);
        assertThat(started.type()).isEqualTo("STARTED");
        new HarvesterSimulator(server.getClient()).progress(ns, started.body().path("image").path("name").asText(), 12);

        await().atMost(Duration.ofSeconds(30)).until(() ->
                topics.results(id).stream().anyMatch(e -> e.type().equals("FAILED")));
        Event failed = topics.results(id).stream().filter(e -> e.type().equals("FAILED")).findFirst().orElseThrow();
        assertThat(failed.reason()).isEqualTo("EXPORT_TIMEOUT");
        assertThat(failed.message()).contains("longer than 3s").contains("deleted");
        await().untilAsserted(() -> assertThat(cluster.allImages(ns)).isEmpty());
    }
}
