package dev.vmexportguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reads the ClusterRoles of {@code k8s/rbac/} as the API server would receive them and checks their rules field by
 * field: the requester role grants exactly what the guard asks SubjectAccessReviews about, the auditor role only the
 * audit, and the example bot impersonates only the people and groups it names.
 */
class RbacManifestsTest {

    private static final Path RBAC = Path.of("k8s/rbac");
    private static final Path REQUESTER = RBAC.resolve("vm-export-guard-requester.yaml");
    private static final Path AUDITOR = RBAC.resolve("vm-export-guard-auditor.yaml");
    private static final Path BOT = RBAC.resolve("example-chatops-bot.yaml");

    /** One permission a rule grants: an API group, a resource and a verb. */
    record Grant(String apiGroup, String resource, String verb) {}

    private static <T> T load(Path file, Class<T> type) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Serialization.unmarshal(in, type);
        }
    }

    /** Every document of a multi-document YAML file, typed by its kind. */
    private static List<HasMetadata> documents(Path file) throws IOException {
        return Arrays.stream(Files.readString(file).split("(?m)^---\\s*$"))
                .filter(doc -> doc.lines().anyMatch(line -> !line.isBlank() && !line.stripLeading().startsWith("#")))
                .map(doc -> Serialization.unmarshal(doc, HasMetadata.class))
                .toList();
    }

    private static List<Grant> grants(ClusterRole role) {
        return role.getRules().stream()
                .flatMap(rule -> rule.getApiGroups().stream()
                        .flatMap(group -> rule.getResources().stream()
                                .flatMap(resource -> rule.getVerbs().stream()
                                        .map(verb -> new Grant(group, resource, verb)))))
                .toList();
    }

    private static void assertIsClusterRole(ClusterRole role, String name) {
        assertThat(role.getApiVersion()).isEqualTo("rbac.authorization.k8s.io/v1");
        assertThat(role.getKind()).isEqualTo("ClusterRole");
        assertThat(role.getMetadata().getName()).isEqualTo(name);
        assertThat(role.getAggregationRule()).as("aggregationRule").isNull();
    }

    private static void assertNoWildcard(PolicyRule rule) {
        assertThat(Stream.of(rule.getApiGroups(), rule.getResources(), rule.getVerbs(), rule.getResourceNames(),
                        rule.getNonResourceURLs())
                .flatMap(List::stream))
                .as("%s", rule)
                .noneMatch(value -> value.contains("*"));
    }

    @Test
    void requesterGrantsExactlyWhatTheGuardAsks() throws IOException {
        ClusterRole role = load(REQUESTER, ClusterRole.class);

        assertIsClusterRole(role, "vm-export-guard:requester");
        assertThat(grants(role)).containsExactlyInAnyOrder(
                new Grant("", "persistentvolumeclaims", "get"),
                new Grant("kubevirt.io", "virtualmachines", "get"),
                new Grant("harvesterhci.io", "virtualmachineimages", "create"),
                new Grant("subresources.kubevirt.io", "virtualmachines/stop", "update"),
                new Grant("subresources.kubevirt.io", "virtualmachines/start", "update"),
                new Grant("harvesterhci.io", "virtualmachinebackups", "create"),
                new Grant("vm-export-guard.dev", "exportaudits", "get"),
                new Grant("vm-export-guard.dev", "exportaudits", "list"));
        assertThat(role.getRules()).allSatisfy(rule -> {
            assertNoWildcard(rule);
            assertThat(rule.getResourceNames()).as("resourceNames").isEmpty();
            assertThat(rule.getNonResourceURLs()).as("nonResourceURLs").isEmpty();
        });
    }

    @Test
    void auditorOnlyReadsTheAudit() throws IOException {
        ClusterRole role = load(AUDITOR, ClusterRole.class);

        assertIsClusterRole(role, "vm-export-guard:auditor");
        assertThat(role.getRules()).singleElement().satisfies(rule -> {
            assertThat(rule.getApiGroups()).containsExactly("vm-export-guard.dev");
            assertThat(rule.getResources()).containsExactly("exportaudits");
            assertThat(rule.getVerbs()).containsExactlyInAnyOrder("get", "list");
            assertThat(rule.getResourceNames()).isEmpty();
            assertThat(rule.getNonResourceURLs()).isEmpty();
        });
    }

    @Test
    void botImpersonatesOnlyTheNamedUsersAndGroups() throws IOException {
        List<HasMetadata> docs = documents(BOT);
        assertThat(docs).hasSize(2);
        assertThat(docs).hasExactlyElementsOfTypes(ClusterRole.class, ClusterRoleBinding.class);
        ClusterRole role = (ClusterRole) docs.get(0);
        ClusterRoleBinding binding = (ClusterRoleBinding) docs.get(1);

        assertThat(role.getApiVersion()).isEqualTo("rbac.authorization.k8s.io/v1");
        assertThat(role.getAggregationRule()).isNull();
        assertThat(role.getRules()).isNotEmpty().allSatisfy(rule -> {
            assertNoWildcard(rule);
            assertThat(rule.getApiGroups()).containsExactly("");
            assertThat(rule.getVerbs()).containsExactly("impersonate");
            assertThat(rule.getResources()).isNotEmpty().isSubsetOf("users", "groups");
            assertThat(rule.getResourceNames()).as("resourceNames of %s", rule.getResources()).isNotEmpty()
                    .doesNotContain("system:masters", "vm-export-guard:break-glass",
                            "system:serviceaccount:vm-export-guard:vm-export-guard");
        });
        assertThat(role.getRules()).flatExtracting(PolicyRule::getResources).contains("users", "groups");

        assertThat(binding.getApiVersion()).isEqualTo("rbac.authorization.k8s.io/v1");
        assertThat(binding.getRoleRef().getApiGroup()).isEqualTo("rbac.authorization.k8s.io");
        assertThat(binding.getRoleRef().getKind()).isEqualTo("ClusterRole");
        assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName())
                .isNotEqualTo("vm-export-guard:requester");
        assertThat(binding.getSubjects()).singleElement().satisfies((Subject s) -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getNamespace()).isEqualTo("chatops");
            assertThat(s.getName()).isEqualTo("chatops-bot");
        });
    }

    @Test
    void guardMayOnlyReadCreateAndRenewItsLeaseInItsNamespace() throws IOException {
        List<HasMetadata> documents = documents(RBAC.resolve("vm-export-guard-leader-election.yaml"));

        assertThat(documents).hasSize(2);
        Role role = (Role) documents.get(0);
        RoleBinding binding = (RoleBinding) documents.get(1);
        assertThat(role.getMetadata().getNamespace()).isEqualTo("vm-export-guard");
        assertThat(role.getRules()).allSatisfy(RbacManifestsTest::assertNoWildcard);
        assertThat(role.getRules()).flatExtracting(rule -> rule.getVerbs().stream()
                        .map(verb -> rule.getApiGroups().get(0) + " " + rule.getResources().get(0) + " " + verb + " "
                                + rule.getResourceNames()).toList())
                .containsExactlyInAnyOrder("coordination.k8s.io leases get [vm-export-guard-leader]",
                        "coordination.k8s.io leases patch [vm-export-guard-leader]",
                        "coordination.k8s.io leases create []");
        assertThat(binding.getMetadata().getNamespace()).isEqualTo("vm-export-guard");
        assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
        assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
        assertThat(binding.getSubjects()).extracting(Subject::getKind, Subject::getNamespace, Subject::getName)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("ServiceAccount", "vm-export-guard", "vm-export-guard"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vm-export-guard-requester.yaml", "vm-export-guard-auditor.yaml", "example-chatops-bot.yaml",
            "vm-export-guard-leader-election.yaml"})
    void everyFileIsExplained(String file) throws IOException {
        assertThat(Files.readString(RBAC.resolve(file))).startsWith("# ");
    }
}
