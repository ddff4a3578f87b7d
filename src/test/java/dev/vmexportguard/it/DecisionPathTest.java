package dev.vmexportguard.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterApiSetup;
import dev.vmexportguard.support.HarvesterCluster;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = HarvesterApiSetup.class)
class DecisionPathTest {

    @KubernetesTestServer
    KubernetesServer server;

    HarvesterCluster cluster;
    GuardTopics topics;
    String ns;

    @BeforeEach
    void setUp() {
        cluster = new HarvesterCluster(server.getClient());
        topics = GuardTopics.get();
        ns = HarvesterCluster.freshNamespace();
    }

    static String newRequestId() {
        return "req-" + UUID.randomUUID();
    }

    static String request(String requestId, String ns, String vmName, String volumeName) {
        StringBuilder json = new StringBuilder("{\"requestId\":\"" + requestId + "\",\"namespace\":\"" + ns + "\"");
        if (vmName != null) {
            json.append(",\"vmName\":\"").append(vmName).append('"');
        }
        if (volumeName != null) {
            json.append(",\"volumeName\":\"").append(volumeName).append('"');
        }
        return json.append(",\"requestedBy\":\"alice@example.com\",\"replyTo\":\"slack:C024BE91L/1712345.000100\"}")
                .toString();
    }

    @Test
    void stoppedVmStartsTheExport() {
        cluster.volume(ns, "vm1-disk-0-rlnlk");
        cluster.vm(ns, "vm1", "Stopped", "vm1-disk-0-rlnlk");
        String id = newRequestId();

        topics.send(id, request(id, ns, "vm1", null));

        Event started = topics.awaitResult(id);
        assertThat(started.type()).isEqualTo("STARTED");
        assertThat(started.reason()).isNull();
        assertThat(started.body().path("volumeName").asText()).isEqualTo("vm1-disk-0-rlnlk");
        assertThat(started.body().path("replyTo").asText()).isEqualTo("slack:C024BE91L/1712345.000100");
        assertThat(started.headers()).containsEntry("ce_specversion", "1.0")
                .containsEntry("ce_id", started.body().path("eventId").asText())
                .containsEntry("ce_type", "dev.vmexportguard.export.started")
                .containsEntry("ce_subject", ns + "/vm1");
        JsonNode vmSeen = started.body().path("observed").path("vms").get(0);
        assertThat(vmSeen.path("name").asText()).isEqualTo("vm1");
        assertThat(vmSeen.path("printableStatus").asText()).isEqualTo("Stopped");
        assertThat(vmSeen.path("resourceVersion").asText()).isNotEmpty();

        List<GenericKubernetesResource> images = cluster.guardImages(ns);
        assertThat(images).hasSize(1);
        GenericKubernetesResource image = images.get(0);
        assertThat(image.getMetadata().getName()).isEqualTo(started.body().path("image").path("name").asText());
        assertThat(image.getMetadata().getAnnotations())
                .containsEntry("vm-export-guard.dev/request-id", id)
                .containsEntry("harvesterhci.io/storageClassName", "harvester-longhorn");
        Map<String, Object> spec = image.get("spec");
        assertThat(spec).containsEntry("sourceType", "export-from-volume")
                .containsEntry("pvcName", "vm1-disk-0-rlnlk")
                .containsEntry("pvcNamespace", ns)
                .containsEntry("targetStorageClassName", "harvester-longhorn")
                .containsEntry("displayName", started.body().path("image").path("displayName").asText());
    }

    @Test
    void runningVmIsRefused() {
        cluster.volume(ns, "vm1-disk-0-rlnlk");
        cluster.vm(ns, "vm1", "Running", "vm1-disk-0-rlnlk");
        cluster.vmi(ns, "vm1", "Running", "vm1-disk-0-rlnlk");
        cluster.launcherPod(ns, "vm1", "Running", "vm1-disk-0-rlnlk");
        String id = newRequestId();

        topics.send(id, request(id, ns, "vm1", null));

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.message()).contains(ns + "/vm1").contains("Running").contains("Stop the VM");
        assertThat(rejected.headers()).containsEntry("ce_type", "dev.vmexportguard.export.rejected");
        assertThat(cluster.allImages(ns)).isEmpty();
    }
}
