package dev.vmexportguard.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.nullValue;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The audit as an auditor reads it over REST: filters, paging, and rows that cannot be changed. */
@QuarkusTest
class AuditApiTest extends GuardIntegrationTest {

    @Inject
    AgroalDataSource dataSource;

    String requester;
    Instant before;

    @BeforeEach
    void stoppedVm1AndRunningVm2() {
        requester = "auditor-" + ns;
        before = Instant.now();
        stoppedVm("vm1", "vm1-disk-0-aaaaa");
        vmWithDisk("vm2", "Running", "vm2-disk-0-bbbbb");
    }

    /** Sends a request by the requester for the VM, once it is answered and audited; returns its id. */
    String sendAudited(String vm) {
        String id = sendAs(requester, vm, "");
        topics.awaitResult(id);
        AuditApi.export(id, 2);
        return id;
    }

    @Test
    void filtersSelectRows() {
        String started = sendAudited("vm1");
        String rejected = sendAudited("vm2");

        given().queryParam("requestId", started).get("/api/audit").then().statusCode(200)
                .body("items", hasSize(2))
                .body("items.requestId", everyItem(equalTo(started)))
                .body("items.type", hasItems("RECEIVED", "STARTED"))
                .body("items[0].type", equalTo("STARTED"));
        given().queryParam("namespace", ns).get("/api/audit").then()
                .body("items", hasSize(4));
        given().queryParam("namespace", ns).queryParam("vmName", "vm2").get("/api/audit").then()
                .body("items", hasSize(2))
                .body("items.requestId", everyItem(equalTo(rejected)));
        given().queryParam("requestedBy", requester).queryParam("type", "REJECTED").get("/api/audit").then()
                .body("items", hasSize(1))
                .body("items[0].reason", equalTo("VM_RUNNING"))
                .body("items[0].observed.vms[0].printableStatus", equalTo("Running"))
                .body("items[0].source.topic", equalTo(GuardTopics.REQUESTS));
        given().queryParam("requestedBy", requester).queryParam("since", before.toString()).get("/api/audit").then()
                .body("items", hasSize(4));
        given().queryParam("requestedBy", requester).queryParam("since", Instant.now().plusSeconds(3600).toString())
                .get("/api/audit").then().body("items", hasSize(0));
        given().queryParam("requestedBy", requester).queryParam("until", before.toString()).get("/api/audit").then()
                .body("items", hasSize(0));
    }

    @Test
    void pagesAreNewestFirstAndDisjoint() {
        for (int i = 0; i < 3; i++) {
            sendAudited(i % 2 == 0 ? "vm1" : "vm2");
        }
        List<Integer> all = given().queryParam("requestedBy", requester).get("/api/audit")
                .then().extract().jsonPath().getList("items.id", Integer.class);
        assertThat(all).hasSize(6).isSortedAccordingTo((a, b) -> b - a);

        List<Integer> paged = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            var request = given().queryParam("requestedBy", requester).queryParam("limit", 4);
            if (cursor != null) {
                request.queryParam("cursor", cursor);
            }
            JsonPath page = request.get("/api/audit").then().statusCode(200).extract().jsonPath();
            paged.addAll(page.getList("items.id", Integer.class));
            cursor = page.getString("nextCursor");
            pages++;
        } while (cursor != null);

        assertThat(pages).isEqualTo(2);
        assertThat(paged).isEqualTo(all);
    }

    @Test
    void badQueriesAreRefusedWithProblemDetails() {
        given().queryParam("limit", 0).get("/api/audit").then().statusCode(400)
                .contentType("application/problem+json").body("parameter", equalTo("limit"));
        given().queryParam("limit", 501).get("/api/audit").then().statusCode(400);
        given().queryParam("since", "yesterday").get("/api/audit").then().statusCode(400)
                .body("parameter", equalTo("since"));
        given().queryParam("cursor", "not-a-cursor").get("/api/audit").then().statusCode(400)
                .body("parameter", equalTo("cursor"));
    }

    @Test
    void unknownRequestIsNotFound() {
        given().get("/api/exports/{id}", "never-sent").then().statusCode(404);
    }

    @Test
    void lastPageHasNoCursor() {
        String id = sendAudited("vm1");
        given().queryParam("requestId", id).queryParam("limit", 5).get("/api/audit").then()
                .body("items", hasSize(2)).body("nextCursor", nullValue());
    }

    @Test
    void auditRowsCannotBeChangedOrDeleted() throws SQLException {
        String id = sendAudited("vm1");
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeUpdate("update audit_entry set message = 'edited' where request_id = '" + id + "'"))
                    .hasMessageContaining("permission denied for table audit_entry");
            assertThatThrownBy(() -> s.executeUpdate("delete from audit_entry where request_id = '" + id + "'"))
                    .hasMessageContaining("permission denied for table audit_entry");
        }
        given().queryParam("requestId", id).get("/api/audit").then().body("items", hasSize(2));
    }

    @Test
    void readinessCoversKafkaDatabaseAndKubernetes() {
        given().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItems("kubernetes-api", "Database connections health check",
                        "SmallRye Reactive Messaging - readiness check"));
    }
}
