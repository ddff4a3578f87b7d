package dev.vmexportguard.api;

import static dev.vmexportguard.support.Requests.newRequestId;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.vmexportguard.support.Contracts;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;

/**
 * The contract documents the guard serves (JSON Schemas, AsyncAPI, OpenAPI), and the records it publishes against
 * the headers the AsyncAPI document declares.
 */
@QuarkusTest
class ContractDocumentsTest extends GuardIntegrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLMapper YAML = new YAMLMapper();

    @Test
    void theSchemasAndTheAsyncApiDocumentAreServedAsBuilt() throws Exception {
        for (String name : List.of(Contracts.REQUEST_SCHEMA, Contracts.RESULT_SCHEMA)) {
            String served = given().get("/schemas/" + name).then().statusCode(200).extract().asString();
            assertThat(JSON.readTree(served).path("$id").asText())
                    .isEqualTo("https://vm-export-guard.dev/schemas/" + name);
            assertThat(JSON.readTree(served)).isEqualTo(JSON.readTree(resource(Contracts.RESOURCES + name)));
        }
        String asyncApi = given().get("/schemas/asyncapi.yaml").then().statusCode(200).extract().asString();
        JsonNode doc = YAML.readTree(asyncApi);
        assertThat(doc.path("asyncapi").asText()).isEqualTo("3.0.0");
        assertThat(doc.path("channels").findValuesAsText("address"))
                .containsExactlyInAnyOrder(GuardTopics.REQUESTS, GuardTopics.RESULTS, GuardTopics.DEAD_LETTER);
        assertThat(doc.at("/components/messages/resultEvent/payload/$ref").asText())
                .isEqualTo("https://vm-export-guard.dev/schemas/" + Contracts.RESULT_SCHEMA);
        assertThat(doc.at("/components/messages/exportRequest/payload/$ref").asText())
                .isEqualTo("https://vm-export-guard.dev/schemas/" + Contracts.REQUEST_SCHEMA);
    }

    @Test
    void theOpenApiDocumentDescribesTheRequestBodyAndEveryAnswer() {
        JsonPath openApi = given().get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath();
        String post = "paths.'/api/exports'.post.";
        assertThat(openApi.getString(post + "requestBody.content.'application/json'.schema.'$ref'"))
                .isEqualTo("#/components/schemas/ExportRequest");
        assertThat(openApi.getString("components.schemas.ExportRequest.'$ref'"))
                .isEqualTo("/schemas/" + Contracts.REQUEST_SCHEMA);
        Map<String, Object> answers = openApi.getMap(post + "responses");
        assertThat(answers).containsKeys("202", "400", "401", "403", "413");
        assertThat(openApi.getString(post + "responses.'202'.content.'application/json'.schema.'$ref'"))
                .isEqualTo("#/components/schemas/ExportAccepted");
        assertThat(openApi.getString(post + "responses.'400'.content.'application/problem+json'.schema.'$ref'"))
                .isEqualTo("#/components/schemas/InvalidRequestProblem");
        for (String status : List.of("401", "403")) {
            assertThat(openApi.getString(post + "responses.'" + status + "'.content.'application/problem+json'.schema.'$ref'"))
                    .as(status).isEqualTo("#/components/schemas/Problem");
        }
        assertThat(openApi.getMap("paths.'/api/exports/{requestId}'.get.responses")).containsKeys("200", "401", "404");
        assertThat(openApi.getString("paths.'/api/exports/{requestId}'.get.responses.'404'.content"
                + ".'application/problem+json'.schema.'$ref'")).isEqualTo("#/components/schemas/Problem");
        assertThat(openApi.getMap("components.schemas.InvalidRequestProblem")).isNotEmpty();
    }

    @Test
    void theDeadLetterCopyAndTheResultCarryTheHeadersTheAsyncApiDocumentDeclares() throws Exception {
        JsonNode messages = YAML.readTree(resource(Contracts.RESOURCES + "asyncapi.yaml")).at("/components/messages");
        String requestId = newRequestId();
        RecordMetadata sent = topics.send("k-" + requestId, ("{\"requestId\":\"" + requestId + "\"}")
                .getBytes(StandardCharsets.UTF_8), Map.of());
        ConsumerRecord<String, byte[]> copy = topics.awaitDeadLetter(sent.offset());
        Map<String, String> copyHeaders = GuardTopics.headers(copy);
        assertThat(Contracts.problems(headersSchema(messages.path("deadLetter")), JSON.writeValueAsString(copyHeaders)))
                .as("%s", copyHeaders).isEmpty();
        // the check can fail: a copy that kept the sender's token is refused
        copyHeaders.put("authorization", "Bearer x");
        assertThat(Contracts.problems(headersSchema(messages.path("deadLetter")), JSON.writeValueAsString(copyHeaders)))
                .isNotEmpty();

        GuardTopics.Event answer = topics.awaitResult(requestId);
        assertThat(answer.reason()).isEqualTo("INVALID_REQUEST");
        assertThat(Contracts.problems(headersSchema(messages.path("resultEvent")), JSON.writeValueAsString(answer.headers())))
                .as("%s", answer.headers()).isEmpty();
        assertThat(answer.headers().get("ce_dataschema"))
                .isEqualTo("https://vm-export-guard.dev/schemas/" + Contracts.RESULT_SCHEMA);
    }

    /** A message's {@code headers} schema of the AsyncAPI document, as a draft 2020-12 schema. */
    private static String headersSchema(JsonNode message) throws Exception {
        ObjectNode schema = message.path("headers").deepCopy();
        assertThat(schema.isEmpty()).isFalse();
        schema.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        return JSON.writeValueAsString(schema);
    }

    private static String resource(String path) throws Exception {
        try (InputStream in = ContractDocumentsTest.class.getClassLoader().getResourceAsStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
