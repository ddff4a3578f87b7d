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

/**
 * A pod that mounts the volume, writes and is gone between two full checks is still seen, by watch: the export
 * fails and its image is deleted. The full check is made rare here, so that only the watch can see it.
 */
@QuarkusTest
@TestProfile(UseBetweenLooksTest.RareFullChecks.class)
class UseBetweenLooksTest extends GuardIntegrationTest {

    public static class RareFullChecks implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.exports.resync-interval", "1h");
        }
    }

    @Test
    void aPodThatCameAndWentDuringTheCopyFailsTheExport() {
        stoppedVm("vm1", DISK);
        String id = send("vm1", null);
        Event started = awaitEvent(id, "STARTED");
        String image = started.body().path("image").path("name").asText();

        cluster.pod(ns, "writer-job", "Running", Map.of("job-name", "writer"), DISK);
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> true);
        cluster.client().pods().inNamespace(ns).withName("writer-job").delete();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.client().pods().inNamespace(ns).withName("writer-job").get() == null);
        // Harvester reports the copy done; a guard that looked only now would see nothing in use
        if (!cluster.guardImages(ns).isEmpty()) {
            simulator.complete(ns, image, 1);
        }

        Event failed = awaitFinal(id);
        assertThat(failed.type()).isEqualTo("FAILED");
        assertThat(failed.reason()).isEqualTo("VM_STARTED_DURING_EXPORT");
        // seen while it was there or after it was gone: either way the export names it
        assertThat(failed.message()).contains("pod writer-job");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(cluster.guardImages(ns)).isEmpty());
    }
}
