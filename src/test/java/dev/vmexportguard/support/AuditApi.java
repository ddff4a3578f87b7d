package dev.vmexportguard.support;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import io.restassured.response.ValidatableResponse;
import io.restassured.specification.RequestSpecification;
import java.time.Duration;

/**
 * The audit REST API as an auditor uses it. An event is audited right after it is published, so a reader of the
 * result topic can be a moment ahead of the audit: reads wait for the rows they expect.
 */
public final class AuditApi {
    private AuditApi() {
    }

    /** {@code GET /api/exports/{requestId}} once its history has at least {@code rows} rows. */
    public static ValidatableResponse export(String requestId, int rows) {
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            var response = asOperator().get("/api/exports/{id}", requestId);
            return response.statusCode() == 200 && response.jsonPath().getList("history").size() >= rows;
        });
        return asOperator().get("/api/exports/{id}", requestId).then().statusCode(200);
    }

    /** A request as the operator, who may read every namespace's audit. */
    public static RequestSpecification asOperator() {
        return given().header("Authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN);
    }
}
