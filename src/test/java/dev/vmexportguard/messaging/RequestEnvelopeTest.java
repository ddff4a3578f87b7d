package dev.vmexportguard.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.messaging.RequestEnvelope.Format;
import dev.vmexportguard.messaging.RequestEnvelope.Unwrapped;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestEnvelopeTest {
    static final int MAX = 1024 * 1024;
    static final String REQUEST = "{\"requestId\":\"req-1\",\"namespace\":\"team-a\",\"vmName\":\"vm1\"}";
    static final Map<String, Object> REQUEST_MAP = Map.of("requestId", "req-1", "namespace", "team-a", "vmName", "vm1");

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static Headers headers(String... keyValues) {
        RecordHeaders headers = new RecordHeaders();
        for (int i = 0; i < keyValues.length; i += 2) {
            headers.add(keyValues[i], keyValues[i + 1] == null ? null : bytes(keyValues[i + 1]));
        }
        return headers;
    }

    static Headers binary() {
        return headers("ce_specversion", "1.0", "ce_id", "e-1", "ce_type", "dev.vmexportguard.request",
                "ce_source", "/chat", "content-type", "application/json");
    }

    static Headers structured() {
        return headers("content-type", "application/cloudevents+json; charset=UTF-8");
    }

    static String cloudEvent(String dataMembers) {
        return "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"type\":\"dev.vmexportguard.request\",\"source\":\"/chat\""
                + (dataMembers.isEmpty() ? "" : "," + dataMembers) + "}";
    }

    static Unwrapped unwrap(String value, Headers headers) {
        return RequestEnvelope.unwrap(bytes(value), headers, MAX);
    }

    static void assertRequest(Unwrapped u, Format format) {
        assertThat(u.violations()).isEmpty();
        assertThat(u.readable()).isTrue();
        assertThat(u.format()).isEqualTo(format);
        assertThat(u.json()).isEqualTo(REQUEST_MAP);
    }

    static void assertViolation(Unwrapped u, Format format, String field, String problemPart) {
        assertThat(u.readable()).isFalse();
        assertThat(u.json()).isNull();
        assertThat(u.format()).isEqualTo(format);
        assertThat(u.violations()).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo(field);
            assertThat(v.problem()).contains(problemPart);
        });
    }

    @Test
    void plainJsonObject() {
        assertRequest(unwrap(REQUEST, new RecordHeaders()), Format.JSON);
    }

    @Test
    void plainJsonWithoutHeaders() {
        assertRequest(unwrap(REQUEST, null), Format.JSON);
    }

    @Test
    void plainJsonWithJsonContentType() {
        assertRequest(unwrap(REQUEST, headers("content-type", "application/json")), Format.JSON);
    }

    @Test
    void plainJsonKeepsNestedValuesAndTypes() {
        Unwrapped u = unwrap("{\"a\":[1,true,null,\"s\"],\"b\":{\"c\":1.5}}", null);

        assertThat(u.json()).isEqualTo(Map.of("a", Arrays.asList(1, true, null, "s"), "b", Map.of("c", 1.5)));
    }

    @Test
    void nonObjectJsonIsLeftToTheValidator() {
        Unwrapped u = unwrap("[1,2]", null);

        assertThat(u.readable()).isTrue();
        assertThat(u.json()).isEqualTo(List.of(1, 2));
    }

    @Test
    void binaryCloudEventIsTheValue() {
        assertRequest(unwrap(REQUEST, binary()), Format.CLOUDEVENT_BINARY);
    }

    @Test
    void binaryCloudEventWinsOverAStructuredContentType() {
        Headers h = headers("ce_specversion", "1.0", "content-type", "application/cloudevents+json");

        assertRequest(unwrap(REQUEST, h), Format.CLOUDEVENT_BINARY);
    }

    @Test
    void specversionHeaderWithoutValueIsNotACloudEvent() {
        assertRequest(unwrap(REQUEST, headers("ce_specversion", null)), Format.JSON);
    }

    @Test
    void structuredCloudEventWithDataObject() {
        assertRequest(unwrap(cloudEvent("\"datacontenttype\":\"application/json\",\"data\":" + REQUEST), structured()),
                Format.CLOUDEVENT_STRUCTURED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"application/cloudevents+json", "APPLICATION/CloudEvents+JSON",
            "application/cloudevents+json;charset=utf-8"})
    void structuredContentTypeIsRecognisedInAnyCase(String contentType) {
        assertRequest(unwrap(cloudEvent("\"data\":" + REQUEST), headers("content-type", contentType)),
                Format.CLOUDEVENT_STRUCTURED);
    }

    @Test
    void lastContentTypeHeaderCounts() {
        Headers h = headers("content-type", "application/cloudevents+json", "content-type", "application/json");

        assertRequest(unwrap(REQUEST, h), Format.JSON);
    }

    @Test
    void structuredCloudEventWithDataAsJsonString() {
        String data = "\"data\":\"" + REQUEST.replace("\"", "\\\"") + "\"";

        assertRequest(unwrap(cloudEvent(data), structured()), Format.CLOUDEVENT_STRUCTURED);
    }

    @Test
    void structuredCloudEventWithDataStringThatIsNotJson() {
        assertViolation(unwrap(cloudEvent("\"data\":\"hello\""), structured()), Format.CLOUDEVENT_STRUCTURED,
                "data", "not valid JSON: ");
    }

    @Test
    void structuredCloudEventWithDataStringHavingDuplicateKeys() {
        assertViolation(unwrap(cloudEvent("\"data\":\"{\\\"a\\\":1,\\\"a\\\":2}\""), structured()),
                Format.CLOUDEVENT_STRUCTURED, "data", "Duplicate field 'a'");
    }

    @Test
    void structuredCloudEventWithDataBase64() {
        String encoded = Base64.getEncoder().encodeToString(bytes(REQUEST));

        assertRequest(unwrap(cloudEvent("\"data_base64\":\"" + encoded + "\""), structured()),
                Format.CLOUDEVENT_STRUCTURED);
    }

    @Test
    void structuredCloudEventWithBadBase64() {
        assertViolation(unwrap(cloudEvent("\"data_base64\":\"***\""), structured()), Format.CLOUDEVENT_STRUCTURED,
                "data_base64", "not valid base64");
    }

    @Test
    void structuredCloudEventWithBase64OfNonJson() {
        String encoded = Base64.getEncoder().encodeToString(bytes("plain text"));

        assertViolation(unwrap(cloudEvent("\"data_base64\":\"" + encoded + "\""), structured()),
                Format.CLOUDEVENT_STRUCTURED, "data_base64", "not valid JSON: ");
    }

    @Test
    void dataWinsOverDataBase64() {
        String other = Base64.getEncoder().encodeToString(bytes("{\"x\":1}"));

        assertRequest(unwrap(cloudEvent("\"data\":" + REQUEST + ",\"data_base64\":\"" + other + "\""), structured()),
                Format.CLOUDEVENT_STRUCTURED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "\"data\":null", "\"data_base64\":null", "\"data_base64\":42"})
    void structuredCloudEventWithoutData(String dataMembers) {
        assertViolation(unwrap(cloudEvent(dataMembers), structured()), Format.CLOUDEVENT_STRUCTURED,
                "data", "the CloudEvent carries no data");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[" + REQUEST + "]", "\"text\"", "42", "null"})
    void structuredCloudEventMustBeAnObject(String value) {
        assertViolation(unwrap(value, structured()), Format.CLOUDEVENT_STRUCTURED,
                "$", "a structured CloudEvent must be a JSON object");
    }

    @Test
    void structuredEnvelopeIsParsedStrictlyToo() {
        assertViolation(unwrap(cloudEvent("\"data\":" + REQUEST + ",\"data\":{}"), structured()),
                Format.CLOUDEVENT_STRUCTURED, "$", "Duplicate field 'data'");
    }

    @ParameterizedTest
    @NullAndEmptySource
    void recordWithoutValue(String value) {
        byte[] raw = value == null ? null : bytes(value);

        assertViolation(RequestEnvelope.unwrap(raw, null, MAX), Format.JSON, "$", "the record has no value");
        assertViolation(RequestEnvelope.unwrap(raw, binary(), MAX), Format.CLOUDEVENT_BINARY,
                "$", "the record has no value");
    }

    @Test
    void oversizeRecordIsRefusedBeforeParsing() {
        byte[] value = bytes("{\"reason\":\"" + "r".repeat(100) + "\"}");

        assertViolation(RequestEnvelope.unwrap(value, structured(), value.length - 1), Format.CLOUDEVENT_STRUCTURED,
                "$", "the record is " + value.length + " bytes; at most " + (value.length - 1) + " are accepted");
    }

    @Test
    void recordOfExactlyTheLimitIsAccepted() {
        byte[] value = bytes(REQUEST);

        assertRequest(RequestEnvelope.unwrap(value, null, value.length), Format.JSON);
    }

    @ParameterizedTest
    @ValueSource(strings = {"not json", "{\"requestId\":", "{'requestId':'req-1'}", "{requestId:1}", "   ",
            "\u0000"})
    void invalidJsonIsRefused(String value) {
        assertViolation(unwrap(value, null), Format.JSON, "$", "not valid JSON: ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"a\":1} x", "{\"a\":1}{\"b\":2}", "{\"a\":1}]", "{\"a\":1} 2"})
    void trailingGarbageIsRefused(String value) {
        assertViolation(unwrap(value, null), Format.JSON, "$", "not valid JSON: ");
    }

    @Test
    void trailingWhitespaceIsAccepted() {
        assertRequest(unwrap(REQUEST + " \n\t", null), Format.JSON);
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":1}", "{\"o\":{\"b\":1,\"b\":2}}"})
    void duplicateKeysAreRefused(String value) {
        Unwrapped u = unwrap(value, binary());

        assertViolation(u, Format.CLOUDEVENT_BINARY, "$", "not valid JSON: Duplicate field '");
    }

    @Test
    void jsonProblemIsOneShortLine() {
        String problem = unwrap("{\"" + "k".repeat(500) + "\":1,\"" + "k".repeat(500) + "\":2}", null)
                .violations().get(0).problem();

        assertThat(problem).doesNotContain("\n").hasSizeLessThanOrEqualTo("not valid JSON: ".length() + 200);
    }

    @Test
    void payloadTextOfNullIsNull() {
        assertThat(RequestEnvelope.payloadText(null)).isNull();
    }

    @Test
    void payloadTextIsTheValueAsUtf8() {
        assertThat(RequestEnvelope.payloadText(bytes("{\"requestedBy\":\"J\u00fcrgen\"}")))
                .isEqualTo("{\"requestedBy\":\"J\u00fcrgen\"}");
        assertThat(RequestEnvelope.payloadText(new byte[0])).isEmpty();
    }

    @Test
    void payloadTextIsCutAt64KiB() {
        String big = "a".repeat(64 * 1024) + "TAIL";

        String text = RequestEnvelope.payloadText(bytes(big));

        assertThat(text).hasSize(64 * 1024).doesNotContain("TAIL").isEqualTo(big.substring(0, 64 * 1024));
    }

    @Test
    void payloadTextOfExactly64KiBIsKeptWhole() {
        String exact = "b".repeat(64 * 1024);

        assertThat(RequestEnvelope.payloadText(bytes(exact))).isEqualTo(exact);
    }

    @Test
    void payloadTextReplacesNulCharacters() {
        assertThat(RequestEnvelope.payloadText(new byte[] {'a', 0, 'b'})).isEqualTo("a\uFFFDb");
    }

    @Test
    void payloadTextCutInsideACharacterStaysReadable() {
        String text = RequestEnvelope.payloadText(bytes("a".repeat(64 * 1024 - 1) + "\u00e9"));

        assertThat(text).startsWith("a".repeat(64 * 1024 - 1)).hasSize(64 * 1024).endsWith("\uFFFD");
    }
}
