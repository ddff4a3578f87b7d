package dev.vmexportguard.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.ScriptedAuthorizer.Review;
import dev.vmexportguard.support.ScriptedAuthorizer.Rule;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The test authorizer matches a review's attributes as RBAC does, so a wrong question from the guard is refused. */
class ScriptedAuthorizerTest {

    private final String user = "u-" + UUID.randomUUID();

    private Review review(String verb, String group, String resource, String subresource, String namespace, String name) {
        return new Review(user, List.of("system:authenticated"), verb, group, resource, subresource, namespace, name);
    }

    @Test
    void aRuleForAResourceDoesNotAllowItsSubresources() {
        ScriptedAuthorizer.grant(user, "team-a", Rule.of("subresources.kubevirt.io", "virtualmachines", "update"));

        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", null, "team-a", "vm1"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "stop", "team-a", "vm1"))).isFalse();
    }

    @Test
    void theApiGroupMustMatch() {
        ScriptedAuthorizer.grant(user, "team-a", Rule.of("kubevirt.io", "virtualmachines/stop", "update"));

        assertThat(ScriptedAuthorizer.allows(review("update", "kubevirt.io", "virtualmachines", "stop", "team-a", "vm1"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "stop", "team-a", "vm1"))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("update", null, "virtualmachines", "stop", "team-a", "vm1"))).isFalse();
    }

    @Test
    void aNamespacedGrantAllowsThatNamespaceOnly() {
        ScriptedAuthorizer.grant(user, "team-a", Rule.of("", "persistentvolumeclaims", "get"));

        assertThat(ScriptedAuthorizer.allows(review("get", null, "persistentvolumeclaims", null, "team-a", "d"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("get", null, "persistentvolumeclaims", null, "team-b", "d"))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("get", null, "persistentvolumeclaims", null, null, "d"))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("list", null, "persistentvolumeclaims", null, "team-a", null))).isFalse();
    }

    @Test
    void aGrantByNameAllowsOnlyThatName() {
        ScriptedAuthorizer.grant(user, null, Rule.of("", "users", "impersonate").named("alice@corp"));

        assertThat(ScriptedAuthorizer.allows(review("impersonate", null, "users", null, null, "alice@corp"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("impersonate", null, "users", null, null, "mallory@corp"))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("impersonate", null, "users", null, null, null))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("impersonate", null, "groups", null, null, "alice@corp"))).isFalse();
    }

    @Test
    void wildcardsMatchAsInRbac() {
        ScriptedAuthorizer.grant(user, null, new Rule(List.of("*"), List.of("*/stop"), List.of("*"), List.of()));

        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "stop", "x", "vm1"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "start", "x", "vm1"))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("update", "kubevirt.io", "virtualmachines", null, "x", "vm1"))).isFalse();
    }

    @Test
    void aDenialMatchesGroupSubresourceAndNameExactly() {
        ScriptedAuthorizer.deny(user, Rule.of("subresources.kubevirt.io", "virtualmachines/stop", "update").named("vm1"));

        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "stop", "x", "vm1"))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "stop", "x", "vm2"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("update", "kubevirt.io", "virtualmachines", "stop", "x", "vm1"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "start", "x", "vm1"))).isTrue();
    }

    @Test
    void theRequesterRoleGrantsWhatItNamesInItsNamespace() {
        ScriptedAuthorizer.bindClusterRole(user, "team-a", Path.of("k8s/rbac/vm-export-guard-requester.yaml"));

        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "stop", "team-a", "vm1"))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("create", "harvesterhci.io", "virtualmachinebackups", null, "team-a", null))).isTrue();
        assertThat(ScriptedAuthorizer.allows(review("update", "subresources.kubevirt.io", "virtualmachines", "stop", "team-b", "vm1"))).isFalse();
        assertThat(ScriptedAuthorizer.allows(review("update", "kubevirt.io", "virtualmachines", null, "team-a", "vm1"))).isFalse();
    }

    @Test
    void anAdminIsAllowedEverything() {
        ScriptedAuthorizer.grant(user, "team-a", Rule.of("", "pods", "get"));

        assertThat(ScriptedAuthorizer.allows(new Review(user, List.of(ScriptedAuthorizer.ADMIN_GROUP), "delete", "x.io",
                "things", null, null, null))).isTrue();
    }
}
