package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.support.PostgresResource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The migration to typed job state carries over rows written by the guard before it, on a real PostgreSQL. */
class JobStateMigrationTest {
    static PostgresResource postgres;
    static DataSource db;
    static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

    @BeforeAll
    static void migrateOldRows() throws Exception {
        postgres = new PostgresResource();
        postgres.start();
        db = postgres.owner();
        flyway("3").migrate();
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("""
                    insert into export_job (request_id, namespace, volume_name, vm_name, requested_by, request, state,
                        locked_vms, stopped_vms, backups, accepted_at)
                    values ('old-1', 'team-a', 'vm1-disk', 'vm1', 'alice',
                        '{"requestId":"old-1","namespace":"team-a","vmName":"vm1","volumeName":"vm1-disk",
                          "requestedBy":"alice","imageDisplayName":"vm1-img","onRunning":"STOP","restartAfter":true,
                          "backupFirst":true,"backupType":"BACKUP","requestedByGroups":["ops"]}',
                        'RUNNING', 'vm1,vm2', '{"vm2":"Always","vm1":null,"vm3":"RerunOnFailure"}',
                        'vmexport-abc-vm1,vmexport-abc-vm2', now()),
                        ('old-2', 'team-a', 'vm9-disk', null, 'bob',
                        '{"requestId":"old-2","namespace":"team-a","volumeName":"vm9-disk","requestedBy":"bob"}',
                        'QUEUED', '', '', '', now())
                    """);
            s.execute("insert into outbox_event (event_id, request_id, event) values ('e-1', 'old-1', "
                    + "'{\"eventId\":\"e-1\",\"requestId\":\"old-1\",\"type\":\"STARTED\",\"occurredAt\":\"2026-11-30T10:00:00.123Z\"}')");
        }
        flyway(null).migrate();
    }

    @AfterAll
    static void stop() {
        postgres.stop();
    }

    static Flyway flyway(String target) {
        var config = PostgresResource.flyway(db);
        if (target != null) {
            config.target(target);
        }
        return config.load();
    }

    static String column(String requestId, String column) throws Exception {
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select " + column + "::text, pg_typeof(" + column + ")::text from export_job"
                     + " where request_id = '" + requestId + "'")) {
            r.next();
            assertThat(r.getString(2)).isEqualTo("jsonb");
            return r.getString(1);
        }
    }

    @Test
    void commaSeparatedNamesBecomeLists() throws Exception {
        assertThat(JSON.readValue(column("old-1", "locked_vms"), new TypeReference<List<String>>() {
        })).containsExactly("vm1", "vm2");
        assertThat(JSON.readValue(column("old-1", "backups"), new TypeReference<List<String>>() {
        })).containsExactly("vmexport-abc-vm1", "vmexport-abc-vm2");
        assertThat(column("old-2", "locked_vms")).isEqualTo("[]");
        assertThat(column("old-2", "backups")).isEqualTo("[]");
    }

    @Test
    void stoppedVmsBecomeRecordsInTheOrderTheyWereRecorded() throws Exception {
        assertThat(JSON.readValue(column("old-1", "stopped_vms"), new TypeReference<List<ExportJob.StoppedVm>>() {
        })).containsExactly(new ExportJob.StoppedVm("vm2", "Always"), new ExportJob.StoppedVm("vm1", null),
                new ExportJob.StoppedVm("vm3", "RerunOnFailure"));
        assertThat(column("old-2", "stopped_vms")).isEqualTo("[]");
    }

    @Test
    void theRequestReadsBackAsARequest() throws Exception {
        ExportRequest request = JSON.readValue(column("old-1", "request"), ExportRequest.class);

        assertThat(request.requestId()).isEqualTo("old-1");
        assertThat(request.onRunning()).isEqualTo(ExportRequest.OnRunning.STOP);
        assertThat(request.restartAfter()).isTrue();
        assertThat(request.backupType()).isEqualTo(ExportRequest.BackupType.BACKUP);
        assertThat(request.requestedByGroups()).containsExactly("ops");
        assertThat(request.imageDisplayName()).isEqualTo("vm1-img");
        assertThat(JSON.readValue(column("old-2", "request"), ExportRequest.class).onRunning()).isNull();
    }

    @Test
    void newRowsGetEmptyListsByDefaultAndOutboxEventsAreJson() throws Exception {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("insert into export_job (request_id, namespace, volume_name, requested_by, request, state,"
                    + " accepted_at) values ('new-1', 'team-b', 'd', 'carol', '{}', 'PENDING', now())");
            try (ResultSet r = s.executeQuery("select event->>'type', event->>'occurredAt', pg_typeof(event)::text"
                    + " from outbox_event where event_id = 'e-1'")) {
                r.next();
                assertThat(r.getString(1)).isEqualTo("STARTED");
                assertThat(r.getString(2)).isEqualTo("2026-11-30T10:00:00.123Z");
                assertThat(r.getString(3)).isEqualTo("jsonb");
            }
        }
        assertThat(column("new-1", "locked_vms")).isEqualTo("[]");
        assertThat(column("new-1", "stopped_vms")).isEqualTo("[]");
        assertThat(column("new-1", "backups")).isEqualTo("[]");
    }
}
