package dev.vmexportguard.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vmexportguard.support.PostgresResource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Retention on a real PostgreSQL migrated as the guard's Flyway does it: rows older than the retention are removed
 * by the owner's retention step after a migration, newer ones are kept, and the runtime role can run none of it.
 */
class AuditRetentionTest {
    static PostgresResource postgres;
    static DataSource owner;
    static DataSource runtime;

    @BeforeAll
    static void migrate() {
        postgres = new PostgresResource();
        postgres.start();
        owner = postgres.owner();
        runtime = postgres.runtime();
        PostgresResource.flyway(owner).load().migrate();
    }

    @AfterAll
    static void stop() {
        postgres.stop();
    }

    @Test
    void rowsOlderThanTheRetentionAreRemovedByTheOwnersStepNewerOnesKept() throws SQLException {
        audited("ret-old", "40 days");
        audited("ret-month", "29 days");
        audited("ret-new", "1 minute");

        PostgresResource.flyway(owner).callbacks(new AuditRetention(Duration.ofDays(30))).load().migrate();

        assertThat(requestIds()).doesNotContain("ret-old").contains("ret-month", "ret-new");
    }

    @Test
    void theRuntimeRoleCanNeitherRunTheRetentionNorDelete() throws SQLException {
        audited("deny-old", "400 days");
        try (Connection c = runtime.getConnection(); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("select audit_entry_expire(interval '1 day')"))
                    .hasMessageContaining("permission denied for function audit_entry_expire");
            assertThatThrownBy(() -> s.execute("delete from audit_entry where request_id = 'deny-old'"))
                    .hasMessageContaining("permission denied for table audit_entry");
            assertThat(AppendOnlyCheck.whatMayChangeTheAudit(c)).isEmpty();
        }
        assertThatThrownBy(() -> PostgresResource.flyway(runtime).callbacks(new AuditRetention(Duration.ofDays(1)))
                .load().migrate()).isInstanceOf(FlywayException.class)
                .hasStackTraceContaining("permission denied for function audit_entry_expire");
        assertThat(requestIds()).contains("deny-old");
    }

    @Test
    void theOwnerDeletesOnlyThroughTheRetentionAndNeverUpdatesOrTruncates() throws SQLException {
        audited("own-old", "400 days");
        try (Connection c = owner.getConnection(); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("delete from audit_entry where request_id = 'own-old'"))
                    .hasMessageContaining("append-only: DELETE");
            assertThatThrownBy(() -> s.execute("update audit_entry set message = 'x' where request_id = 'own-old'"))
                    .hasMessageContaining("append-only: UPDATE");
            assertThatThrownBy(() -> s.execute("truncate audit_entry"))
                    .hasMessageContaining("append-only: TRUNCATE");
            assertThatThrownBy(() -> s.execute("select audit_entry_expire(interval '0')"))
                    .hasMessageContaining("must be a positive interval");
            assertThat(AppendOnlyCheck.whatMayChangeTheAudit(c)).isNotEmpty();
            assertThat(requestIds()).contains("own-old");

            s.execute("select audit_entry_expire(interval '399 days')");
        }
        assertThat(requestIds()).doesNotContain("own-old");
        assertThatThrownBy(() -> new AuditRetention(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRoleGrantedOnlyTheRetentionFunctionRunsItAndNothingElse() throws SQLException {
        audited("job-old", "800 days");
        PostgresResource.execute(postgres.superuser(), "create role retention_job login");
        PostgresResource.execute(owner,
                "grant execute on function audit_entry_expire(interval) to retention_job");
        try (Connection c = postgres.database("retention_job", PostgresResource.DATABASE).getConnection();
             Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("delete from audit_entry where request_id = 'job-old'"))
                    .hasMessageContaining("permission denied for table audit_entry");
            s.execute("select audit_entry_expire(interval '799 days')");
        }
        assertThat(requestIds()).doesNotContain("job-old");
    }

    @Test
    void theRuntimeRoleCanValidateTheSchemaItDoesNotMigrate() {
        assertThat(PostgresResource.flyway(runtime).load().validateWithResult().validationSuccessful).isTrue();
    }

    @Test
    void migratingWithoutTheRuntimeRoleIsRefused() {
        PostgresResource.execute(postgres.superuser(), "create database no_runtime owner " + PostgresResource.OWNER);
        DataSource other = postgres.database(PostgresResource.OWNER, "no_runtime");

        assertThatThrownBy(() -> PostgresResource.flyway(other)
                .placeholders(Map.of("guardRuntimeRole", "nobody")).load().migrate())
                .hasMessageContaining("runtime role \"nobody\" does not exist");
        assertThatThrownBy(() -> PostgresResource.flyway(other)
                .placeholders(Map.of("guardRuntimeRole", PostgresResource.OWNER)).load().migrate())
                .hasMessageContaining("is, or is a member of, the role that migrates");
    }

    /** An audit row for the request, as the guard (the runtime role) appends it, that occurred {@code ago}. */
    static void audited(String requestId, String ago) throws SQLException {
        try (Connection c = runtime.getConnection(); Statement s = c.createStatement()) {
            s.execute("insert into audit_entry (request_id, entry_type, occurred_at) values ('" + requestId
                    + "', 'RECEIVED', now() - interval '" + ago + "')");
        }
    }

    static List<String> requestIds() throws SQLException {
        List<String> ids = new ArrayList<>();
        try (Connection c = runtime.getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select request_id from audit_entry")) {
            while (r.next()) {
                ids.add(r.getString(1));
            }
        }
        return ids;
    }
}
