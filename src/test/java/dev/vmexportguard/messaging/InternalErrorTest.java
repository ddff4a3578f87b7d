package dev.vmexportguard.messaging;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.PostgresResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;

/**
 * A failure the guard does not expect while it decides a request (here PostgreSQL refusing the accepted job with an
 * error that is no outage): the request is answered INTERNAL_ERROR, its record is copied to the dead-letter topic,
 * and the consumer goes on with the next record.
 */
@QuarkusTest
class InternalErrorTest extends GuardIntegrationTest {

    @Test
    void anUnexpectedFailureIsAnsweredInternalErrorDeadLetteredAndTheNextRecordIsServed() throws Exception {
        stoppedVm("vm1", DISK);
        stoppedVm("vm2", "vm2-disk-0-abcde");
        String failing = "broken-" + newRequestId();
        String next = newRequestId();
        String json = request(failing, ns, "vm1", null);
        try (Connection db = DriverManager.getConnection(PostgresResource.superuserJdbcUrl());
             Statement sql = db.createStatement()) {
            // the database refuses this one job with an error of its own (SQLSTATE P0001): not an outage
            sql.execute("create or replace function refuse_broken_job() returns trigger language plpgsql as $$"
                    + " begin if new.request_id like 'broken-%' then raise exception 'job refused by a test trigger';"
                    + " end if; return new; end $$");
            sql.execute("create trigger refuse_broken_job before insert on export_job"
                    + " for each row execute function refuse_broken_job()");
            try {
                RecordMetadata sent = topics.send(failing, json.getBytes(StandardCharsets.UTF_8),
                        Map.of("x-trace", "trace-7"));
                // sent right behind it, on the same partition: served once the first is answered
                topics.send(next, request(next, ns, "vm2", null));

                Event internal = topics.awaitResults(failing, 1).get(0);
                assertThat(internal.type()).isEqualTo("REJECTED");
                assertThat(internal.reason()).isEqualTo("INTERNAL_ERROR");
                assertThat(internal.message()).contains("job refused by a test trigger");
                assertThat(internal.headers()).containsEntry("ce_type", "dev.vmexportguard.export.rejected");

                ConsumerRecord<String, byte[]> copy = topics.awaitDeadLetter(sent.offset());
                Map<String, String> headers = GuardTopics.headers(copy);
                assertThat(copy.key()).isEqualTo(failing);
                assertThat(new String(copy.value(), StandardCharsets.UTF_8)).isEqualTo(json);
                assertThat(headers).containsEntry("x-trace", "trace-7")
                        .containsEntry("dead-letter-cause", "INTERNAL_ERROR")
                        .containsEntry("dead-letter-request-id", failing)
                        .containsEntry("dead-letter-topic", GuardTopics.REQUESTS)
                        .containsEntry("dead-letter-partition", Integer.toString(sent.partition()))
                        .containsEntry("dead-letter-offset", Long.toString(sent.offset()))
                        .doesNotContainKey("authorization");
                assertThat(headers.get("dead-letter-reason")).contains("job refused by a test trigger");

                assertThat(awaitEvent(next, "STARTED").type()).isEqualTo("STARTED");
                assertThat(cluster.guardImages(ns)).hasSize(1);
                AuditApi.export(failing, 2).body("status", equalTo("REJECTED"))
                        .body("reason", equalTo("INTERNAL_ERROR"))
                        .body("history.type", contains("RECEIVED", "REJECTED"));
                List<ConsumerRecord<String, byte[]>> copies = topics.deadLetters().stream()
                        .filter(r -> failing.equals(GuardTopics.headers(r).get("dead-letter-request-id"))).toList();
                assertThat(copies).hasSize(1);
                assertThat(lockOf("vm1")).isNull();
            } finally {
                sql.execute("drop trigger refuse_broken_job on export_job");
                sql.execute("drop function refuse_broken_job()");
            }
        }
    }
}
