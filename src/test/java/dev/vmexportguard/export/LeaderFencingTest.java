package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterSimulator.Power;
import io.agroal.api.AgroalDataSource;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A replica that was replaced as leader (another took the Lease and bumped the epoch) and still holds a job it
 * loaded before: each of its writes is refused, nothing changes in the database and no VM is stopped. Once the lease
 * is free again, this replica leads under a new epoch and the export goes its way, each VM stopped and started once.
 */
@QuarkusTest
class LeaderFencingTest extends GuardIntegrationTest {
    @Inject
    ExportJobs jobs;

    @Inject
    ExportSteps steps;

    @Inject
    Leadership leadership;

    @Inject
    AgroalDataSource database;

    @Test
    void writesUnderAReplacedEpochChangeNothingAndStopNoVm() throws SQLException {
        await().atMost(Duration.ofSeconds(60)).until(leadership::leading);
        long replaced = leadership.epoch().orElseThrow();

        // another replica becomes leader: it holds the lease and bumps the epoch, as every new leader does first
        lease().edit(l -> {
            ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
            l.getSpec().setHolderIdentity("replica-b");
            l.getSpec().setLeaseDurationSeconds(3600);
            l.getSpec().setRenewTime(now);
            l.getSpec().setAcquireTime(now);
            return l;
        });
        execute("update leader_epoch set epoch = epoch + 1, holder = 'replica-b' where id = 1");

        cluster.volume(ns, DISK);
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        simulator.servePower(server, ns, "vm1", Duration.ofMillis(300), Power.WORKS);
        String id = sendAs("alice", "vm1", ",\"onRunning\":\"STOP\",\"restartAfter\":true");
        // accepted on this replica, leader or not: the request path's insert is not fenced
        await().atMost(Duration.ofSeconds(60)).until(() -> jobs.find(id).isPresent() || finalEvent(id) != null);
        assertThat(finalEvent(id)).as("final event %s", finalEvent(id) == null ? "" : finalEvent(id).body()).isNull();
        ExportJob job = jobs.find(id).orElseThrow();

        // the job as the replaced leader had loaded it, under its old epoch
        job.leaderEpoch = replaced;
        assertThatThrownBy(() -> jobs.advance(job, ExportJob.State.STARTING))
                .isInstanceOf(Leadership.NotLeaderException.class)
                .hasMessageContaining("epoch " + replaced + " was replaced by epoch " + (replaced + 1) + " of replica-b");
        assertThatThrownBy(() -> jobs.update(job, j -> j.stoppedVms.add(new ExportJob.StoppedVm("vm1", "RerunOnFailure"))))
                .isInstanceOf(Leadership.NotLeaderException.class);
        // a step of it (in memory it had its slot already) is refused before it reads or calls the cluster
        job.state = ExportJob.State.STARTING;
        assertThatThrownBy(() -> steps.advance(job)).isInstanceOf(Leadership.NotLeaderException.class);

        ExportJob stored = jobs.find(id).orElseThrow();
        assertThat(stored.state).isEqualTo(ExportJob.State.PENDING);
        assertThat(stored.version).isZero();
        assertThat(stored.stoppedVms).isEmpty();
        assertThat(simulator.subresourceCalls()).isEmpty();
        assertThat(lockOf("vm1")).isNull();
        assertThat(cluster.allImages(ns)).isEmpty();
        assertThat(types(id)).doesNotContain("STOPPING_VM");

        // the other replica goes away and its lease with it: this one leads again, under a newer epoch
        lease().delete();
        await().atMost(Duration.ofSeconds(60)).until(leadership::leading);
        assertThat(leadership.epoch()).get().matches(e -> e > replaced + 1, "newer than the other replica's");
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);
        awaitEvent(id, "VM_RESTARTED");
        assertThat(types(id)).containsExactly("STOPPING_VM", "VM_STOPPED", "STARTED", "COMPLETED", "VM_RESTARTED");
        assertThat(simulator.subresourceCalls()).containsExactly("vm1 stop {}", "vm1 start {}");
        Event completed = finalEvent(id);
        assertThat(completed.type()).isEqualTo("COMPLETED");
    }

    private Resource<Lease> lease() {
        String[] lease = leadership.lease().split("/");
        return server.getClient().resources(Lease.class).inNamespace(lease[0]).withName(lease[1]);
    }

    private void execute(String sql) throws SQLException {
        try (Connection c = database.getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate(sql);
        }
    }
}
