package dev.vmexportguard.export;

import dev.vmexportguard.outbox.AdvisoryLock;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

/** One replica at a time starts and follows exports: the one holding a PostgreSQL session advisory lock. */
@ApplicationScoped
public class LeaderLock {
    private static final long LOCK_KEY = 0x76656731L;

    private final AdvisoryLock lock;

    public LeaderLock(AgroalDataSource dataSource) {
        this.lock = new AdvisoryLock(dataSource, LOCK_KEY, "starts and follows exports");
    }

    /** True while this replica leads; tries to become leader when it does not. */
    public boolean lead() {
        return lock.hold();
    }

    public void close() {
        lock.release();
    }
}
