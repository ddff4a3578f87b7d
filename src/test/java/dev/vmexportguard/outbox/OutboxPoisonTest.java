package dev.vmexportguard.outbox;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.PostgresResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** One outbox row that cannot be published or audited is set aside; the rows behind it go out. */
@QuarkusTest
class OutboxPoisonTest extends GuardIntegrationTest {

    @Test
    void rowsThatKeepFailingAreSetAsideAndTheOthersGoOut() throws Exception {
        try (Connection db = DriverManager.getConnection(PostgresResource.superuserJdbcUrl());
             Statement sql = db.createStatement()) {
            // cannot be written as a record (no time), and cannot be audited (no requestId)
            sql.execute("insert into outbox_event (event_id, request_id, event) values"
                    + " ('poison-unpublishable', 'poison-" + ns + "', '{\"eventId\":\"poison-unpublishable\","
                    + "\"requestId\":\"poison-" + ns + "\",\"type\":\"REJECTED\",\"occurredAt\":null}'),"
                    + " ('poison-unauditable', 'poison-" + ns + "', '{\"eventId\":\"poison-unauditable\","
                    + "\"requestId\":null,\"type\":\"REJECTED\",\"occurredAt\":\"2026-11-30T10:00:00Z\"}')");

            stoppedVm("vm1", DISK);
            String id = send("vm1", null);

            // the request behind them is answered and audited as if they were not there
            assertThat(awaitEvent(id, "STARTED", Duration.ofSeconds(20)).type()).isEqualTo("STARTED");
            given().get("/api/exports/{id}", id).then().statusCode(200);
            await().atMost(Duration.ofSeconds(30)).until(() -> parked(sql) == 2);
            try (ResultSet rows = sql.executeQuery("select event_id, attempts, last_error, published is not null"
                    + " from outbox_event where parked_at is not null order by event_id")) {
                rows.next();
                assertThat(rows.getString(1)).isEqualTo("poison-unauditable");
                assertThat(rows.getInt(2)).isEqualTo(OutboxRelay.MAX_ATTEMPTS);
                assertThat(rows.getBoolean(4)).isTrue();
                rows.next();
                assertThat(rows.getString(1)).isEqualTo("poison-unpublishable");
                assertThat(rows.getString(3)).contains("Unpublishable");
                assertThat(rows.getBoolean(4)).isFalse();
            }
        }
        given().get("/q/health/ready").then()
                .body("checks.find { it.name == 'outbox' }.data.parked", equalTo(2));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> given().get("/q/metrics").then().statusCode(200)
                .body(containsString("guard_outbox_parked 2.0")));
        // the unauditable one was published once, not again at every attempt
        assertThat(topics.results("poison-" + ns)).isEmpty();
    }

    private static int parked(Statement sql) throws Exception {
        try (ResultSet r = sql.executeQuery("select count(*) from outbox_event where parked_at is not null")) {
            r.next();
            return r.getInt(1);
        }
    }
}
