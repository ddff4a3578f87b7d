package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.GuardProcessTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.HarvesterSimulator.Power;
import dev.vmexportguard.support.PostgresResource;
import dev.vmexportguard.support.Requests;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two built guards against one broker, PostgreSQL and API server, exports that stop their VMs and start them again:
 * the leader's database connections are killed, then the leader itself (SIGKILL). The other takes the Lease over
 * within 30 s; no VM is stopped or started twice, and every export ends with exactly one final event.
 */
class LeaderFailoverIT extends GuardProcessTest {
    private static final String NS = "failover";
    private static final String LEASE_NAMESPACE = "default";
    private static final int VMS = 6;


    @BeforeAll
    static void startBackingServices() {
        startBackingServices(LEASE_NAMESPACE, Map.of("GUARD_EXPORTS_MAX_CONCURRENT", Integer.toString(VMS)));
        // slow copies: the exports are still running when the leader is cut off and killed
        every(500, () -> simulator.advanceImages(NS, 2));
    }

    static String holder() {
        Lease lease = api.getClient().resources(Lease.class).inNamespace(LEASE_NAMESPACE).withName("vm-export-guard-leader")
                .get();
        return lease == null ? null : lease.getSpec().getHolderIdentity();
    }

    @Test
    void leaderCutOffThenKilledNoVmStoppedOrStartedTwice() throws Exception {
        HarvesterCluster cluster = new HarvesterCluster(api.getClient());
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < VMS; i++) {
            String disk = "v" + i + "-disk-0-aaaaa";
            cluster.volume(NS, disk);
            simulator.runningVm(NS, "v" + i, "RerunOnFailure", disk);
            simulator.servePower(api, NS, "v" + i, Duration.ofSeconds(1), Power.WORKS);
            ids.add(Requests.newRequestId());
        }
        GuardTopics topics = GuardTopics.get();

        try (GuardProcess first = readyGuard("guard-a")) {
            await().atMost(Duration.ofSeconds(60)).until(() -> "guard-a".equals(holder()));
            try (GuardProcess second = readyGuard("guard-b")) {
                failOver(topics, ids, first, second);
            }
        }
    }

    private void failOver(GuardTopics topics, List<String> ids, GuardProcess first, GuardProcess second)
            throws Exception {
        // the follower is ready, and says who leads
        assertThat(second.get("/q/health/ready")).containsPattern("\"leader\"\\s*:\\s*\"guard-a\"")
                .containsPattern("\"leading\"\\s*:\\s*false");
        assertThat(holder()).isEqualTo("guard-a");

        for (int i = 0; i < VMS; i++) {
            String id = ids.get(i);
            topics.send(id, Requests.request(id, NS, "v" + i, null).replace("}",
                    ",\"onRunning\":\"STOP\",\"restartAfter\":true}"));
        }
        await().atMost(Duration.ofSeconds(90)).until(() -> count(topics, ids, "STARTED") >= 2);

        // the leader's database connections are killed: it keeps the lease, and nobody else acts
        int killed = terminateBackends("guard-a");
        assertThat(killed).isPositive();
        await().atMost(Duration.ofSeconds(90)).until(() -> count(topics, ids, "STARTED") == VMS);
        assertThat(holder()).isEqualTo("guard-a");

        first.kill();
        long killedAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> "guard-b".equals(holder()));
        assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isLessThan(Duration.ofSeconds(30));

        await().atMost(Duration.ofSeconds(180)).until(() -> count(topics, ids, "VM_RESTARTED") == VMS);

        for (String id : ids) {
            Set<String> finalIds = new HashSet<>();
            Set<String> finalTypes = new HashSet<>();
            topics.results(id).stream().filter(e -> Set.of("REJECTED", "COMPLETED", "FAILED").contains(e.type()))
                    .forEach(e -> {
                        finalTypes.add(e.type());
                        finalIds.add(e.body().path("eventId").asText());
                    });
            assertThat(finalTypes).as("final events of %s", id).containsExactly("COMPLETED");
            assertThat(finalIds).as("final event ids of %s", id).hasSize(1);
        }
        List<String> powerCalls = simulator.subresourceCalls();
        for (int i = 0; i < VMS; i++) {
            String vm = "v" + i;
            assertThat(powerCalls.stream().filter(c -> c.startsWith(vm + " stop "))).as("stops of %s in %s", vm, powerCalls)
                    .hasSize(1);
            assertThat(powerCalls.stream().filter(c -> c.startsWith(vm + " start "))).as("starts of %s in %s", vm, powerCalls)
                    .hasSize(1);
            GenericKubernetesResource current = api.getClient().genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE)
                    .inNamespace(NS).withName(vm).get();
            Map<String, String> annotations = current.getMetadata().getAnnotations();
            assertThat(annotations == null ? Map.of() : annotations).doesNotContainKey(KubernetesResources.ANNOTATION_EXPORT_LOCK);
        }
        assertThat(second.terminate(Duration.ofSeconds(40))).isTrue();
    }

    /** pg_terminate_backend on every connection of the guard named {@code name}; how many were ended. */
    private static int terminateBackends(String name) throws Exception {
        try (Connection c = DriverManager.getConnection(PostgresResource.superuserJdbcUrl());
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity"
                     + " where application_name = '" + name + "'")) {
            r.next();
            return r.getInt(1);
        }
    }

    private static long count(GuardTopics topics, List<String> ids, String type) {
        return ids.stream().filter(id -> topics.results(id).stream().anyMatch(e -> e.type().equals(type))).count();
    }
}
