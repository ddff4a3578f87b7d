package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.LostAnswers;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * When the image became ready, as Harvester writes it (the {@code Imported} condition's {@code lastUpdateTime},
 * whole seconds, no {@code lastTransitionTime}), decides whether a VM started around the end of the copy spoils the
 * export. The guard is held back from looking (the API server does not answer its reads of the namespace's images)
 * until the VM has started, as when it restarts or the API server is slow right then.
 */
@QuarkusTest
class ReadyTimeTest extends GuardIntegrationTest {
    private static final long SIZE = 10_737_418_240L;

    private final AtomicBoolean guardHeldBack = new AtomicBoolean();

    /** The export of vm1's disk, started and copying; returns its request id and image. */
    private String[] copying() {
        stoppedVm("vm1", DISK);
        String id = send("vm1", null);
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.progress(ns, image, 40);
        awaitEvent(id, "PROGRESS");
        LostAnswers.unansweredWhile(server, "/apis/harvesterhci.io/v1beta1/namespaces/" + ns + "/virtualmachineimages",
                guardHeldBack::get);
        guardHeldBack.set(true);
        return new String[] {id, image};
    }

    /** The guard may look again; KubeVirt reports the VM Running, which the guard's watch sees. */
    private void guardLooksAgain() {
        guardHeldBack.set(false);
        GenericKubernetesResource vm = cluster.vms(ns).withName("vm1").get();
        Map<String, Object> status = new LinkedHashMap<>(vm.get("status"));
        status.put("printableStatus", "Running");
        status.put("ready", true);
        vm.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(vm).updateStatus();
    }

    private Instant vmiCreated() {
        return Instant.parse(cluster.vmis(ns).withName("vm1").get().getMetadata().getCreationTimestamp());
    }

    private static void awaitSecondAfter(Instant time) {
        Instant next = time.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                .until(() -> !Instant.now().isBefore(next));
    }

    @Test
    void vmStartedTheSecondAfterTheImageWasReadyKeepsTheExport() {
        String[] export = copying();
        String id = export[0];
        String image = export[1];

        simulator.complete(ns, image, SIZE);
        Instant ready = simulator.conditionTime(ns, image, "Imported");
        assertThat(ready).isNotNull();
        awaitSecondAfter(ready);
        simulator.startVm(ns, "vm1", DISK);
        assertThat(vmiCreated()).isAfter(ready);
        guardLooksAgain();

        Event end = awaitFinal(id);
        assertThat(end.type()).as(end.message()).isEqualTo("COMPLETED");
        assertThat(end.body().path("image").path("size").asLong()).isEqualTo(SIZE);
        assertThat(cluster.guardImages(ns)).extracting(i -> i.getMetadata().getName()).containsExactly(image);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
    }

    @Test
    void vmStartedBeforeTheImageWasReadyFailsTheExport() {
        String[] export = copying();
        String id = export[0];
        String image = export[1];

        simulator.startVm(ns, "vm1", DISK);
        awaitSecondAfter(vmiCreated());
        simulator.complete(ns, image, SIZE);
        assertThat(simulator.conditionTime(ns, image, "Imported")).isAfter(vmiCreated());
        guardLooksAgain();

        Event end = awaitFinal(id);
        assertThat(end.type()).isEqualTo("FAILED");
        assertThat(end.reason()).isEqualTo("VM_STARTED_DURING_EXPORT");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(cluster.guardImages(ns)).isEmpty());
    }

    @Test
    void vmStartedInTheSecondTheImageBecameReadyFailsTheExport() {
        String[] export = copying();
        String id = export[0];
        String image = export[1];

        // both in one second: which came first cannot be told from whole seconds
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
                .until(() -> Instant.now().getNano() < 200_000_000);
        simulator.complete(ns, image, SIZE);
        simulator.startVm(ns, "vm1", DISK);
        Instant ready = simulator.conditionTime(ns, image, "Imported");
        assertThat(vmiCreated()).as("the VM started in the second the image became ready").isEqualTo(ready);
        guardLooksAgain();

        Event end = awaitFinal(id);
        assertThat(end.type()).isEqualTo("FAILED");
        assertThat(end.reason()).isEqualTo("VM_STARTED_DURING_EXPORT");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(cluster.guardImages(ns)).isEmpty());
    }

    @Test
    void imageThatHarvesterTriesAgainIsFollowedToItsEnd() {
        stoppedVm("vm1", DISK);
        String id = send("vm1", null);
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.progress(ns, image, 45);
        awaitEvent(id, "PROGRESS");

        // the backing image fails: Harvester counts it, reports it, progress falls back, and it starts over
        simulator.importFails(ns, image, "backing image copy failed", 23);
        GenericKubernetesResource failing = cluster.images(ns).withName(image).get();
        assertThat(failing.<Object>get("status", "progress")).isEqualTo(23);
        simulator.retry(ns, image);
        simulator.progress(ns, image, 30);
        simulator.importFails(ns, image, "backing image copy failed", 31);
        assertThat(conditionOf(image, "RetryLimitExceeded")).containsEntry("status", "False")
                .containsEntry("message", "retry attempted 1/3 failed due to error: backing image copy failed")
                .doesNotContainKey("lastTransitionTime");
        simulator.retry(ns, image);
        simulator.progress(ns, image, 12);
        await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true);
        assertThat(finalEvent(id)).isNull();

        simulator.progress(ns, image, 64);
        topics.awaitResults(id, 3);
        simulator.complete(ns, image, SIZE);

        Event end = awaitFinal(id);
        assertThat(end.type()).as(end.message()).isEqualTo("COMPLETED");
        List<Event> events = topics.results(id);
        assertThat(events).extracting(Event::type).containsExactly("STARTED", "PROGRESS", "PROGRESS", "COMPLETED");
        assertThat(events.get(1).message()).contains("40%");
        assertThat(events.get(2).message()).contains("60%");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> conditionOf(String image, String type) {
        List<Map<String, Object>> conditions = cluster.images(ns).withName(image).get().get("status", "conditions");
        return conditions.stream().filter(c -> type.equals(c.get("type"))).findFirst().orElseThrow();
    }
}
