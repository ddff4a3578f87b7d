package dev.vmexportguard.messaging;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import dev.vmexportguard.support.AuditApi;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.KafkaBrokerResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every kind of bad record gets a readable answer, an audit row and a dead-letter copy; the consumer goes on. */
@QuarkusTest
class InvalidRequestTest extends GuardIntegrationTest {

    static final String ID = "__ID__";

    /** A malformed record: its value (ID stands for a fresh requestId), headers, and what the answer must name. */
    record Malformed(String name, byte[] value, Map<String, String> headers, boolean keepsRequestId,
                     List<String> mentioned) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Malformed of(String name, String value, boolean keepsRequestId, String... mentioned) {
        return new Malformed(name, value == null ? null : value.getBytes(StandardCharsets.UTF_8), Map.of(),
                keepsRequestId, List.of(mentioned));
    }

    static String valid(String replace, String with) {
        String json = "{\"requestId\":\"" + ID + "\",\"namespace\":\"team-a\",\"vmName\":\"vm1\",\"requestedBy\":\"alice\"}";
        return json.replace(replace, with);
    }

    static Stream<Arguments> malformedRecords() {
        List<Malformed> cases = new ArrayList<>(List.of(
                of("not JSON", "export vm1 please", false, "not valid JSON"),
                // the parser's message quotes the token: the answer shows the NUL escaped
                of("not JSON, with a NUL in a token", "export\u0000vm1 please", false, "not valid JSON", "\\u0000"),
                of("duplicate key holding a NUL", "{\"a\\u0000\":1,\"a\\u0000\":2}", false, "Duplicate field 'a\\u0000'"),
                of("control character in a field", valid("\"alice\"", "\"al\\u0007ice\""), true,
                        "requestedBy: must not contain control characters (U+0007 at position 3)"),
                of("JSON array", "[\"vm1\"]", false, "must be a JSON object, not an array"),
                of("JSON string", "\"vm1\"", false, "not a string"),
                of("JSON number", "42", false, "not a number"),
                of("JSON null", "null", false, "not null"),
                of("empty value", "", false, "no value"),
                of("tombstone", null, false, "no value"),
                of("trailing garbage", valid("", "") + " }", false, "not valid JSON"),
                of("duplicate key", valid("\"vmName\"", "\"vmName\":\"a\",\"vmName\""), false, "Duplicate field"),
                of("missing requestId", valid("\"requestId\":\"" + ID + "\",", ""), false, "requestId: is required"),
                of("requestId with spaces", valid(ID, "my request"), false, "requestId: must be 1-128"),
                of("requestId too long", valid(ID, "r".repeat(129)), false, "requestId: must be 1-128"),
                of("missing namespace", valid("\"namespace\":\"team-a\",", ""), true, "namespace: is required"),
                of("namespace not a DNS label", valid("team-a", "Team_A"), true, "namespace: 'Team_A'"),
                of("neither vmName nor volumeName", valid("\"vmName\":\"vm1\",", ""), true, "vmName or volumeName"),
                of("vmName not a Kubernetes name", valid("\"vm1\"", "\"VM 1\""), true, "vmName: 'VM 1'"),
                of("volumeName too long", valid("\"vmName\":\"vm1\"", "\"volumeName\":\"" + "d".repeat(254) + "\""),
                        true, "volumeName:"),
                of("missing requestedBy", valid(",\"requestedBy\":\"alice\"", ""), true, "requestedBy: is required"),
                of("blank requestedBy", valid("\"alice\"", "\"   \""), true, "requestedBy: must be 1-256"),
                of("namespace of wrong type", valid("\"team-a\"", "17"), true, "namespace: must be a string, not a number"),
                of("restartAfter of wrong type", valid("}", ",\"restartAfter\":\"yes\"}"), true,
                        "restartAfter: must be a boolean"),
                of("bad imageDisplayName", valid("}", ",\"imageDisplayName\":\"-root-\"}"), true, "imageDisplayName:"),
                of("unknown onRunning", valid("}", ",\"onRunning\":\"MAYBE\"}"), true, "onRunning: must be REJECT or STOP"),
                of("reason too long", valid("}", ",\"reason\":\"" + "x".repeat(1025) + "\"}"), true, "reason: must be at most 1024"),
                of("replyTo too long", valid("}", ",\"replyTo\":\"" + "x".repeat(513) + "\"}"), true, "replyTo: must be at most 512"),
                of("several problems at once", "{\"requestId\":\"" + ID + "\",\"namespace\":\"A\",\"vmName\":7}", true,
                        "namespace:", "vmName: must be a string", "requestedBy: is required"),
                of("oversized record", valid("}", ",\"reason\":\"" + "x".repeat(70_000) + "\"}"), false,
                        "at most 65536 are accepted"),
                new Malformed("not UTF-8", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'},
                        Map.of(), false, List.of("not valid JSON")),
                new Malformed("structured CloudEvent without data",
                        "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/bot\",\"type\":\"x\"}".getBytes(StandardCharsets.UTF_8),
                        Map.of("content-type", "application/cloudevents+json"), false, List.of("data: the CloudEvent carries no data"))));
        return cases.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedRecords")
    void malformedRecordIsAnsweredAuditedAndDeadLettered(Malformed malformed) {
        String requestId = newRequestId();
        byte[] value = malformed.value() == null ? null
                : new String(malformed.value(), StandardCharsets.ISO_8859_1).replace(ID, requestId).getBytes(StandardCharsets.ISO_8859_1);

        RecordMetadata sent = topics.send("key-" + requestId, value, malformed.headers());

        String expectedId = malformed.keepsRequestId() ? requestId
                : "kafka:" + GuardTopics.REQUESTS + ":" + sent.partition() + ":" + sent.offset();
        Event rejected = topics.awaitResult(expectedId);
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("INVALID_REQUEST");
        assertThat(rejected.message()).contains(malformed.mentioned());
        assertThat(rejected.headers()).containsEntry("ce_type", "dev.vmexportguard.export.rejected");

        await().atMost(Duration.ofSeconds(30)).until(() -> deadLetterOf(topics, sent) != null);
        ConsumerRecord<String, byte[]> copy = deadLetterOf(topics, sent);
        // byte for byte; a tombstone stays a tombstone
        assertThat(copy.value()).isEqualTo(value);
        assertThat(copy.key()).isEqualTo("key-" + requestId);
        Map<String, String> headers = GuardTopics.headers(copy);
        assertThat(headers).containsEntry("dead-letter-cause", "INVALID_REQUEST")
                .containsEntry("dead-letter-request-id", expectedId)
                .containsEntry("dead-letter-topic", GuardTopics.REQUESTS);
        assertThat(headers.get("dead-letter-reason")).contains(malformed.mentioned().get(0));
        malformed.headers().forEach((k, v) -> assertThat(headers).containsEntry(k, v));

        AuditApi.export(expectedId, 2)
                .body("status", equalTo("REJECTED"))
                .body("reason", equalTo("INVALID_REQUEST"))
                .body("history.type", contains("RECEIVED", "REJECTED"))
                .body("history[0].source.offset", equalTo((int) sent.offset()));
    }

    private static ConsumerRecord<String, byte[]> deadLetterOf(GuardTopics topics, RecordMetadata sent) {
        return topics.deadLetters().stream()
                .filter(r -> String.valueOf(sent.offset()).equals(GuardTopics.headers(r).get("dead-letter-offset")))
                .findFirst().orElse(null);
    }

    @Test
    void validRequestAfterBadOnesIsServedAndBadOnesAreCommitted() throws Exception {
        stoppedVm("vm1", "vm1-disk-0-abcde");

        topics.send("junk", "garbage");
        topics.send("junk", "{\"requestId\":17}");
        String id = newRequestId();
        RecordMetadata good = topics.send(id, request(id, ns, "vm1", null));

        assertThat(topics.awaitResult(id).type()).isEqualTo("STARTED");
        // the group's committed offset is past every record: a restarted guard does not see them again
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KafkaBrokerResource.bootstrapServers()))) {
            TopicPartition partition = new TopicPartition(GuardTopics.REQUESTS, good.partition());
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                OffsetAndMetadata committed = admin.listConsumerGroupOffsets("vm-export-guard")
                        .partitionsToOffsetAndMetadata().get().get(partition);
                return committed != null && committed.offset() > good.offset();
            });
        }
    }

    @Test
    void aControlCharacterInAFieldIsRefusedNamingTheFieldAndTheConsumerAndOutboxGoOn() {
        stoppedVm("vm1", DISK);
        String id = newRequestId();

        RecordMetadata sent = topics.send(id, "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns
                + "\",\"vmName\":\"vm1\",\"requestedBy\":\"a\\u0000\"}");

        Event rejected = topics.awaitResult(id);
        assertThat(rejected.type()).isEqualTo("REJECTED");
        assertThat(rejected.reason()).isEqualTo("INVALID_REQUEST");
        assertThat(rejected.message()).contains("requestedBy: must not contain control characters (U+0000 at position 2)")
                .doesNotContain("\u0000");
        // the answer echoes what it can of the request, never the field with the NUL
        assertThat(rejected.body().path("requestedBy").isNull()).isTrue();
        assertThat(rejected.body().path("namespace").asText()).isEqualTo(ns);
        AuditApi.export(id, 2)
                .body("status", equalTo("REJECTED"))
                .body("reason", equalTo("INVALID_REQUEST"))
                .body("history.type", contains("RECEIVED", "REJECTED"))
                .body("history[0].requestedBy", nullValue())
                .body("history[0].namespace", equalTo(ns))
                .body("history[0].source.offset", equalTo((int) sent.offset()));
        assertThat(GuardTopics.headers(topics.awaitDeadLetter(sent.offset())))
                .containsEntry("dead-letter-cause", "INVALID_REQUEST");

        // the request after it is served
        String next = send("vm1", null);
        assertThat(topics.awaitResult(next).type()).isEqualTo("STARTED");
        AuditApi.export(next, 2).body("status", equalTo("STARTED"));
    }

    @Test
    void theDeadLetterCopyOfATombstoneIsATombstone() {
        String key = "key-" + newRequestId();

        RecordMetadata sent = topics.send(key, (byte[]) null, Map.of());

        ConsumerRecord<String, byte[]> copy = topics.awaitDeadLetter(sent.offset());
        assertThat(copy.value()).isNull();
        assertThat(copy.key()).isEqualTo(key);
        assertThat(GuardTopics.headers(copy)).containsEntry("dead-letter-reason", "$: the record has no value");
    }
}
