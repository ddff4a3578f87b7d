package dev.vmexportguard.audit;

import dev.vmexportguard.config.GuardConfig;
import io.quarkus.flyway.FlywayConfigurationCustomizer;
import jakarta.inject.Singleton;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.jboss.logging.Logger;

/**
 * Audit retention ({@code guard.audit.retention}): after every migration, on the migrating connection, rows that
 * occurred longer ago than the retention are removed by {@code audit_entry_expire} (V7). Only the role that migrates,
 * the owner, may call it; the guard's runtime role may not delete audit rows at all. Where the migrations run (at the
 * guard's start, or in a step of their own), there the retention is applied; operators run the same SQL on a
 * schedule to apply it between starts (README, Audit log).
 */
public final class AuditRetention implements Callback {
    private static final Logger LOG = Logger.getLogger(AuditRetention.class);

    private final Duration retention;

    public AuditRetention(Duration retention) {
        if (retention.isZero() || retention.isNegative()) {
            throw new IllegalArgumentException("guard.audit.retention must be positive, not " + retention);
        }
        this.retention = retention;
    }

    @Override
    public boolean supports(Event event, Context context) {
        return event == Event.AFTER_MIGRATE;
    }

    @Override
    public boolean canHandleInTransaction(Event event, Context context) {
        return true;
    }

    @Override
    public void handle(Event event, Context context) {
        try (PreparedStatement expire = context.getConnection()
                .prepareStatement("select audit_entry_expire(make_interval(secs => ?))")) {
            expire.setDouble(1, retention.toMillis() / 1000.0);
            try (ResultSet removed = expire.executeQuery()) {
                removed.next();
                LOG.infof("audit retention %s: %d rows removed", retention, removed.getLong(1));
            }
        } catch (SQLException e) {
            throw new FlywayException("audit retention " + retention + " could not be applied: " + e.getMessage(), e);
        }
    }

    @Override
    public String getCallbackName() {
        return "audit retention";
    }

    /** Adds the retention to the Flyway of the guard's datasource, when {@code guard.audit.retention} is set. */
    @Singleton
    public static class AtMigration implements FlywayConfigurationCustomizer {
        private final GuardConfig config;

        public AtMigration(GuardConfig config) {
            this.config = config;
        }

        @Override
        public void customize(FluentConfiguration flyway) {
            config.audit().retention().ifPresent(retention -> {
                Callback[] callbacks = Arrays.copyOf(flyway.getCallbacks(), flyway.getCallbacks().length + 1);
                callbacks[callbacks.length - 1] = new AuditRetention(retention);
                flyway.callbacks(callbacks);
            });
        }
    }
}
