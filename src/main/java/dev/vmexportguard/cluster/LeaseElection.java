package dev.vmexportguard.cluster;

import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Messages;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaderElectionRecord;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.Lock;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.jboss.logging.Logger;

/**
 * Leader election on a Kubernetes Lease ({@code coordination.k8s.io/v1}), through fabric8's LeaderElector: one
 * replica at a time holds it. This replica counts as leading only while it holds the lease AND its last successful
 * renewal started less than the renew deadline ago, measured on its own monotonic clock: a leader that cannot renew
 * (API server unreachable, a half-open connection, a long pause) stops leading after the renew deadline, whatever the
 * elector's threads are doing, while another replica may take the lease only a lease duration after that renewal.
 * A lost election is joined again by {@link #join()}; {@link #close()} gives the lease up, so that a successor does
 * not wait for it to expire.
 */
@ApplicationScoped
public class LeaseElection {
    private static final Logger LOG = Logger.getLogger(LeaseElection.class);
    private static final Path SERVICE_ACCOUNT_NAMESPACE = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

    /** What the lease's holder learns about its own leadership; called on the elector's threads. */
    public interface Listener {
        void started();

        void stopped();
    }

    private final KubernetesClient client;
    private final GuardConfig.Leadership config;
    private final String identity;
    private final String namespace;
    private volatile Listener listener = new Listener() {
        @Override
        public void started() {
        }

        @Override
        public void stopped() {
        }
    };
    private volatile boolean holding;
    /** System.nanoTime() until which the last renewal lets this replica act. */
    private volatile long validUntil;
    private volatile String leader;
    private CompletableFuture<?> election;
    private boolean closed;

    public LeaseElection(KubernetesClient client, GuardConfig config) {
        this.client = client;
        this.config = config.leadership();
        if (!this.config.renewDeadline().minus(this.config.leaseDuration()).isNegative()) {
            throw new IllegalArgumentException("guard.leadership.renew-deadline (" + Messages.human(this.config.renewDeadline())
                    + ") must be shorter than guard.leadership.lease-duration ("
                    + Messages.human(this.config.leaseDuration()) + ")");
        }
        this.identity = this.config.identity().orElseGet(LeaseElection::defaultIdentity);
        this.namespace = this.config.leaseNamespace().orElseGet(() -> podNamespace(client));
    }

    /** Joins the election, telling {@code listener} when this replica starts and stops leading. */
    public synchronized void start(Listener listener) {
        this.listener = listener;
        closed = false;
        join();
    }

    /** Joins the election again when this replica's elector ended (it lost the lease, or stepped down). */
    public synchronized void join() {
        if (closed || (election != null && !election.isDone())) {
            return;
        }
        LOG.debugf("joining the election on lease %s/%s as %s", namespace, config.leaseName(), identity);
        election = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
                .withName("vm-export-guard")
                .withLock(new ObservedLock(new LeaseLock(namespace, config.leaseName(), identity)))
                .withLeaseDuration(config.leaseDuration())
                .withRenewDeadline(config.renewDeadline())
                .withRetryPeriod(config.retryPeriod())
                .withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(this::startedLeading, this::stoppedLeading, this::newLeader))
                .build()).build().start();
        election.whenComplete((ignored, failure) -> {
            if (failure != null && !(failure instanceof java.util.concurrent.CancellationException)) {
                LOG.warnf("leader election on lease %s/%s ended: %s", namespace, config.leaseName(), failure.toString());
            }
            stoppedLeading();
        });
    }

    /**
     * Gives the lease up if this replica holds it, and joins the election again later ({@link #join()}): for a
     * leader that found another replica acting as leader.
     */
    public void stepDown() {
        CompletableFuture<?> current;
        synchronized (this) {
            current = election;
        }
        if (current != null) {
            LOG.warnf("stepping down as leader on lease %s/%s", namespace, config.leaseName());
            current.cancel(true);
        }
        stoppedLeading();
    }

    /** Gives the lease up (if held) and leaves the election, at shutdown. */
    public void close() {
        CompletableFuture<?> current;
        synchronized (this) {
            closed = true;
            current = election;
        }
        if (current != null) {
            current.cancel(true);
        }
        stoppedLeading();
    }

    /** True while this replica holds the lease and its last renewal is within the renew deadline. */
    public boolean leading() {
        return holding && System.nanoTime() - validUntil < 0;
    }

    /** The holder of the lease as this replica last saw it, if any. */
    public Optional<String> leader() {
        return Optional.ofNullable(leader).filter(l -> !l.isBlank());
    }

    public String identity() {
        return identity;
    }

    /** namespace/name of the lease. */
    public String lease() {
        return namespace + "/" + config.leaseName();
    }

    private void startedLeading() {
        holding = true;
        LOG.infof("this replica (%s) now holds lease %s/%s", identity, namespace, config.leaseName());
        listener.started();
    }

    private void stoppedLeading() {
        validUntil = System.nanoTime();
        if (holding) {
            holding = false;
            LOG.infof("this replica (%s) no longer holds lease %s/%s", identity, namespace, config.leaseName());
            listener.stopped();
        }
    }

    private void newLeader(String holder) {
        leader = holder;
    }

    /** The lease, with the time of each successful renewal by this replica noted before it was asked for. */
    private final class ObservedLock implements Lock {
        private final Lock lease;

        ObservedLock(Lock lease) {
            this.lease = lease;
        }

        @Override
        public LeaderElectionRecord get(KubernetesClient client) {
            LeaderElectionRecord current = lease.get(client);
            if (current != null) {
                leader = current.getHolderIdentity();
            }
            return current;
        }

        @Override
        public void create(KubernetesClient client, LeaderElectionRecord record) {
            long asked = System.nanoTime();
            lease.create(client, record);
            renewed(record, asked);
        }

        @Override
        public void update(KubernetesClient client, LeaderElectionRecord record) {
            long asked = System.nanoTime();
            lease.update(client, record);
            renewed(record, asked);
        }

        private void renewed(LeaderElectionRecord record, long asked) {
            if (identity.equals(record.getHolderIdentity())) {
                validUntil = asked + config.renewDeadline().toNanos();
            } else {
                validUntil = asked;
            }
        }

        @Override
        public String identity() {
            return lease.identity();
        }

        @Override
        public String describe() {
            return lease.describe();
        }
    }

    private static String defaultIdentity() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                host = "vm-export-guard";
            }
        }
        // unique per process: a restarted pod of the same name does not take its predecessor's lease for its own
        return host + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static String podNamespace(KubernetesClient client) {
        String fromEnvironment = System.getenv("KUBERNETES_NAMESPACE");
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return fromEnvironment.strip();
        }
        try {
            if (Files.isReadable(SERVICE_ACCOUNT_NAMESPACE)) {
                return Files.readString(SERVICE_ACCOUNT_NAMESPACE).strip();
            }
        } catch (IOException e) {
            LOG.debugf("service account namespace unreadable: %s", e.getMessage());
        }
        String configured = client.getNamespace();
        return configured == null || configured.isBlank() ? "default" : configured;
    }
}
