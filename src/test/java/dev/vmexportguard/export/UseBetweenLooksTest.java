package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.OneExportSlot;
import dev.vmexportguard.support.Requests;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A pod that mounts the volume, writes and is gone between two full checks is still seen, by watch: the export
 * fails and its image is deleted. The full check is made rare here, so that only the watch can see it. A use the
 * watch told of before the fresh read that let an export start, handled only once the copy runs, is not one: that
 * read found the volume free after it.
 */
@QuarkusTest
@TestProfile(OneExportSlot.class)
class UseBetweenLooksTest extends GuardIntegrationTest {

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

    @Test
    void aUseToldOfBeforeTheFreshReadThatStartedTheCopyDoesNotFailIt() {
        // another namespace's export holds the only slot; this one is queued behind it
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(other, "web-disk");
        cluster.vm(other, "web", "Stopped", "web-disk");
        String first = Requests.newRequestId();
        topics.send(first, Requests.request(first, other, "web", null));
        String firstImage = awaitEvent(first, "STARTED").body().path("image").path("name").asText();
        stoppedVm("vm1", DISK);
        String id = send("vm1", null);
        awaitEvent(id, "QUEUED");

        // the other namespace answers slowly now, without its image: following its export, which then fails, keeps
        // the guard's lifecycle busy for seconds
        answerListsSlowly(other, 3000);
        cluster.images(other).withName(firstImage).delete();
        await().pollDelay(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(5)).until(() -> true);
        // meanwhile a VMI mounts this volume and is gone again, before the queued export's fresh read
        cluster.vmi(ns, "vm1", "Running", DISK);
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> true);
        cluster.vmis(ns).withName("vm1").delete();
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.vmis(ns).withName("vm1").get() == null);
        assertThat(types(id)).as("the queued export has not started yet").doesNotContain("STARTED");

        Event started = awaitEvent(id, "STARTED", Duration.ofSeconds(30));
        await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> true);
        simulator.complete(ns, started.body().path("image").path("name").asText(), 1);
        Event end = awaitFinal(id);
        assertThat(end.type()).as("%s: %s", end.reason(), end.message()).isEqualTo("COMPLETED");
    }
}
