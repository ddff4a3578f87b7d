package dev.vmexportguard.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The API server failing in the ways real ones do: the guard retries, then refuses; it never exports blind. */
@QuarkusTest
class ClusterFailureTest extends GuardIntegrationTest {

    @BeforeEach
    void createStoppedVm1() {
        stoppedVm("vm1", DISK);
    }

    static Status status(int code, String reason, String message) {
        return new StatusBuilder().withStatus("Failure").withCode(code).withReason(reason).withMessage(message).build();
    }

    String path(String apiPrefix, String plural) {
        return apiPrefix + "/namespaces/" + ns + "/" + plural;
    }

    @Test
    void serverErrorsThatPassAreRetried() {
        server.expect().get().withPath(path("/apis/kubevirt.io/v1", "virtualmachines"))
                .andReturn(503, status(503, "ServiceUnavailable", "etcd leader changed")).times(2);

        Event started = ask("vm1", null);

        assertThat(started.type()).isEqualTo("STARTED");
        assertThat(cluster.guardImages(ns)).hasSize(1);
    }

    @Test
    void serverErrorsThatLastRefuseWithClusterUnavailable() {
        server.expect().get().withPath(path("/api/v1", "pods"))
                .andReturn(500, status(500, "InternalError", "etcdserver: request timed out")).always();

        Event rejected = ask("vm1", null);

        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
        assertThat(rejected.message()).contains("list pods").contains("HTTP 500").contains("nothing was exported");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void forbiddenListNamesTheVerbAndResource() {
        server.expect().get().withPath(path("/apis/kubevirt.io/v1", "virtualmachineinstances"))
                .andReturn(403, status(403, "Forbidden", "virtualmachineinstances.kubevirt.io is forbidden")).always();

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("GUARD_NOT_AUTHORIZED");
        assertThat(rejected.message()).contains("may not list virtualmachineinstances.kubevirt.io in namespace " + ns);
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void forbiddenCreateNamesTheVerbAndResource() {
        server.expect().post().withPath(path("/apis/harvesterhci.io/v1beta1", "virtualmachineimages"))
                .andReturn(403, status(403, "Forbidden", "cannot create")).always();

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("GUARD_NOT_AUTHORIZED");
        assertThat(rejected.message()).contains("may not create virtualmachineimages.harvesterhci.io");
        assertThat(rejected.body().path("observed").path("vms").get(0).path("printableStatus").asText()).isEqualTo("Stopped");
    }

    @Test
    void imageRefusedByHarvesterIsReported() {
        server.expect().post().withPath(path("/apis/harvesterhci.io/v1beta1", "virtualmachineimages"))
                .andReturn(400, status(400, "BadRequest", "storage class fast-ssd not found")).always();

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("IMAGE_CREATE_FAILED");
        assertThat(rejected.message()).contains("storage class fast-ssd not found");
        assertThat(cluster.allImages(ns)).isEmpty();
    }

    @Test
    void duplicateDisplayNameRefusedByHarvesterIsNameTaken() {
        server.expect().post().withPath(path("/apis/harvesterhci.io/v1beta1", "virtualmachineimages"))
                .andReturn(409, status(409, "Conflict", "A resource with the same name exists: golden")).always();

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("IMAGE_NAME_TAKEN");
        assertThat(rejected.message()).contains("A resource with the same name exists");
    }

    @Test
    void kubevirtNotInstalledIsClusterUnavailable() {
        server.expect().get().withPath(path("/apis/kubevirt.io/v1", "virtualmachines"))
                .andReturn(404, status(404, "NotFound", "the server could not find the requested resource")).always();

        Event rejected = ask("vm1", null);

        assertThat(rejected.reason()).isEqualTo("CLUSTER_UNAVAILABLE");
        assertThat(rejected.message()).contains("does not serve virtualmachines.kubevirt.io");
    }
}
