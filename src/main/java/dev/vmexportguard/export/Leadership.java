package dev.vmexportguard.export;

import dev.vmexportguard.cluster.LeaseElection;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
import jakarta.persistence.PersistenceException;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * One replica at a time starts and follows exports: the holder of a Kubernetes Lease ({@link LeaseElection}), under
 * an epoch kept in PostgreSQL ({@code leader_epoch}). Becoming leader bumps the epoch before anything is done; every
 * write of the lifecycle to a job is fenced ({@link #fence}): in its transaction the epoch row is locked and must
 * still hold the epoch the job was loaded under, and this replica must still hold the lease. So a replica that lost
 * the lease, or was replaced while it could not tell (a pause, a partition), fails its next write, and the steps
 * write what they are about to do before they call the cluster.
 */
@ApplicationScoped
public class Leadership {
    private static final Logger LOG = Logger.getLogger(Leadership.class);

    /** A job write refused: this replica does not lead, or no longer under the epoch the job was loaded in. */
    public static class NotLeaderException extends RuntimeException {
        NotLeaderException(String message) {
            super(message);
        }
    }

    private final LeaseElection lease;
    private final EntityManager em;
    /** The epoch this replica leads under; null while it does not lead (or has not bumped it yet). */
    private volatile Long epoch;

    public Leadership(LeaseElection lease, EntityManager em, MeterRegistry registry) {
        this.lease = lease;
        this.em = em;
        // gauges left by an earlier start in the same JVM (tests start the guard again) would read their old owner
        for (String name : new String[] {"guard.leader", "guard.leader.epoch"}) {
            registry.find(name).meters().forEach(registry::remove);
        }
        Gauge.builder("guard.leader", () -> leading() ? 1 : 0)
                .description("1 while this replica leads the export lifecycle, else 0").register(registry);
        Gauge.builder("guard.leader.epoch", () -> {
            Long current = epoch;
            return current == null ? 0 : current;
        }).description("The leader epoch this replica leads under; 0 while it does not lead").register(registry);
    }

    void start() {
        lease.start(new LeaseElection.Listener() {
            @Override
            public void started() {
                // the epoch is bumped by the lifecycle's thread before its first step
                epoch = null;
            }

            @Override
            public void stopped() {
                epoch = null;
            }
        });
    }

    /** Gives the lease up, so that another replica takes over at once. */
    void close() {
        epoch = null;
        lease.close();
    }

    /**
     * True while this replica leads and may act. A replica that just took the lease first bumps the epoch, which
     * waits for any write of the previous leader in flight and fences every later one.
     */
    public boolean lead() {
        if (!lease.leading()) {
            epoch = null;
            lease.join();
            return false;
        }
        if (epoch == null) {
            try {
                long bumped = QuarkusTransaction.requiringNew().call(() -> ((Number) em.createNativeQuery(
                                "update leader_epoch set epoch = epoch + 1, holder = ?1, started_at = now() where id = 1"
                                        + " returning epoch")
                        .setParameter(1, lease.identity()).getSingleResult()).longValue());
                if (!lease.leading()) {
                    return false;
                }
                epoch = bumped;
                LOG.infof("this replica (%s) leads under epoch %d: it starts and follows exports", lease.identity(),
                        bumped);
            } catch (PersistenceException | IllegalStateException e) {
                LOG.warnf("leader epoch not taken, the database does not answer: %s", e.getMessage());
                return false;
            }
        }
        return true;
    }

    /** The epoch this replica leads under now, if it leads. */
    public Optional<Long> epoch() {
        return Optional.ofNullable(epoch);
    }

    /**
     * In the caller's transaction: locks the epoch row (FOR SHARE, so a new leader's bump waits for this write) and
     * refuses, with {@link NotLeaderException}, when the epoch is no longer {@code acting}, or when this replica no
     * longer holds the lease under it.
     */
    void fence(Long acting) {
        if (acting == null) {
            throw new NotLeaderException("this replica does not lead");
        }
        Object[] row = (Object[]) em.createNativeQuery("select epoch, holder from leader_epoch where id = 1 for share")
                .getSingleResult();
        long current = ((Number) row[0]).longValue();
        if (current != acting) {
            if (Long.valueOf(acting).equals(epoch)) {
                // another replica became leader while this one still counted itself leader: it gives way
                LOG.warnf("leader epoch %d was replaced by epoch %d of %s: this replica stops acting", acting, current,
                        row[1]);
                epoch = null;
                lease.stepDown();
            }
            throw new NotLeaderException("leader epoch " + acting + " was replaced by epoch " + current + " of " + row[1]);
        }
        if (!lease.leading() || !Long.valueOf(acting).equals(epoch)) {
            throw new NotLeaderException("this replica no longer leads under epoch " + acting);
        }
    }

    /** Who leads, as this replica last saw the lease. */
    public Optional<String> leader() {
        return lease.leader();
    }

    public String identity() {
        return lease.identity();
    }

    public String lease() {
        return lease.lease();
    }

    public boolean leading() {
        return lease.leading() && epoch != null;
    }
}
