package dev.vmexportguard.export;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.jboss.logging.Logger;

/**
 * One replica at a time starts and follows exports: the one holding a PostgreSQL session advisory lock. The lock
 * lives as long as its connection, so a replica that dies (even by SIGKILL) hands it over.
 */
@ApplicationScoped
public class LeaderLock {
    private static final Logger LOG = Logger.getLogger(LeaderLock.class);
    private static final long LOCK_KEY = 0x76656731L;

    private final AgroalDataSource dataSource;
    private Connection connection;

    public LeaderLock(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** True while this replica leads; tries to become leader when it does not. Called from one thread. */
    public synchronized boolean lead() {
        try {
            if (connection != null && connection.isValid(2)) {
                return true;
            }
            close();
            Connection candidate = dataSource.getConnection();
            try (PreparedStatement s = candidate.prepareStatement("select pg_try_advisory_lock(?)")) {
                s.setLong(1, LOCK_KEY);
                try (ResultSet r = s.executeQuery()) {
                    if (r.next() && r.getBoolean(1)) {
                        connection = candidate;
                        LOG.info("this replica now starts and follows exports");
                        return true;
                    }
                }
            }
            candidate.close();
            return false;
        } catch (SQLException e) {
            LOG.warnf("leader lock unavailable: %s", e.getMessage());
            close();
            return false;
        }
    }

    public synchronized void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                LOG.debugf("closing the leader connection: %s", e.getMessage());
            }
            connection = null;
        }
    }
}
