package dev.vmexportguard.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The lock's JSON patch is built as JSON and tests what was read: an annotation's text cannot add operations. */
class VmLockPatchTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "vm-export-guard.dev/export-in-progress";
    static final String PATH = "/metadata/annotations/vm-export-guard.dev~1export-in-progress";

    static GenericKubernetesResource vm(Map<String, String> annotations) {
        GenericKubernetesResource vm = new GenericKubernetesResource();
        vm.setMetadata(new ObjectMetaBuilder().withName("vm1").withResourceVersion("42").withAnnotations(annotations)
                .build());
        return vm;
    }

    static JsonNode patch(GenericKubernetesResource vm, String... holders) throws Exception {
        return JSON.readTree(VmLocks.patch(vm, new LinkedHashSet<>(List.of(holders))));
    }

    @Test
    void lockingAVmWithoutAnnotationsTestsItsResourceVersion() throws Exception {
        JsonNode ops = patch(vm(null), "req-1");

        assertThat(ops).hasSize(2);
        assertThat(ops.get(0).toString()).isEqualTo("{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"42\"}");
        assertThat(ops.get(1).toString()).isEqualTo("{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\""
                + KEY + "\":\"req-1\"}}");
    }

    @Test
    void addingAHolderTestsTheValueRead() throws Exception {
        JsonNode ops = patch(vm(Map.of(KEY, "req-1")), "req-1", "req-2");

        assertThat(ops.get(0).toString()).isEqualTo("{\"op\":\"test\",\"path\":\"" + PATH + "\",\"value\":\"req-1\"}");
        assertThat(ops.get(1).toString()).isEqualTo("{\"op\":\"add\",\"path\":\"" + PATH + "\",\"value\":\"req-1,req-2\"}");
    }

    @Test
    void anAnnotationWhoseTextLooksLikePatchOperationsStaysText() throws Exception {
        String hostile = "x\"},{\"op\":\"remove\",\"path\":\"/spec";
        JsonNode ops = patch(vm(Map.of(KEY, hostile, "other", "kept")));

        assertThat(ops).hasSize(2);
        assertThat(ops.get(0).path("value").asText()).isEqualTo(hostile);
        assertThat(ops.get(1).toString()).isEqualTo("{\"op\":\"remove\",\"path\":\"" + PATH + "\"}");
    }

    @Test
    void aVmWithOtherAnnotationsOnlyGetsTheLockAddedAfterATestOfItsVersion() throws Exception {
        JsonNode ops = patch(vm(Map.of("other", "kept")), "req-1");

        assertThat(ops.get(0).path("path").asText()).isEqualTo("/metadata/resourceVersion");
        assertThat(ops.get(1).toString()).isEqualTo("{\"op\":\"add\",\"path\":\"" + PATH + "\",\"value\":\"req-1\"}");
    }
}
