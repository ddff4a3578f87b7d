package dev.vmexportguard.outbox;

import io.agroal.api.AgroalDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.jboss.logging.Logger;

/**
 * A PostgreSQL session advisory lock held on a connection of its own, outside any transaction: one replica at a
 * time holds it, and a replica that dies (even by SIGKILL) hands it over when its connection closes.
 */
public final class AdvisoryLock {
    private static final Logger LOG = Logger.getLogger(AdvisoryLock.class);

    private final AgroalDataSource dataSource;
    private final long key;
    private final String role;
    private Connection connection;

    /** {@code role} says, in the log, what holding the lock lets this replica do. */
    public AdvisoryLock(AgroalDataSource dataSource, long key, String role) {
        this.dataSource = dataSource;
        this.key = key;
        this.role = role;
    }

    /** True while this replica holds the lock; tries to take it when it does not. */
    public synchronized boolean hold() {
        try {
            if (connection != null && connection.isValid(2)) {
                return true;
            }
            release();
            Connection candidate = dataSource.getConnection();
            try (PreparedStatement s = candidate.prepareStatement("select pg_try_advisory_lock(?)")) {
                s.setLong(1, key);
                try (ResultSet r = s.executeQuery()) {
                    if (r.next() && r.getBoolean(1)) {
                        connection = candidate;
                        LOG.infof("this replica now %s", role);
                        return true;
                    }
                }
            }
            candidate.close();
            return false;
        } catch (SQLException e) {
            LOG.warnf("lock to %s unavailable: %s", role, e.getMessage());
            release();
            return false;
        }
    }

    public synchronized void release() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                LOG.debugf("closing the connection of the lock to %s: %s", role, e.getMessage());
            }
            connection = null;
        }
    }
}
