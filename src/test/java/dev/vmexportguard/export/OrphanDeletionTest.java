package dev.vmexportguard.export;

import static dev.vmexportguard.export.OrphanSweepTest.awaitOrphanEvent;
import static dev.vmexportguard.export.OrphanSweepTest.eventsAbout;
import static dev.vmexportguard.export.OrphanSweepTest.labelled;
import static dev.vmexportguard.export.OrphanSweepTest.metric;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.decision.ImagePlan;
import dev.vmexportguard.support.GuardIntegrationTest;
import io.fabric8.kubernetes.api.model.Event;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The sweep of orphaned objects with {@code guard.orphans.delete-unfinished=true}: unfinished orphans are deleted
 * and reported; a completed export's image is never touched.
 */
@QuarkusTest
@TestProfile(OrphanDeletionTest.DeletingSweeps.class)
class OrphanDeletionTest extends GuardIntegrationTest {

    public static class DeletingSweeps implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.orphans.sweep-interval", "300ms", "guard.orphans.delete-unfinished", "true");
        }
    }

    @Test
    void unfinishedOrphansAreDeleted() {
        double deletedBefore = metric("guard_orphaned_objects_deleted_total{kind=\"image\"}");
        String image = labelled(server.getClient(), KubernetesResources.VIRTUAL_MACHINE_IMAGE, ns,
                ImagePlan.imageName("gone-" + ns), "gone-" + ns).getMetadata().getName();
        String backup = labelled(server.getClient(), KubernetesResources.VIRTUAL_MACHINE_BACKUP, ns,
                "vmexport-0123456789ab-vm1", "gone-too-" + ns).getMetadata().getName();

        Event deleted = awaitOrphanEvent(server.getClient(), ns, image, "ExportObjectOrphanDeleted");

        assertThat(deleted.getMessage()).contains("request gone-" + ns).contains("deleted it");
        await().untilAsserted(() -> assertThat(cluster.allImages(ns)).isEmpty());
        awaitOrphanEvent(server.getClient(), ns, backup, "ExportObjectOrphanDeleted");
        await().untilAsserted(() -> assertThat(server.getClient()
                .genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(ns).list()
                .getItems()).isEmpty());
        assertThat(metric("guard_orphaned_objects_deleted_total{kind=\"image\"}")).isEqualTo(deletedBefore + 1);
    }

    @Test
    void finishedOrphanIsReportedButKept() {
        // finished before it carries the guard's labels: no sweep sees it unfinished (and deletes it)
        String image = ImagePlan.imageName("done-" + ns);
        cluster.foreignImage(ns, image, image);
        simulator.complete(ns, image, 1);
        cluster.images(ns).withName(image).edit(i -> {
            i.getMetadata().setLabels(Map.of(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE,
                    KubernetesResources.LABEL_REQUEST, ImagePlan.requestHash("done-" + ns)));
            i.getMetadata().setAnnotations(Map.of(KubernetesResources.ANNOTATION_REQUEST_ID, "done-" + ns));
            return i;
        });

        Event reported = awaitOrphanEvent(server.getClient(), ns, image, "ExportObjectOrphaned");

        assertThat(reported.getMessage()).contains("It is finished");
        assertThat(cluster.allImages(ns)).hasSize(1);
        cluster.images(ns).withName(image).delete();
    }

    @Test
    void completedExportsImageIsNeverTouched() {
        stoppedVm("vm1", DISK);
        String id = send("vm1", null);
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);
        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");

        // an orphan beside it: once it is gone, a sweep has judged the completed export's image too
        String sentinel = labelled(server.getClient(), KubernetesResources.VIRTUAL_MACHINE_IMAGE, ns,
                ImagePlan.imageName("sentinel-" + ns), "sentinel-" + ns).getMetadata().getName();
        awaitOrphanEvent(server.getClient(), ns, sentinel, "ExportObjectOrphanDeleted");
        await().untilAsserted(() -> assertThat(cluster.allImages(ns)).extracting(i -> i.getMetadata().getName())
                .containsExactly(image));

        assertThat(eventsAbout(server.getClient(), ns, image)).isEmpty();
        assertThat(metric("guard_orphaned_objects{kind=\"image\"}")).isEqualTo(0.0);
    }
}
