package dev.vmexportguard.messaging;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code guard.authentication.kafka=trusted}: the topic's ACLs are the boundary, a record needs no token and
 * {@code requestedBy} is the requester; a token that is there must still be valid.
 */
@QuarkusTest
@TestProfile(TrustedProducersTest.Trusted.class)
class TrustedProducersTest extends GuardIntegrationTest {

    public static class Trusted implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.authentication.kafka", "trusted");
        }
    }

    @Test
    void aRecordWithoutATokenActsForRequestedByWithItsRights() {
        stoppedVm("vm1", DISK);
        String requester = "carol-" + ns;
        ScriptedAuthorizer.deny(requester, ScriptedAuthorizer.Rule.of("harvesterhci.io", "virtualmachineimages", "create"));
        Map<String, String> noToken = new HashMap<>();
        noToken.put("authorization", null);
        String allowed = newRequestId();
        String denied = newRequestId();

        topics.send(allowed, request(allowed, ns, "vm1", null).getBytes(StandardCharsets.UTF_8), noToken);
        topics.send(denied, ("{\"requestId\":\"" + denied + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"vm1\","
                + "\"requestedBy\":\"" + requester + "\"}").getBytes(StandardCharsets.UTF_8), noToken);

        Event started = awaitEvent(allowed, "STARTED");
        assertThat(started.body().path("caller").isNull()).isTrue();
        assertThat(started.body().path("requestedBy").asText()).isEqualTo("alice@example.com");
        Event rejected = topics.awaitResult(denied);
        assertThat(rejected.reason()).isEqualTo("FORBIDDEN");
        assertThat(rejected.message()).isEqualTo("Refused: " + requester + " may not create virtualmachineimages"
                + " (harvesterhci.io) in namespace " + ns + ", so the guard does not do it on their behalf; nothing was"
                + " exported. Ask for that permission, or have someone who has it send the request.");
    }

    @Test
    void aTokenThatIsThereMustStillBeValid() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();

        topics.send(id, request(id, ns, "vm1", null).getBytes(StandardCharsets.UTF_8),
                Map.of("authorization", "Bearer forged"));

        assertThat(topics.awaitResult(id).reason()).isEqualTo("UNAUTHENTICATED");
        assertThat(cluster.guardImages(ns)).isEmpty();
    }
}
