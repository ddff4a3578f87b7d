package dev.vmexportguard.audit;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.PostgresResource;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * The guard connects as the runtime role: with its own datasource the audit can be added to and read, never changed,
 * emptied, unguarded or dropped; exports still work end to end.
 */
@QuarkusTest
class AuditAppendOnlyTest extends GuardIntegrationTest {

    @Inject
    AgroalDataSource dataSource;

    @Test
    void theGuardsOwnConnectionCannotChangeTheAudit() throws SQLException {
        String id = exportedAndAudited();
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            assertThat(single(s, "select current_user")).isEqualTo(PostgresResource.RUNTIME);
            assertThat(single(s, "select tableowner from pg_tables where tablename = 'audit_entry'"))
                    .isEqualTo(PostgresResource.OWNER);

            assertThatThrownBy(() -> s.executeUpdate("update audit_entry set message = 'edited' where request_id = '"
                    + id + "'")).hasMessageContaining("permission denied for table audit_entry");
            assertThatThrownBy(() -> s.executeUpdate("delete from audit_entry where request_id = '" + id + "'"))
                    .hasMessageContaining("permission denied for table audit_entry");
            assertThatThrownBy(() -> s.execute("truncate audit_entry"))
                    .hasMessageContaining("permission denied for table audit_entry");
            assertThatThrownBy(() -> s.execute("alter table audit_entry disable trigger all"))
                    .hasMessageContaining("must be owner of table audit_entry");
            assertThatThrownBy(() -> s.execute("drop table audit_entry"))
                    .hasMessageContaining("must be owner of table audit_entry");
            assertThatThrownBy(() -> s.execute("select audit_entry_expire(interval '1 second')"))
                    .hasMessageContaining("permission denied for function audit_entry_expire");

            assertThat(AppendOnlyCheck.whatMayChangeTheAudit(c)).isEmpty();
        }
        AuditApi.export(id, 3).body("history.type", contains("RECEIVED", "STARTED", "COMPLETED"));
    }

    /** A request over HTTP (sealed with the guard's key) for a stopped VM, exported to the end; returns its id. */
    String exportedAndAudited() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();
        given().contentType("application/json").body(request(id, ns, "vm1", null))
                .post("/api/exports").then().statusCode(202);

        Event started = awaitEvent(id, "STARTED");
        simulator.complete(ns, started.body().path("image").path("name").asText(), 1);
        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");

        AuditApi.export(id, 3).body("status", equalTo("COMPLETED"))
                .body("history.type", contains("RECEIVED", "STARTED", "COMPLETED"));
        return id;
    }

    private static String single(Statement s, String query) throws SQLException {
        try (ResultSet r = s.executeQuery(query)) {
            r.next();
            return r.getString(1);
        }
    }
}
