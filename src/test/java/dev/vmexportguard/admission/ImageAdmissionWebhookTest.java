package dev.vmexportguard.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.support.AdmittingApiServer;
import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.ScriptedAuthenticator;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.ScriptedAuthorizer;
import dev.vmexportguard.support.WebhookCertificate;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admission webhook as the API server calls it: AdmissionReviews of VirtualMachineImages posted over HTTPS to a
 * guard whose certificate the client trusts alone (the webhook's {@code caBundle}), and what the person who clicked
 * "Export Image" sees, what dashboards read on the result topic and what the audit keeps.
 */
@QuarkusTest
class ImageAdmissionWebhookTest extends GuardIntegrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OPERATOR = "jane@example.com";
    private static final List<String> OPERATOR_GROUPS = List.of("harvester-operators", "system:authenticated");
    private static final String GUARD_USER = "system:serviceaccount:vm-export-guard:vm-export-guard";

    @TestHTTPResource(value = "/admission/virtualmachineimages", tls = true)
    URI webhook;

    @TestHTTPResource("/admission/virtualmachineimages")
    URI plainHttp;

    /** What the webhook answered, over HTTPS. */
    private record Answer(int code, JsonNode body) {
        JsonNode response() {
            return body.path("response");
        }

        boolean allowed() {
            return response().path("allowed").asBoolean();
        }

        String message() {
            return response().path("status").path("message").asText();
        }
    }

    /**
     * The webhook answers within the API server's 5 s from the first review on: its HTTPS listener and the code
     * behind it are warmed up by a review that changes nothing (an image of another source type), asked until
     * answered, so that a slow start of the machine does not count against the first test's budget.
     */
    @BeforeEach
    void webhookAnswers() {
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> post(review(uid(), OPERATOR,
                OPERATOR_GROUPS, Map.of(), Map.of("displayName", "warm-up", "sourceType", "download",
                        "url", "https://example.com/warm-up.img"), false)).allowed());
    }

    /** An image's creation as the API server reviews it; {@code spec} are the image's own fields. */
    private ObjectNode review(String uid, String user, List<String> groups, Map<String, String> labels,
                              Map<String, String> spec, boolean dryRun) {
        ObjectNode image = JSON.createObjectNode();
        image.put("apiVersion", "harvesterhci.io/v1beta1");
        image.put("kind", "VirtualMachineImage");
        ObjectNode metadata = image.putObject("metadata");
        metadata.put("name", "image-" + uid.substring(0, 5));
        labels.forEach(metadata.putObject("labels")::put);
        spec.forEach(image.putObject("spec")::put);
        return AdmittingApiServer.review(uid, new Identity(user, groups), ns, image, dryRun);
    }

    /** What Harvester's "Export Image" action creates for {@code volume} of {@link #ns}. */
    private Map<String, String> exportOf(String volume) {
        return Map.of("displayName", "backup-of-" + volume, "sourceType", "export-from-volume", "pvcName", volume,
                "pvcNamespace", ns, "storageClassName", "harvester-longhorn");
    }

    private Answer post(Object review) {
        return post(webhook, review, WebhookCertificate.current());
    }

    private static Answer post(URI to, Object review, X509Certificate trusted) {
        try {
            HttpResponse<String> response = AdmittingApiServer.post(to, review.toString(), trusted);
            return new Answer(response.statusCode(), response.body().isEmpty() ? JSON.createObjectNode()
                    : JSON.readTree(response.body()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Answer exportAs(String uid, String user, String volume) {
        return post(review(uid, user, OPERATOR_GROUPS, Map.of(), exportOf(volume), false));
    }

    private static String uid() {
        return UUID.randomUUID().toString();
    }

    @Test
    void anExportOfARunningVmsVolumeIsRefusedWithTheGuardsMessageAuditedAndPublished() {
        vmWithDisk("vm1", "Running", DISK);
        String uid = uid();

        Answer answer = exportAs(uid, OPERATOR, DISK);

        assertThat(answer.code()).isEqualTo(200);
        assertThat(answer.response().path("uid").asText()).isEqualTo(uid);
        assertThat(answer.allowed()).isFalse();
        assertThat(answer.response().path("status").path("code").asInt()).isEqualTo(403);
        assertThat(answer.message()).startsWith("Refused: VM " + ns + "/vm1 (Running) is not fully stopped")
                .contains("Stop the VM").endsWith("then export the volume again.").hasSizeLessThan(400);

        Event rejected = topics.awaitResult("admission:" + uid);
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.message()).isEqualTo(answer.message());
        assertThat(rejected.headers()).containsEntry("ce_source", "/vm-export-guard/admission")
                .containsEntry("ce_type", "dev.vmexportguard.export.rejected");
        assertThat(rejected.body().path("caller").asText()).isEqualTo(OPERATOR);
        assertThat(rejected.body().path("observed").path("vms").get(0).path("name").asText()).isEqualTo("vm1");

        JsonPath audit = AuditApi.export("admission:" + uid, 2).extract().jsonPath();
        assertThat(audit.getList("history.type", String.class)).containsExactly("RECEIVED", "REJECTED");
        assertThat(audit.getString("history[0].caller")).isEqualTo(OPERATOR);
        assertThat(audit.getString("history[0].source.topic")).isEqualTo("admission");
        JsonNode received = readTree(audit.getString("history[0].payload"));
        assertThat(received.path("uid").asText()).isEqualTo(uid);
        assertThat(received.path("userInfo").path("groups").toString()).contains("harvester-operators");
        assertThat(audit.getString("history[1].observed.vms[0].name")).isEqualTo("vm1");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void anExportOfAStoppedVmsVolumeIsAdmittedAndPublishedAsAdmitted() {
        stoppedVm("vm1", DISK);
        String uid = uid();

        Answer answer = exportAs(uid, OPERATOR, DISK);

        assertThat(answer.allowed()).isTrue();
        assertThat(answer.response().has("status")).isFalse();
        Event admitted = topics.awaitResult("admission:" + uid);
        assertThat(admitted.type()).isEqualTo("ADMITTED");
        assertThat(admitted.headers()).containsEntry("ce_source", "/vm-export-guard/admission")
                .containsEntry("ce_type", "dev.vmexportguard.export.admitted");
        assertThat(admitted.body().path("image").path("name").asText()).isEqualTo("image-" + uid.substring(0, 5));
        assertThat(admitted.body().path("vmName").asText()).isEqualTo("vm1");
        assertThat(admitted.body().path("observed").path("vms").get(0).path("printableStatus").asText())
                .isEqualTo("Stopped");
        assertThat(AuditApi.export("admission:" + uid, 2).extract().jsonPath()
                .getList("history.type", String.class)).containsExactly("RECEIVED", "ADMITTED");
        // and on the VM, for whoever looks at it in Harvester
        await().atMost(Duration.ofSeconds(30)).until(() -> server.getClient().v1().events().inNamespace(ns).list()
                .getItems().stream().anyMatch(e -> "ExportAdmitted".equals(e.getReason())
                        && "vm1".equals(e.getInvolvedObject().getName())));
    }

    @Test
    void aVolumeSharedWithARunningVmIsRefusedThoughTheOtherVmIsStopped() {
        stoppedVm("vm1", DISK);
        cluster.vm(ns, "vm2", "Running", DISK);

        Answer answer = exportAs(uid(), OPERATOR, DISK);

        assertThat(answer.allowed()).isFalse();
        assertThat(answer.message()).contains("VM " + ns + "/vm2 (Running) is not fully stopped").doesNotContain(ns + "/vm1");
    }

    @Test
    void aLauncherPodStillTerminatingKeepsTheVolumeInUse() {
        stoppedVm("vm1", DISK);
        cluster.launcherPod(ns, "vm1", "Running", DISK);

        Answer answer = exportAs(uid(), OPERATOR, DISK);

        assertThat(answer.allowed()).isFalse();
        assertThat(answer.message()).contains("is still mounted by pod").endsWith("then export the volume again.");
    }

    @Test
    void whileTheGuardExportsTheVolumeAnotherExportOfItIsRefused() {
        stoppedVm("vm1", DISK);
        String running = send("vm1", null);
        Event started = awaitEvent(running, "STARTED");
        String uid = uid();

        Answer answer = exportAs(uid, OPERATOR, DISK);

        assertThat(answer.allowed()).isFalse();
        assertThat(answer.message()).contains("is already being exported by request " + running);
        assertThat(topics.awaitResult("admission:" + uid).reason()).isEqualTo("EXPORT_IN_PROGRESS");
        simulator.complete(ns, started.body().path("image").path("name").asText(), 1024);
        awaitEvent(running, "COMPLETED");
    }

    @Test
    void theGuardsOwnImageIsAdmittedAtOnceButItsLabelsOnSomeoneElsesAreNot() {
        vmWithDisk("vm1", "Running", DISK);
        Map<String, String> guardLabels = Map.of("vm-export-guard.dev/managed-by", "vm-export-guard");
        String own = uid();
        String forged = uid();

        Answer guards = post(review(own, GUARD_USER, List.of("system:serviceaccounts"), guardLabels, exportOf(DISK),
                false));
        Answer someoneElses = post(review(forged, OPERATOR, OPERATOR_GROUPS, guardLabels, exportOf(DISK), false));

        assertThat(guards.allowed()).isTrue();
        assertThat(someoneElses.allowed()).isFalse();
        assertThat(topics.awaitResult("admission:" + forged).reason()).isEqualTo("VM_RUNNING");
        // nothing is recorded about the guard's own image: its export has its own events
        await().during(GuardTopics.SETTLE).atMost(Duration.ofSeconds(5))
                .until(() -> topics.results("admission:" + own).isEmpty());
    }

    @Test
    void anotherSourceTypePassesUntouched() {
        vmWithDisk("vm1", "Running", DISK);
        String uid = uid();

        Answer answer = post(review(uid, OPERATOR, OPERATOR_GROUPS, Map.of(), Map.of("displayName", "ubuntu",
                "sourceType", "download", "url", "https://example.com/ubuntu.img"), false));

        assertThat(answer.allowed()).isTrue();
        await().during(GuardTopics.SETTLE).atMost(Duration.ofSeconds(5))
                .until(() -> topics.results("admission:" + uid).isEmpty());
    }

    @Test
    void aDryRunIsAnsweredAndRecordsNothing() {
        vmWithDisk("vm1", "Running", DISK);
        String uid = uid();

        Answer answer = post(review(uid, OPERATOR, OPERATOR_GROUPS, Map.of(), exportOf(DISK), true));

        assertThat(answer.allowed()).isFalse();
        assertThat(answer.message()).contains("is not fully stopped");
        await().during(GuardTopics.SETTLE).atMost(Duration.ofSeconds(5))
                .until(() -> topics.results("admission:" + uid).isEmpty());
        AuditApi.asOperator().get("/api/exports/{id}", "admission:" + uid).then().statusCode(404);
    }

    @Test
    void aBodyThatIsNotAnAdmissionReviewIsA400AndPlainHttpIsNotServed() {
        Answer notJson = post(webhook, "{not json", WebhookCertificate.current());
        Answer noRequest = post(webhook, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
                WebhookCertificate.current());

        assertThat(notJson.code()).isEqualTo(400);
        assertThat(noRequest.code()).isEqualTo(400);
        assertThat(noRequest.body().path("detail").asText()).contains("AdmissionReview with a request and its uid");
        ObjectNode valid = review(uid(), OPERATOR, OPERATOR_GROUPS, Map.of(), exportOf(DISK), false);
        io.restassured.RestAssured.given().contentType("application/json").body(valid.toString())
                .post(plainHttp).then().statusCode(404);
    }

    @Test
    void whenTheClusterCannotBeReadTheExportIsRefusedAndTheMessageSaysWhy() {
        stoppedVm("vm1", DISK);
        server.expect().get().withPath("/api/v1/namespaces/" + ns + "/persistentvolumeclaims")
                .andReturn(503, "{}").always();
        String uid = uid();

        Answer answer = exportAs(uid, OPERATOR, DISK);

        assertThat(answer.allowed()).isFalse();
        assertThat(answer.message()).startsWith("Refused: the guard could not read the cluster")
                .contains("Export the volume again once the Kubernetes API is reachable");
        assertThat(topics.awaitResult("admission:" + uid).reason()).isEqualTo("CLUSTER_UNAVAILABLE");
    }

    @Test
    void someoneWhoMayNotSeeTheVolumeIsRefusedWithoutLearningWhatUsesIt() {
        vmWithDisk("vm1", "Running", DISK);
        String user = "viewer-" + uid().substring(0, 8) + "@example.com";
        ScriptedAuthorizer.allowOnly(user, r -> false);

        Answer answer = exportAs(uid(), user, DISK);

        assertThat(answer.allowed()).isFalse();
        assertThat(answer.message()).startsWith("Refused: " + user + " may not get")
                .doesNotContain(ns + "/vm1").doesNotContain("Running");
    }

    /**
     * Through an API server that runs the webhook in its admission chain: what kubectl, a client library or Harvester's
     * UI get back where the image is created.
     */
    @Test
    void theApiServerRefusesTheImageOfARunningVmsVolumeWhereItIsCreatedAndStoresTheStoppedOnes() {
        vmWithDisk("vm1", "Running", DISK);
        stoppedVm("vm2", "vm2-disk-0");
        try (AdmittingApiServer apiServer = AdmittingApiServer.start(server, webhook, WebhookCertificate::current);
             KubernetesClient operator = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
                     .withMasterUrl(apiServer.url().toString()).withOauthToken(ScriptedAuthenticator.OPERATOR_TOKEN)
                     .withRequestRetryBackoffLimit(0).build()).build()) {
            KubernetesClientException refused = catchThrowableOfType(KubernetesClientException.class,
                    () -> createExportImage(operator, "of-vm1-", DISK));
            assertThat(refused.getCode()).isEqualTo(403);
            assertThat(refused.getStatus().getMessage()).startsWith("admission webhook \"export-images.vm-export-guard.dev\""
                    + " denied the request: Refused: VM " + ns + "/vm1 (Running) is not fully stopped");

            GenericKubernetesResource created = createExportImage(operator, "of-vm2-", "vm2-disk-0");
            assertThat(created.getMetadata().getName()).startsWith("of-vm2-").hasSize("of-vm2-".length() + 5);
        }
        assertThat(cluster.allImages(ns)).extracting(i -> i.getMetadata().getName())
                .singleElement().asString().startsWith("of-vm2-");
        await().atMost(Duration.ofSeconds(30)).until(() -> admittedIn(ns) != null);
        Event admitted = admittedIn(ns);
        assertThat(admitted.body().path("caller").asText()).isEqualTo(ScriptedAuthenticator.OPERATOR);
        assertThat(admitted.body().path("volumeName").asText()).isEqualTo("vm2-disk-0");
        assertThat(admitted.body().path("image").path("name").asText())
                .isEqualTo(cluster.allImages(ns).get(0).getMetadata().getName());
    }

    private Event admittedIn(String namespace) {
        return topics.results().stream()
                .filter(e -> e.type().equals("ADMITTED") && namespace.equals(e.body().path("namespace").asText()))
                .findFirst().orElse(null);
    }

    /** What Harvester's "Export Image" action sends: a name generated from {@code prefix}. */
    private GenericKubernetesResource createExportImage(KubernetesClient client, String prefix, String volume) {
        return client.genericKubernetesResources("harvesterhci.io/v1beta1", "VirtualMachineImage").inNamespace(ns)
                .resource(new GenericKubernetesResourceBuilder().withApiVersion("harvesterhci.io/v1beta1")
                        .withKind("VirtualMachineImage").withNewMetadata().withGenerateName(prefix).withNamespace(ns)
                        .endMetadata()
                        .addToAdditionalProperties("spec", Map.of("displayName", prefix + "image", "sourceType",
                                "export-from-volume", "pvcNamespace", ns, "pvcName", volume,
                                "storageClassName", "harvester-longhorn"))
                        .build())
                .create();
    }

    @Test
    void aRenewedCertificateIsServedWithoutARestart() {
        stoppedVm("vm1", DISK);
        X509Certificate old = WebhookCertificate.current();
        assertThat(post(webhook, review(uid(), OPERATOR, OPERATOR_GROUPS, Map.of(), exportOf(DISK), true), old)
                .allowed()).isTrue();

        BigInteger serial = WebhookCertificate.renew();
        X509Certificate renewed = WebhookCertificate.current();
        assertThat(renewed.getSerialNumber()).isEqualTo(serial);

        // reloaded within seconds (quarkus.tls.reload-period): a client that trusts only the new one gets its answer
        await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() ->
                post(webhook, review(uid(), OPERATOR, OPERATOR_GROUPS, Map.of(), exportOf(DISK), true), renewed)
                        .allowed());
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() ->
                post(webhook, review(uid(), OPERATOR, OPERATOR_GROUPS, Map.of(), exportOf(DISK), true), old)))
                .hasCauseInstanceOf(SSLException.class);
    }

    private static JsonNode readTree(String json) {
        try {
            return JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
