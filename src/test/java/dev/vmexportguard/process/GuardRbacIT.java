package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.vmexportguard.support.GuardApiCalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The guard's RBAC is exactly what it uses: every API call the integration tests saw the guard make (recorded by
 * {@link GuardApiCalls} into {@code target/api-calls.txt} during the Surefire run, which comes before this one) is
 * allowed by the ClusterRole of {@code k8s/base/cluster-role.yaml} or, for its Lease, the Role of
 * {@code k8s/rbac/vm-export-guard-leader-election.yaml}; and every verb on every resource those grant was used by
 * some call. The recording is complete only after the whole Surefire run ({@code ./mvnw verify}).
 */
class GuardRbacIT {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    /** Paths every authenticated user may read (system:discovery, system:public-info-viewer). */
    static final Set<String> DISCOVERY = Set.of("/version", "/api", "/apis", "/healthz", "/livez", "/readyz", "/openapi/v2");

    record Call(String verb, String group, String resource, String subresource, String namespace, String name) {
        static Call parse(String line) {
            String[] f = line.trim().split(" ");
            String group = f[1].equals("\"\"") ? "" : f[1];
            return new Call(f[0], group, f[2], f[3].equals("-") ? null : f[3], f[4].equals("-") ? null : f[4],
                    f[5].equals("-") ? null : f[5]);
        }

        String fullResource() {
            return subresource == null ? resource : resource + "/" + subresource;
        }
    }

    record Rule(Set<String> groups, Set<String> resources, Set<String> verbs, Set<String> names, boolean namespaced) {
        boolean allows(Call c) {
            return (groups.contains(c.group()) || groups.contains("*"))
                    && (resources.contains(c.fullResource()) || resources.contains("*"))
                    && (verbs.contains(c.verb()) || verbs.contains("*"))
                    && (names.isEmpty() || (c.name() != null && names.contains(c.name())))
                    && (!namespaced || c.namespace() != null);
        }

        /** Each verb on each resource the rule grants: {@code group resource verb}. */
        List<String> grants() {
            List<String> out = new ArrayList<>();
            for (String g : groups) {
                for (String r : resources) {
                    for (String v : verbs) {
                        out.add(g + " " + r + " " + v);
                    }
                }
            }
            return out;
        }
    }

    static List<Rule> rules(Path file, String kind, boolean namespaced) throws IOException {
        List<Rule> rules = new ArrayList<>();
        for (JsonNode doc : YAML.readValues(YAML.getFactory().createParser(file.toFile()), JsonNode.class).readAll()) {
            if (!kind.equals(doc.path("kind").asText())) {
                continue;
            }
            for (JsonNode r : doc.path("rules")) {
                rules.add(new Rule(set(r.path("apiGroups")), set(r.path("resources")), set(r.path("verbs")),
                        set(r.path("resourceNames")), namespaced));
            }
        }
        assertThat(rules).as(kind + " rules in " + file).isNotEmpty();
        return rules;
    }

    static Set<String> set(JsonNode array) {
        Set<String> out = new LinkedHashSet<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** The Surefire run before this one ran only some tests ({@code -Dtest=...}). */
    static boolean surefireFiltered() {
        String filter = System.getProperty("guard.surefire.test");
        return filter != null && !filter.isBlank() && !filter.startsWith("${");
    }

    @Test
    void rolesAllowEveryCallTheGuardMadeAndGrantNothingElse() throws IOException {
        if (surefireFiltered()) {
            Assumptions.assumeTrue(Files.exists(GuardApiCalls.FILE), "ASSUMPTION: Surefire ran only -Dtest="
                    + System.getProperty("guard.surefire.test") + " and recorded no call of the guard; run ./mvnw verify");
        }
        assertThat(GuardApiCalls.FILE).as("the guard's API calls recorded by the integration tests (Surefire runs"
                + " them before this test: ./mvnw verify)").exists();
        List<Rule> clusterRole = rules(Path.of("k8s/base/cluster-role.yaml"), "ClusterRole", false);
        List<Rule> leaseRole = rules(Path.of("k8s/rbac/vm-export-guard-leader-election.yaml"), "Role", true);
        Set<String> lines = new TreeSet<>(Files.readAllLines(GuardApiCalls.FILE));
        assertThat(lines).as("recorded calls").isNotEmpty();

        Set<String> notAllowed = new TreeSet<>();
        Set<String> used = new TreeSet<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("nonresource ")) {
                String[] f = line.split(" ");
                if (!(f[1].equals("get") && DISCOVERY.contains(f[2]))) {
                    notAllowed.add(line);
                }
                continue;
            }
            Call call = Call.parse(line);
            boolean allowed = false;
            for (Rule rule : leaseRole.stream().anyMatch(r -> r.allows(call)) ? leaseRole : clusterRole) {
                if (rule.allows(call)) {
                    allowed = true;
                    used.add((call.group().isEmpty() ? "\"\"" : call.group()) + " " + call.fullResource() + " " + call.verb());
                }
            }
            if (!allowed) {
                notAllowed.add(line);
            }
        }
        assertThat(notAllowed).as("calls of the guard that its roles do not allow").isEmpty();

        Set<String> granted = new TreeSet<>();
        for (Rule rule : clusterRole) {
            granted.addAll(rule.grants().stream().map(g -> g.startsWith(" ") ? "\"\"" + g : g).toList());
        }
        for (Rule rule : leaseRole) {
            granted.addAll(rule.grants().stream().map(g -> g.startsWith(" ") ? "\"\"" + g : g).toList());
        }
        granted.removeAll(used);
        Assumptions.assumeFalse(surefireFiltered() && !granted.isEmpty(), "ASSUMPTION: Surefire ran only -Dtest="
                + System.getProperty("guard.surefire.test") + ", so the rules not used yet " + granted
                + " are not checked; run ./mvnw verify");
        assertThat(granted).as("verbs on resources the roles grant but no call of the guard used").isEmpty();
    }
}
