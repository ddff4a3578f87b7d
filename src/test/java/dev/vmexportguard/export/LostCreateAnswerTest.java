package dev.vmexportguard.export;

import static dev.vmexportguard.support.LostAnswers.path;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.decision.ImagePlan;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.LostAnswers;
import dev.vmexportguard.support.Requests;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.quarkus.test.junit.QuarkusTest;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The API server creates the image (or backup) but the answer to the create is lost: a 500 after the object was
 * stored, on every attempt. The guard looks for it by name and follows it; when it is not there, it creates it
 * again, or ends the export with nothing left behind.
 */
@QuarkusTest
class LostCreateAnswerTest extends GuardIntegrationTest {
    private static final String HARVESTER = "/apis/harvesterhci.io/v1beta1";

    final AtomicInteger posts = new AtomicInteger();

    @BeforeEach
    void createStoppedVm1() {
        stoppedVm("vm1", DISK);
    }

    String imagesPath() {
        return path(HARVESTER, ns, "virtualmachineimages");
    }

    @Test
    void imageCreatedButEveryAnswerLostIsFollowedToCompletion() {
        LostAnswers.createThenFail(server, imagesPath(), true, -1, posts);

        String id = send("vm1", null);
        Event started = awaitEvent(id, "STARTED");
        String image = started.body().path("image").path("name").asText();
        assertThat(image).isEqualTo(ImagePlan.imageName(id));
        assertThat(lockOf("vm1")).isEqualTo(id);
        simulator.progress(ns, image, 40);
        awaitEvent(id, "PROGRESS");
        simulator.complete(ns, image, 1_073_741_824L);

        Event completed = awaitFinal(id);
        assertThat(completed.type()).isEqualTo("COMPLETED");
        assertThat(types(id)).containsExactly("STARTED", "PROGRESS", "COMPLETED");
        assertThat(posts.get()).isGreaterThan(1);
        assertThat(cluster.allImages(ns)).extracting(i -> i.getMetadata().getName()).containsExactly(image);
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
    }

    @Test
    void imageNotCreatedWhileAnswersAreLostIsCreatedAgain() {
        // every attempt of the first round fails without storing; the next round is answered as usual
        LostAnswers.createThenFail(server, imagesPath(), false, 4, posts);

        String id = send("vm1", null);
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);

        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");
        assertThat(posts.get()).isEqualTo(4);
        assertThat(cluster.allImages(ns)).extracting(i -> i.getMetadata().getName()).containsExactly(image);
    }

    @Test
    void imageCreatedButNeitherTheAnswerNorTheLookGetsThroughEndsCleanly() {
        LostAnswers.createThenFail(server, imagesPath(), true, -1, posts);
        String id = Requests.newRequestId();
        // the look for the image by name fails too (every attempt of it), then the API server answers again
        server.expect().get().withPath(imagesPath() + "/" + ImagePlan.imageName(id))
                .andReturn(500, LostAnswers.serverError()).times(4);

        topics.send(id, Requests.request(id, ns, "vm1", null));
        Event rejected = awaitFinal(id);

        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
        assertThat(types(id)).containsExactly("REJECTED");
        // the image the API server did create is not left copying with nobody following it
        await().untilAsserted(() -> assertThat(cluster.allImages(ns)).isEmpty());
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
    }

    @Test
    void imageNeverCreatedEndsCleanly() {
        LostAnswers.createThenFail(server, imagesPath(), false, -1, posts);

        String id = send("vm1", null);
        Event rejected = awaitFinal(id);

        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
        // one round, a look that found nothing, one more round
        assertThat(posts.get()).isEqualTo(8);
        assertThat(cluster.allImages(ns)).isEmpty();
        await().untilAsserted(() -> assertThat(lockOf("vm1")).isNull());
    }

    @Test
    void backupCreatedButEveryAnswerLostIsWaitedFor() {
        LostAnswers.createThenFail(server, path(HARVESTER, ns, "virtualmachinebackups"), true, -1, posts);

        String id = sendAs("alice", "vm1", ",\"backupFirst\":true");
        String backup = "vmexport-" + ImagePlan.requestHash(id).substring(0, 12) + "-vm1";
        GenericKubernetesResource stored = await().until(() -> backups().withName(backup).get(), b -> b != null);
        assertThat(stored.getMetadata().getLabels())
                .containsEntry(KubernetesResources.LABEL_REQUEST, ImagePlan.requestHash(id));
        await().until(() -> posts.get() > 1);
        simulator.backupReady(ns, backup);
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);

        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");
        assertThat(types(id)).containsExactly("BACKUP_READY", "STARTED", "COMPLETED");
        assertThat(backups().list().getItems()).extracting(b -> b.getMetadata().getName()).containsExactly(backup);
    }

    @Test
    void conflictOnABackupOfSomeoneElseIsNoBackupOfOurs() {
        String id = Requests.newRequestId();
        String backup = "vmexport-" + ImagePlan.requestHash(id).substring(0, 12) + "-vm1";
        GenericKubernetesResource foreign = new GenericKubernetesResource();
        foreign.setApiVersion("harvesterhci.io/v1beta1");
        foreign.setKind("VirtualMachineBackup");
        foreign.setMetadata(new ObjectMetaBuilder().withName(backup).withNamespace(ns)
                .build());
        backups().resource(foreign).create();

        topics.send(id, "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                + "\"requestedBy\":\"alice\",\"backupFirst\":true}");
        Event failed = awaitFinal(id);

        assertThat(failed.type()).isEqualTo("FAILED");
        assertThat(failed.reason()).isEqualTo("BACKUP_FAILED");
        assertThat(failed.message()).contains(backup).contains("name is taken");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    private NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> backups() {
        return server.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(ns);
    }
}
