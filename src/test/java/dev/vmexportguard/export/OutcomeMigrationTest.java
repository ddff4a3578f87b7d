package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.PostgresResource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The migration that records an ended export's outcome carries it over for exports that ended before it: from the
 * audit, or from the outbox when the final event is not audited yet. The sweep of orphaned objects relies on it to
 * keep a COMPLETED export's image.
 */
class OutcomeMigrationTest {
    static PostgresResource postgres;
    static DataSource db;

    @BeforeAll
    static void migrateEndedJobs() throws Exception {
        postgres = new PostgresResource();
        postgres.start();
        db = postgres.owner();
        PostgresResource.flyway(db).target("9").load().migrate();
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            for (String[] job : new String[][] {{"audited", "ENDED"}, {"in-outbox", "ENDING"}, {"unknown", "ENDED"},
                    {"running", "RUNNING"}}) {
                s.execute("insert into export_job (request_id, namespace, volume_name, requested_by, request, state,"
                        + " image_name, accepted_at) values ('" + job[0] + "', 'team-a', 'disk-" + job[0] + "', 'alice',"
                        + " '{}', '" + job[1] + "', 'vmexport-" + job[0] + "', now())");
            }
            s.execute("insert into audit_entry (request_id, entry_type, occurred_at) values"
                    + " ('audited', 'RECEIVED', now()), ('audited', 'STARTED', now()), ('audited', 'COMPLETED', now()),"
                    + " ('running', 'STARTED', now())");
            s.execute("insert into outbox_event (event_id, request_id, event) values ('e-1', 'in-outbox',"
                    + " '{\"eventId\":\"e-1\",\"requestId\":\"in-outbox\",\"type\":\"FAILED\"}')");
        }
        PostgresResource.flyway(db).load().migrate();
    }

    @AfterAll
    static void stop() {
        postgres.stop();
    }

    static String outcome(String requestId) throws Exception {
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select outcome, planned_image_name from export_job where request_id = '"
                     + requestId + "'")) {
            r.next();
            assertThat(r.getString(2)).isNull();
            return r.getString(1);
        }
    }

    @Test
    void endedExportsGetTheirFinalEventType() throws Exception {
        assertThat(outcome("audited")).isEqualTo("COMPLETED");
        assertThat(outcome("in-outbox")).isEqualTo("FAILED");
    }

    @Test
    void exportsWithoutAKnownEndKeepNone() throws Exception {
        assertThat(outcome("unknown")).isNull();
        assertThat(outcome("running")).isNull();
    }
}
