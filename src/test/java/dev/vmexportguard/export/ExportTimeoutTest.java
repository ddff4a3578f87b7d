package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An export that runs too long is ended and its unfinished image removed. */
@QuarkusTest
@TestProfile(ExportTimeoutTest.ShortTimeout.class)
class ExportTimeoutTest extends GuardIntegrationTest {

    public static class ShortTimeout implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.exports.timeout", "3s");
        }
    }

    @Test
    void exportRunningTooLongFailsAndItsImageIsDeleted() {
        stoppedVm("vm1", "vm1-disk-0-abcde");

        String id = send("vm1", null);
        Event started = topics.awaitResult(id);
        assertThat(started.type()).isEqualTo("STARTED");
        simulator.progress(ns, started.body().path("image").path("name").asText(), 12);

        Event failed = awaitEvent(id, "FAILED", Duration.ofSeconds(30));
        assertThat(failed.reason()).isEqualTo("EXPORT_TIMEOUT");
        assertThat(failed.message()).contains("longer than 3s").contains("deleted");
        await().untilAsserted(() -> assertThat(cluster.allImages(ns)).isEmpty());
    }
}
