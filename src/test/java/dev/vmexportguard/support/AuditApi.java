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

    /**
     * {@code GET /api/exports/{requestId}} once its history has exactly {@code rows} rows and has kept that many for
     * {@link GuardTopics#SETTLE} (a row audited late, one too many, fails it).
     */
    public static ValidatableResponse export(String requestId, int rows) {
        await("exactly " + rows + " audit rows for " + requestId).during(GuardTopics.SETTLE)
                .atMost(Duration.ofSeconds(30)).until(() -> historySize(requestId) == rows);
        return asOperator().get("/api/exports/{id}", requestId).then().statusCode(200)
                .body("history.size()", org.hamcrest.Matchers.equalTo(rows));
    }

    private static int historySize(String requestId) {
        var response = asOperator().get("/api/exports/{id}", requestId);
        return response.statusCode() == 200 ? response.jsonPath().getList("history").size() : -1;
    }

    /** A request as the operator, who may read every namespace's audit. */
    public static RequestSpecification asOperator() {
        return given().header("Authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN);
    }
}
