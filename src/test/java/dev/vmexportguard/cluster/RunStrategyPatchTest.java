package dev.vmexportguard.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The patch that puts a halted VM's run strategy back writes Harvester's {@code harvesterhci.io/vmRunStrategy} with
 * the same value (its webhook gives a VM leaving Halted the annotation's strategy), and tests what was read.
 */
class RunStrategyPatchTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static GenericKubernetesResource vm(Map<String, String> annotations, Map<String, Object> spec) {
        GenericKubernetesResource vm = new GenericKubernetesResource();
        vm.setMetadata(new ObjectMetaBuilder().withName("vm1").withResourceVersion("42").withAnnotations(annotations)
                .build());
        vm.setAdditionalProperty("spec", spec);
        return vm;
    }

    @Test
    void annotationIsSetToTheStrategyPutBack() throws Exception {
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put("harvesterhci.io/vmRunStrategy", "RerunOnFailure");
        JsonNode ops = JSON.readTree(VmPower.strategyPatch(vm(annotations, Map.of("runStrategy", "Halted")), "Always"));

        assertThat(ops.toString()).isEqualTo("[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"42\"},"
                + "{\"op\":\"add\",\"path\":\"/spec/runStrategy\",\"value\":\"Always\"},"
                + "{\"op\":\"add\",\"path\":\"/metadata/annotations/harvesterhci.io~1vmRunStrategy\",\"value\":\"Always\"}]");
    }

    @Test
    void vmWithoutAnnotationsOrWithSpecRunningGetsBoth() throws Exception {
        JsonNode ops = JSON.readTree(VmPower.strategyPatch(vm(null, Map.of("running", false)), "Once"));

        assertThat(ops.toString()).isEqualTo("[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"42\"},"
                + "{\"op\":\"remove\",\"path\":\"/spec/running\"},"
                + "{\"op\":\"add\",\"path\":\"/spec/runStrategy\",\"value\":\"Once\"},"
                + "{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"harvesterhci.io/vmRunStrategy\":\"Once\"}}]");
    }
}
