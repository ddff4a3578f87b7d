package dev.vmexportguard.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.decision.ImagePlan;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests the VirtualMachineImage manifest that {@link ImageExporter#manifest(ImagePlan)} builds from an image plan. */
class ImageExporterTest {
    private static final String REQUEST_ID = "chat:2024-05-01T10:00:00Z:42";
    private static final String IMAGE_NAME = ImagePlan.imageName(REQUEST_ID);
    private static final String REQUEST_HASH = ImagePlan.requestHash(REQUEST_ID);
    private static final String DESCRIPTION = "Exported by VM Export Guard for alice@example.com (request " + REQUEST_ID
            + ") after checking that every VM using vm1-disk-0 was stopped";

    private static ImagePlan plan(String storageClass) {
        return new ImagePlan("team-a", IMAGE_NAME, "vm1-disk-0-20240501-100005", "vm1-disk-0", storageClass, REQUEST_ID,
                REQUEST_HASH, "alice@example.com");
    }

    @Test
    void manifestIsAHarvesterImageNamedByThePlan() {
        GenericKubernetesResource image = ImageExporter.manifest(plan("longhorn"));

        assertThat(image.getApiVersion()).isEqualTo("harvesterhci.io/v1beta1");
        assertThat(image.getKind()).isEqualTo("VirtualMachineImage");
        assertThat(image.getMetadata().getName()).isEqualTo(IMAGE_NAME).startsWith("vmexport-");
        assertThat(image.getMetadata().getNamespace()).isEqualTo("team-a");
        assertThat(image.getMetadata().getGenerateName()).isNull();
    }

    @Test
    void labelsMarkTheGuardAndTheRequestHash() {
        GenericKubernetesResource image = ImageExporter.manifest(plan("longhorn"));

        assertThat(image.getMetadata().getLabels()).containsExactly(
                entry("vm-export-guard.dev/managed-by", "vm-export-guard"),
                entry("vm-export-guard.dev/request", REQUEST_HASH));
        // the requestId itself (with ':') is not a valid label value; only its hash is used
        assertThat(image.getMetadata().getLabels()).doesNotContainValue(REQUEST_ID);
    }

    @Test
    void annotationsCarryRequestRequesterAndStorageClass() {
        GenericKubernetesResource image = ImageExporter.manifest(plan("longhorn"));

        assertThat(image.getMetadata().getAnnotations()).containsExactly(
                entry("vm-export-guard.dev/request-id", REQUEST_ID),
                entry("vm-export-guard.dev/requested-by", "alice@example.com"),
                entry("harvesterhci.io/storageClassName", "longhorn"));
    }

    @Test
    void specExportsTheVolumeToTheStorageClass() {
        GenericKubernetesResource image = ImageExporter.manifest(plan("longhorn"));

        Map<String, Object> spec = image.get("spec");
        assertThat(spec).containsExactly(
                entry("displayName", "vm1-disk-0-20240501-100005"),
                entry("sourceType", "export-from-volume"),
                entry("pvcName", "vm1-disk-0"),
                entry("pvcNamespace", "team-a"),
                entry("targetStorageClassName", "longhorn"),
                entry("description", DESCRIPTION));
    }

    @Test
    void withoutStorageClassNeitherAnnotationNorTargetStorageClassIsSet() {
        GenericKubernetesResource image = ImageExporter.manifest(plan(null));

        assertThat(image.getMetadata().getAnnotations()).containsExactly(
                entry("vm-export-guard.dev/request-id", REQUEST_ID),
                entry("vm-export-guard.dev/requested-by", "alice@example.com"));
        Map<String, Object> spec = image.get("spec");
        assertThat(spec).containsExactly(
                entry("displayName", "vm1-disk-0-20240501-100005"),
                entry("sourceType", "export-from-volume"),
                entry("pvcName", "vm1-disk-0"),
                entry("pvcNamespace", "team-a"),
                entry("description", DESCRIPTION));
        assertThat(image.getMetadata().getLabels()).containsEntry("vm-export-guard.dev/request", REQUEST_HASH);
    }

    @Test
    void manifestSerializesWithSpecAtTopLevelAndNoStatus() throws Exception {
        JsonNode json = new ObjectMapper().readTree(Serialization.asJson(ImageExporter.manifest(plan("longhorn"))));

        assertThat(json.path("apiVersion").asText()).isEqualTo("harvesterhci.io/v1beta1");
        assertThat(json.path("kind").asText()).isEqualTo("VirtualMachineImage");
        assertThat(json.path("metadata").path("name").asText()).isEqualTo(IMAGE_NAME);
        assertThat(json.path("metadata").path("labels").path("vm-export-guard.dev/request").asText()).isEqualTo(REQUEST_HASH);
        assertThat(json.path("spec").path("sourceType").asText()).isEqualTo("export-from-volume");
        assertThat(json.path("spec").path("pvcName").asText()).isEqualTo("vm1-disk-0");
        assertThat(json.path("spec").path("targetStorageClassName").asText()).isEqualTo("longhorn");
        assertThat(json.has("status")).isFalse();
        assertThat(json.has("additionalProperties")).isFalse();
    }

    @Test
    void equalPlansGiveEqualManifestsAndTheStorageClassFollowsThePlan() {
        ImagePlan a = plan("longhorn");
        ImagePlan b = new ImagePlan(a.namespace(), a.name(), a.displayName(), a.pvcName(), a.storageClassName(),
                a.requestId(), a.requestHash(), a.requestedBy());

        assertThat(ImageExporter.manifest(b)).isEqualTo(ImageExporter.manifest(a));
        assertThat(ImageExporter.manifest(plan("other")).<Map<String, Object>>get("spec"))
                .containsEntry("targetStorageClassName", "other");
    }
}
