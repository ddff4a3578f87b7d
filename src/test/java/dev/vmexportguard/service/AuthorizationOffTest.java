package dev.vmexportguard.service;

import static dev.vmexportguard.support.Requests.newRequestId;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.HarvesterApiSetup;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code guard.authorization.mode=none}: for trusted single-tenant setups, no SubjectAccessReview is asked. */
@QuarkusTest
@TestProfile(AuthorizationOffTest.NoReviews.class)
@WithKubernetesTestServer(crud = true, setup = HarvesterApiSetup.class)
class AuthorizationOffTest {

    public static class NoReviews implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.authorization.mode", "none");
        }
    }

    @KubernetesTestServer
    KubernetesServer server;

    @Test
    void requesterIsNotCheckedWhenAuthorizationIsOff() {
        HarvesterCluster cluster = new HarvesterCluster(server.getClient());
        String ns = HarvesterCluster.freshNamespace();
        cluster.volume(ns, "vm1-disk-0-abcde");
        cluster.vm(ns, "vm1", "Stopped", "vm1-disk-0-abcde");
        String user = "nobody-" + ns;
        ScriptedAuthorizer.deny(user, "create", "virtualmachineimages", null);
        String id = newRequestId();

        GuardTopics.get().send(id, "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                + "\"requestedBy\":\"" + user + "\"}");

        assertThat(GuardTopics.get().awaitResult(id).type()).isEqualTo("STARTED");
        assertThat(ScriptedAuthorizer.asked(user)).isEmpty();
    }
}
