package dev.vmexportguard.messaging;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.PostgresResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PostgreSQL refusing connections for ten seconds during a burst loses nothing: every request is answered after. */
@QuarkusTest
class DatabaseOutageTest extends GuardIntegrationTest {

    @Test
    void everyRequestOfABurstIsAnsweredAfterTheDatabaseRefusedConnectionsForTenSeconds() throws Exception {
        List<String> refused = new ArrayList<>();
        List<String> started = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            cluster.volume(ns, "run-" + i + "-disk");
            cluster.vm(ns, "run-" + i, "Running", "run-" + i + "-disk");
            stoppedVm("stop-" + i, "stop-" + i + "-disk");
        }
        // the superuser works from another database: a database cannot refuse connections while one is its own
        try (Connection admin = DriverManager.getConnection(PostgresResource.superuserJdbcUrl()
                .replace("/" + PostgresResource.DATABASE + "?", "/postgres?"));
             Statement sql = admin.createStatement()) {
            for (int i = 0; i < 6; i++) {
                refused.add(send("run-" + i, null));
                started.add(send("stop-" + i, null));
                if (i == 1) {
                    // from here on the database refuses every connection, and drops those it had
                    sql.execute("alter database " + PostgresResource.DATABASE + " allow_connections false");
                    sql.execute("select pg_terminate_backend(pid) from pg_stat_activity"
                            + " where datname = '" + PostgresResource.DATABASE + "'");
                }
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> given().get("/q/health/ready").then()
                    .statusCode(503).body("checks.find { it.name == 'request-consumer' }.status", equalTo("DOWN")));
            Thread.sleep(10_000);
            sql.execute("alter database " + PostgresResource.DATABASE + " allow_connections true");
        }

        for (String id : refused) {
            assertThat(awaitFinal(id).reason()).isEqualTo("VM_RUNNING");
        }
        for (String id : started) {
            assertThat(awaitEvent(id, "STARTED").type()).isEqualTo("STARTED");
        }
        List<String> all = new ArrayList<>(refused);
        all.addAll(started);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() -> true);
        for (String id : all) {
            assertThat(topics.results(id)).extracting(Event::reason).doesNotContain("INTERNAL_ERROR");
        }
        assertThat(topics.deadLetters()).noneMatch(r -> all.contains(GuardTopics.headers(r).get("dead-letter-request-id")));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().get("/q/health/ready").then().statusCode(200));
        for (String id : all) {
            given().get("/api/exports/{id}", id).then().statusCode(200)
                    .body("history[0].type", equalTo("RECEIVED"));
        }
        // a request sent after the outage is served at once
        stoppedVm("after", "after-disk");
        assertThat(awaitEvent(send("after", null), "STARTED").type()).isEqualTo("STARTED");
    }
}
