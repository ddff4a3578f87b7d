package dev.vmexportguard.export;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.decision.ImagePlan;
import dev.vmexportguard.support.GuardIntegrationTest;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The sweep of orphaned objects with its default, {@code guard.orphans.delete-unfinished=false}: an image carrying
 * the guard's labels that no export follows is reported (metric, Kubernetes Event) and kept.
 */
@QuarkusTest
@TestProfile(OrphanSweepTest.FrequentSweeps.class)
class OrphanSweepTest extends GuardIntegrationTest {

    public static class FrequentSweeps implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.orphans.sweep-interval", "300ms");
        }
    }

    @Test
    void unfinishedOrphanedImageIsReportedAndKept() {
        String requestId = "gone-" + ns;
        GenericKubernetesResource image = labelled(server.getClient(), KubernetesResources.VIRTUAL_MACHINE_IMAGE, ns,
                ImagePlan.imageName(requestId), requestId);
        simulator.progress(ns, image.getMetadata().getName(), 30);

        Event reported = awaitOrphanEvent(server.getClient(), ns, image.getMetadata().getName(), "ExportObjectOrphaned");

        assertThat(reported.getType()).isEqualTo("Warning");
        assertThat(reported.getInvolvedObject().getKind()).isEqualTo("VirtualMachineImage");
        assertThat(reported.getInvolvedObject().getApiVersion()).isEqualTo("harvesterhci.io/v1beta1");
        assertThat(reported.getMessage()).contains("request " + requestId).contains("no export of request")
                .contains("guard.orphans.delete-unfinished");
        await().untilAsserted(() -> assertThat(metric("guard_orphaned_objects{kind=\"image\"}")).isEqualTo(1.0));
        assertThat(metric("guard_orphaned_objects{kind=\"backup\"}")).isEqualTo(0.0);
        assertThat(cluster.allImages(ns)).extracting(i -> i.getMetadata().getName())
                .containsExactly(image.getMetadata().getName());

        cluster.images(ns).withName(image.getMetadata().getName()).delete();
        await().untilAsserted(() -> assertThat(metric("guard_orphaned_objects{kind=\"image\"}")).isEqualTo(0.0));
    }

    /** An object as the guard labels what it creates for {@code requestId}, with no status yet. */
    static GenericKubernetesResource labelled(KubernetesClient client, ResourceDefinitionContext context, String ns,
                                              String name, String requestId) {
        GenericKubernetesResource object = new GenericKubernetesResource();
        object.setApiVersion(context.getGroup() + "/" + context.getVersion());
        object.setKind(context.getKind());
        object.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns)
                .withLabels(Map.of(KubernetesResources.LABEL_MANAGED_BY, KubernetesResources.MANAGED_BY_VALUE,
                        KubernetesResources.LABEL_REQUEST, ImagePlan.requestHash(requestId)))
                .withAnnotations(Map.of(KubernetesResources.ANNOTATION_REQUEST_ID, requestId)).build());
        object.setAdditionalProperty("spec", Map.of("displayName", name, "sourceType", "export-from-volume"));
        return client.genericKubernetesResources(context).inNamespace(ns).resource(object).create();
    }

    /** The Kubernetes Events of the namespace about the object. */
    static List<Event> eventsAbout(KubernetesClient client, String ns, String object) {
        return client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> object.equals(e.getInvolvedObject().getName())).toList();
    }

    static Event awaitOrphanEvent(KubernetesClient client, String ns, String object, String reason) {
        return await().until(() -> eventsAbout(client, ns, object).stream()
                .filter(e -> reason.equals(e.getReason())).findFirst().orElse(null), e -> e != null);
    }

    /** A value of the Prometheus metrics, by its name and labels as printed; NaN when it is not there. */
    static double metric(String nameAndLabels) {
        String body = given().get("/q/metrics").then().statusCode(200).extract().asString();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(nameAndLabels) + " (\\S+)$").matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }
}
