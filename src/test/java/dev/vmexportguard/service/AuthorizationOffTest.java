package dev.vmexportguard.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code guard.authorization.mode=none}: for trusted single-tenant setups, no SubjectAccessReview is asked. */
@QuarkusTest
@TestProfile(AuthorizationOffTest.NoReviews.class)
class AuthorizationOffTest extends GuardIntegrationTest {

    public static class NoReviews implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.authorization.mode", "none");
        }
    }

    @Test
    void requesterIsNotCheckedWhenAuthorizationIsOff() {
        stoppedVm("vm1", "vm1-disk-0-abcde");
        String user = "nobody-" + ns;
        ScriptedAuthorizer.deny(user, ScriptedAuthorizer.Rule.of("harvesterhci.io", "virtualmachineimages", "create"));

        String id = sendAs(user, "vm1", "");

        assertThat(GuardTopics.get().awaitResult(id).type()).isEqualTo("STARTED");
        assertThat(ScriptedAuthorizer.asked(user)).isEmpty();
    }
}
