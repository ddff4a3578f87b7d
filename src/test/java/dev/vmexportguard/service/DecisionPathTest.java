package dev.vmexportguard.service;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Requests on the real broker, cluster state in the test API server: what the requester and the operator see. */
@QuarkusTest
class DecisionPathTest extends GuardIntegrationTest {

    @Test
    void stoppedVmStartsTheExportAndIsAudited() {
        stoppedVm("vm1", DISK);

        String id = send("vm1", null);

        Event started = topics.awaitResult(id);
        assertThat(started.type()).isEqualTo("STARTED");
        assertThat(started.reason()).isNull();
        assertThat(started.key()).isEqualTo(id);
        assertThat(started.body().path("requestId").asText()).isEqualTo(id);
        assertThat(started.body().path("volumeName").asText()).isEqualTo(DISK);
        assertThat(started.body().path("requestedBy").asText()).isEqualTo("alice@example.com");
        assertThat(started.body().path("replyTo").asText()).isEqualTo("slack:C024BE91L/1712345.000100");
        assertThat(started.body().path("occurredAt").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");
        assertThat(started.headers()).containsEntry("ce_specversion", "1.0")
                .containsEntry("ce_id", started.body().path("eventId").asText())
                .containsEntry("ce_source", "/vm-export-guard")
                .containsEntry("ce_type", "dev.vmexportguard.export.started")
                .containsEntry("ce_subject", ns + "/vm1");
        JsonNode vmSeen = started.body().path("observed").path("vms").get(0);
        assertThat(vmSeen.path("name").asText()).isEqualTo("vm1");
        assertThat(vmSeen.path("printableStatus").asText()).isEqualTo("Stopped");
        assertThat(vmSeen.path("resourceVersion").asText()).isNotEmpty();
        assertThat(vmSeen.path("vmiPhase").isNull()).isTrue();

        List<GenericKubernetesResource> images = cluster.guardImages(ns);
        assertThat(images).hasSize(1);
        GenericKubernetesResource image = images.get(0);
        assertThat(image.getMetadata().getName()).isEqualTo(started.body().path("image").path("name").asText());
        assertThat(image.getMetadata().getLabels()).containsKey("vm-export-guard.dev/request");
        assertThat(image.getMetadata().getAnnotations())
                .containsEntry("vm-export-guard.dev/request-id", id)
                .containsEntry("harvesterhci.io/storageClassName", "harvester-longhorn");
        Map<String, Object> spec = image.get("spec");
        assertThat(spec).containsEntry("sourceType", "export-from-volume")
                .containsEntry("pvcName", DISK)
                .containsEntry("pvcNamespace", ns)
                .containsEntry("targetStorageClassName", "harvester-longhorn")
                .containsEntry("displayName", started.body().path("image").path("displayName").asText())
                .doesNotContainKey("url");

        AuditApi.export(id, 2)
                .body("status", equalTo("STARTED"))
                .body("image.name", equalTo(image.getMetadata().getName()))
                .body("history.type", contains("RECEIVED", "STARTED"))
                .body("history[0].requestedBy", equalTo("alice@example.com"))
                .body("history[0].source.topic", equalTo(GuardTopics.REQUESTS))
                .body("history[1].eventId", equalTo(started.body().path("eventId").asText()))
                .body("history[1].observed.vms[0].printableStatus", equalTo("Stopped"));
    }

    @Test
    void requestedDisplayNameAndStorageClassAreUsed() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();

        topics.send(id, "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"volumeName\":\"" + DISK
                + "\",\"requestedBy\":\"bot\",\"imageDisplayName\":\"vm1-root-2026-11\",\"storageClassName\":\"fast-ssd\"}");

        Event started = topics.awaitResult(id);
        assertThat(started.type()).isEqualTo("STARTED");
        assertThat(started.body().path("vmName").asText()).isEqualTo("vm1");
        Map<String, Object> spec = cluster.guardImages(ns).get(0).get("spec");
        assertThat(spec).containsEntry("displayName", "vm1-root-2026-11").containsEntry("targetStorageClassName", "fast-ssd");
    }

    @Test
    void runningVmIsRefusedAndNothingIsExported() {
        vmWithDisk("vm1", "Running", DISK);
        cluster.vmi(ns, "vm1", "Running", DISK);
        cluster.launcherPod(ns, "vm1", "Running", DISK);

        Event rejected = ask("vm1", null);

        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.message()).contains(ns + "/vm1").contains("Running").contains("Stop the VM");
        assertThat(rejected.headers()).containsEntry("ce_type", "dev.vmexportguard.export.rejected");
        assertThat(rejected.body().path("observed").path("vms").get(0).path("vmiPhase").asText()).isEqualTo("Running");
        assertThat(rejected.body().path("observed").path("pods").get(0).path("name").asText()).startsWith("virt-launcher-vm1");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Provisioning", "Starting", "Running", "Paused", "Stopping", "Terminating",
        "CrashLoopBackOff", "Migrating", "Unknown", "ErrorUnschedulable", "ErrImagePull", "ImagePullBackOff",
        "ErrorPvcNotFound", "DataVolumeError", "WaitingForVolumeBinding", "WaitingForReceiver"})
    void everyStateButStoppedIsRefused(String printableStatus) {
        vmWithDisk("vm1", printableStatus, DISK);

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.message()).contains(printableStatus);
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void vmWithoutStatusIsRefused() {
        vmWithDisk("vm1", null, DISK);

        assertThat(ask("vm1", null).reason()).isEqualTo("VM_RUNNING");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void stoppedVmWithLiveVmiIsRefused() {
        stoppedVm("vm1", DISK);
        cluster.vmi(ns, "vm1", "Scheduled", DISK);

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.message()).contains("VMI phase Scheduled");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void stoppedVmWithFinalVmiIsExported() {
        stoppedVm("vm1", DISK);
        cluster.vmi(ns, "vm1", "Succeeded", DISK);
        cluster.launcherPod(ns, "vm1", "Succeeded", DISK);

        Event started = ask("vm1", null);

        assertThat(started.type()).isEqualTo("STARTED");
        assertThat(started.body().path("observed").path("vms").get(0).path("vmiPhase").asText()).isEqualTo("Succeeded");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @Test
    void stoppedVmWhoseLauncherPodStillRunsIsRefused() {
        stoppedVm("vm1", DISK);
        cluster.launcherPod(ns, "vm1", "Running", DISK);

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("VOLUME_IN_USE");
        assertThat(rejected.message()).contains("virt-launcher-vm1").contains("Running");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void sharedVolumeWithOneRunningVmIsRefusedNamingThatVm() {
        cluster.volume(ns, "shared-data");
        cluster.vm(ns, "vm-a", "Stopped", "shared-data");
        cluster.vm(ns, "vm-b", "Running", "shared-data");
        cluster.vmi(ns, "vm-b", "Running", "shared-data");

        Event rejected = ask("vm-a", "shared-data");

        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.message()).contains(ns + "/vm-b").doesNotContain(ns + "/vm-a ");
        assertThat(rejected.body().path("observed").path("vms").findValuesAsText("name")).containsExactly("vm-a", "vm-b");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void volumeThatDoesNotExistIsRefused() {
        assertThat(ask(null, "no-such-disk").reason()).isEqualTo("VOLUME_NOT_FOUND");
    }

    @Test
    void volumeThatIsNotBoundIsRefused() {
        cluster.volume(ns, DISK, "Pending", "harvester-longhorn");
        Event rejected = ask(null, DISK);
        assertThat(rejected.reason()).isEqualTo("VOLUME_NOT_BOUND");
        assertThat(rejected.message()).contains("Pending");
    }

    @Test
    void volumeOfAnotherVmIsRefused() {
        cluster.volume(ns, DISK);
        cluster.volume(ns, "other-disk");
        cluster.vm(ns, "vm1", "Stopped", DISK);
        assertThat(ask("vm1", "other-disk").reason()).isEqualTo("VOLUME_NOT_ATTACHED_TO_VM");
    }

    @Test
    void vmThatDoesNotExistIsRefused() {
        assertThat(ask("ghost", null).reason()).isEqualTo("VM_NOT_FOUND");
    }

    @Test
    void vmWithoutPvcDiskIsRefused() {
        cluster.vm(ns, "vm1", "Stopped", List.of(Map.of("name", "cloudinit", "cloudInitNoCloud", Map.of("userData", "#cloud-config"))), Map.of());
        assertThat(ask("vm1", null).reason()).isEqualTo("NO_EXPORTABLE_VOLUME");
    }

    @Test
    void vmWithTwoDisksIsAmbiguous() {
        cluster.volume(ns, "vm1-disk-0-aaaaa");
        cluster.volume(ns, "vm1-disk-1-bbbbb");
        cluster.vm(ns, "vm1", "Stopped", "vm1-disk-0-aaaaa", "vm1-disk-1-bbbbb");

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("AMBIGUOUS_VOLUME");
        assertThat(rejected.message()).contains("vm1-disk-0-aaaaa").contains("vm1-disk-1-bbbbb");
    }

    @Test
    void dataVolumeDiskIsTheCandidate() {
        cluster.volume(ns, "vm1-rootdisk");
        cluster.vm(ns, "vm1", "Stopped", List.of(Map.of("name", "rootdisk", "dataVolume", Map.of("name", "vm1-rootdisk"))), Map.of());

        Event started = ask("vm1", null);

        assertThat(started.type()).isEqualTo("STARTED");
        assertThat(started.body().path("volumeName").asText()).isEqualTo("vm1-rootdisk");
    }

    @Test
    void displayNameAlreadyUsedByAnotherImageIsRefused() {
        stoppedVm("vm1", DISK);
        cluster.foreignImage(ns, "image-abcde", "golden-ubuntu");

        String id = sendAs("bob", "vm1", ",\"imageDisplayName\":\"golden-ubuntu\"");

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.reason()).isEqualTo("IMAGE_NAME_TAKEN");
        assertThat(rejected.message()).contains("golden-ubuntu");
        assertThat(cluster.guardImages(ns)).isEmpty();
    }

    @Test
    void sameRequestTwiceMakesOneImageAndTheSameStartedEvent() {
        stoppedVm("vm1", DISK);

        String id = send("vm1", null);
        topics.awaitResult(id);
        topics.send(id, request(id, ns, "vm1", null));

        List<Event> events = topics.awaitResults(id, 2);
        assertThat(events).extracting(Event::type).containsExactly("STARTED", "STARTED");
        assertThat(events.get(1).body().path("eventId").asText()).isEqualTo(events.get(0).body().path("eventId").asText());
        assertThat(cluster.guardImages(ns)).hasSize(1);
        AuditApi.export(id, 4).body("history.type", contains("RECEIVED", "STARTED", "RECEIVED", "STARTED"));
    }

    @Test
    void reusedRequestIdForAnotherVolumeIsRefused() {
        cluster.volume(ns, DISK);
        cluster.volume(ns, "vm2-disk-0-zzzzz");
        cluster.vm(ns, "vm1", "Stopped", DISK);
        cluster.vm(ns, "vm2", "Stopped", "vm2-disk-0-zzzzz");
        String id = send("vm1", null);
        topics.awaitResult(id);

        topics.send(id, request(id, ns, "vm2", null));

        Event second = topics.awaitResults(id, 2).get(1);
        assertThat(second.reason()).isEqualTo("REQUEST_ID_CONFLICT");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @Test
    void cloudEventInBinaryModeIsServed() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();

        topics.send(id, request(id, ns, "vm1", null).getBytes(StandardCharsets.UTF_8), Map.of(
                "ce_specversion", "1.0", "ce_id", "evt-1", "ce_source", "/chatops/slack",
                "ce_type", "com.example.vm.export.requested", "content-type", "application/json"));

        assertThat(topics.awaitResult(id).type()).isEqualTo("STARTED");
    }

    @Test
    void cloudEventInStructuredModeIsServed() {
        vmWithDisk("vm1", "Running", DISK);
        String id = newRequestId();
        String envelope = "{\"specversion\":\"1.0\",\"id\":\"evt-2\",\"source\":\"/chatops/slack\","
                + "\"type\":\"com.example.vm.export.requested\",\"datacontenttype\":\"application/json\","
                + "\"data\":" + request(id, ns, "vm1", null) + "}";

        topics.send(id, envelope.getBytes(StandardCharsets.UTF_8),
                Map.of("content-type", "application/cloudevents+json; charset=UTF-8"));

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.reason()).isEqualTo("VM_RUNNING");
        assertThat(rejected.body().path("replyTo").asText()).isEqualTo("slack:C024BE91L/1712345.000100");
    }
}
