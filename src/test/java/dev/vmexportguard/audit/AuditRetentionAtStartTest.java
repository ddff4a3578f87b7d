package dev.vmexportguard.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.OneExportSlot;
import dev.vmexportguard.support.PostgresResource;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/** With {@code guard.audit.retention} set, the guard's own migration (as the owner) applies it. */
@QuarkusTest
@TestProfile(OneExportSlot.class)
class AuditRetentionAtStartTest extends GuardIntegrationTest {


    @Inject
    AgroalDataSource dataSource;

    @Inject
    Flyway flyway;

    @Test
    void theGuardsMigrationRemovesRowsOlderThanTheRetention() throws SQLException {
        String old = "old-" + ns;
        String recent = "recent-" + ns;
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("insert into audit_entry (request_id, entry_type, occurred_at) values ('" + old
                    + "', 'RECEIVED', now() - interval '31 days'), ('" + recent + "', 'RECEIVED', now() - interval '29 days')");
        }

        // what the guard runs at start: Flyway as the owner, with the retention after the migration
        assertThat(flyway.getConfiguration().getUser()).isEqualTo(PostgresResource.OWNER);
        flyway.migrate();

        assertThat(requestIds()).contains(recent).doesNotContain(old);
    }

    List<String> requestIds() throws SQLException {
        List<String> ids = new ArrayList<>();
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select request_id from audit_entry where request_id like '%-" + ns + "'")) {
            while (r.next()) {
                ids.add(r.getString(1));
            }
        }
        return ids;
    }
}
