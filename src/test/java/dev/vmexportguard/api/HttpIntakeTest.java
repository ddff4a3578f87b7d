package dev.vmexportguard.api;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.hasSize;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

/** Requests over HTTP: the same rules, the same topic, the same decision path and audit. */
@QuarkusTest
class HttpIntakeTest extends GuardIntegrationTest {

    @Test
    void requestPostedOverHttpGoesThroughTheRequestTopic() {
        stoppedVm("vm1", "vm1-disk-0-abcde");
        String id = newRequestId();

        given().contentType("application/json").body(request(id, ns, "vm1", null))
                .post("/api/exports").then().statusCode(202)
                .header("Location", endsWith("/api/exports/" + id))
                .body("requestId", equalTo(id)).body("status", equalTo("ACCEPTED"));

        assertThat(GuardTopics.get().awaitResult(id).type()).isEqualTo("STARTED");
        AuditApi.export(id, 2).body("status", equalTo("STARTED"))
                .body("history[0].source.topic", equalTo(GuardTopics.REQUESTS));
    }

    @Test
    void invalidRequestIsAnsweredWithEveryViolation() {
        given().contentType("application/json")
                .body("{\"requestId\":\"x y\",\"namespace\":\"Bad_NS\",\"onRunning\":\"MAYBE\"}")
                .post("/api/exports").then().statusCode(400)
                .contentType("application/problem+json")
                .body("title", equalTo("Invalid export request"))
                .body("violations.field", hasItems("requestId", "namespace", "vmName", "requestedBy", "onRunning"))
                .body("detail", containsString("namespace: 'Bad_NS'"));
    }

    @Test
    void bodyThatIsNotJsonIsAnswered400() {
        given().contentType("application/json").body("export vm1 please")
                .post("/api/exports").then().statusCode(400)
                .body("violations", hasSize(1))
                .body("violations[0].problem", containsString("not valid JSON"));
    }

    @Test
    void openApiDocumentAndSwaggerUiAreServed() {
        given().get("/q/openapi?format=json").then().statusCode(200)
                .body("paths.'/api/exports'.post.summary", equalTo("Ask for an export"))
                .body("paths.'/api/audit'.get", org.hamcrest.Matchers.notNullValue());
        given().get("/q/swagger-ui/").then().statusCode(200).body(containsString("swagger"));
    }
}
