package dev.vmexportguard.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.KafkaBrokerResource;
import dev.vmexportguard.support.Requests;
import dev.vmexportguard.support.ScriptedAuthenticator;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Settings of the README changed together (they do not interfere) and their effect seen from outside: the topics,
 * the consumer group, the largest record, the CloudEvents source and type prefix, and an export timeout that keeps
 * the unfinished image.
 */
@QuarkusTest
@TestProfile(SettingsTest.Changed.class)
class SettingsTest extends GuardIntegrationTest {
    static final String REQUESTS = "settings-requests";
    static final String RESULTS = "settings-results";
    static final String DEAD_LETTER = "settings-dlq";
    static final String GROUP = "settings-group";
    private static final ObjectMapper JSON = new ObjectMapper();

    public static class Changed implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("guard.topics.requests", REQUESTS,
                    "guard.topics.results", RESULTS,
                    "guard.topics.dead-letter", DEAD_LETTER,
                    "mp.messaging.incoming.export-requests.group.id", GROUP,
                    "guard.request.max-bytes", "2048",
                    "guard.events.source", "/settings-test",
                    "guard.events.type-prefix", "com.example.vm-export",
                    "guard.exports.timeout", "3s",
                    "guard.exports.delete-on-timeout", "false");
        }
    }

    private static KafkaProducer<String, byte[]> producer;
    private static KafkaConsumer<String, byte[]> consumer;
    private static final List<ConsumerRecord<String, byte[]>> SEEN = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void clients() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaBrokerResource.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        producer = new KafkaProducer<>(p);
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaBrokerResource.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "settings-reader-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "500");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumer = new KafkaConsumer<>(c);
        consumer.subscribe(List.of(RESULTS, DEAD_LETTER));
    }

    @AfterAll
    static void close() {
        producer.close();
        consumer.close();
    }

    private org.apache.kafka.clients.producer.RecordMetadata sendOn(String id, String json) throws Exception {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(REQUESTS, id, json.getBytes(StandardCharsets.UTF_8));
        record.headers().add("authorization", ("Bearer " + ScriptedAuthenticator.BOT_TOKEN).getBytes(StandardCharsets.UTF_8));
        return producer.send(record).get();
    }

    private List<ConsumerRecord<String, byte[]>> on(String topic, String id) {
        synchronized (consumer) {
            consumer.poll(Duration.ofMillis(200)).forEach(SEEN::add);
        }
        return SEEN.stream().filter(r -> r.topic().equals(topic) && id.equals(r.key())).toList();
    }

    private ConsumerRecord<String, byte[]> awaitOn(String topic, String id, String type) {
        return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(
                () -> on(topic, id).stream().filter(r -> type.equals(body(r).path("type").asText())).findFirst(),
                java.util.Optional::isPresent).orElseThrow();
    }

    private static JsonNode body(ConsumerRecord<String, byte[]> record) {
        try {
            return JSON.readTree(record.value());
        } catch (java.io.IOException e) {
            return JSON.createObjectNode();
        }
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void requestsAreReadFromTheConfiguredTopicInTheConfiguredGroupAndAnsweredOnTheConfiguredOne() throws Exception {
        stoppedVm("vm1", DISK);
        String id = Requests.newRequestId();
        Instant sent = Instant.now();

        sendOn(id, Requests.request(id, ns, "vm1", null));

        ConsumerRecord<String, byte[]> started = awaitOn(RESULTS, id, "STARTED");
        assertThat(header(started, "ce_source")).isEqualTo("/settings-test");
        assertThat(header(started, "ce_type")).isEqualTo("com.example.vm-export.started");
        assertThat(header(started, "ce_subject")).isEqualTo(ns + "/vm1");
        assertThat(header(started, "ce_id")).isEqualTo(body(started).path("eventId").asText());
        Instant time = OffsetDateTime.parse(header(started, "ce_time")).toInstant();
        assertThat(time).isBetween(sent.minusSeconds(1), Instant.now());
        // nothing on the default topics
        assertThat(topics.results(id)).isEmpty();
        // the offset is committed for the configured group
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KafkaBrokerResource.bootstrapServers()))) {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(GROUP)
                        .partitionsToOffsetAndMetadata().get();
                assertThat(offsets).containsKey(new TopicPartition(REQUESTS, 0));
                assertThat(offsets.get(new TopicPartition(REQUESTS, 0)).offset()).isPositive();
            });
        }
    }

    /** The request with an unknown field of {@code size} characters added. */
    private static String padded(String json, int size) {
        return json.substring(0, json.length() - 1) + ",\"padding\":\"" + "x".repeat(size) + "\"}";
    }

    @Test
    void aRecordOverTheConfiguredMaximumIsInvalidAndDeadLetteredOnTheConfiguredTopic() throws Exception {
        stoppedVm("vm1", DISK);
        String small = Requests.newRequestId();
        String large = Requests.newRequestId();
        String smallJson = padded(Requests.request(small, ns, "vm1", null), 1000);
        String largeJson = padded(Requests.request(large, ns, "vm1", null), 2100);
        assertThat(smallJson.length()).isLessThan(2048);
        assertThat(largeJson.length()).isGreaterThan(2048).isLessThan(65536);

        var sent = sendOn(large, largeJson);
        sendOn(small, smallJson);

        // a record too large is not read, so it is answered under its Kafka coordinates
        String answeredAs = "kafka:" + REQUESTS + ":" + sent.partition() + ":" + sent.offset();
        ConsumerRecord<String, byte[]> rejected = awaitOn(RESULTS, answeredAs, "REJECTED");
        assertThat(body(rejected).path("reason").asText()).isEqualTo("INVALID_REQUEST");
        assertThat(body(rejected).path("message").asText()).contains("bytes; at most 2048 are accepted");
        assertThat(header(rejected, "ce_type")).isEqualTo("com.example.vm-export.rejected");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> !on(DEAD_LETTER, large).isEmpty());
        ConsumerRecord<String, byte[]> copy = on(DEAD_LETTER, large).get(0); // the copy keeps the record's key
        assertThat(new String(copy.value(), StandardCharsets.UTF_8)).isEqualTo(largeJson);
        assertThat(header(copy, "dead-letter-cause")).isEqualTo("INVALID_REQUEST");
        assertThat(header(copy, "dead-letter-topic")).isEqualTo(REQUESTS);
        assertThat(header(copy, "dead-letter-request-id")).isEqualTo(answeredAs);
        assertThat(topics.deadLetters()).noneMatch(r -> large.equals(r.key()));
        // one under the limit is served
        assertThat(body(awaitOn(RESULTS, small, "STARTED")).path("type").asText()).isEqualTo("STARTED");
    }

    @Test
    void aTimedOutExportKeepsItsImageWhenDeleteOnTimeoutIsOff() throws Exception {
        // a volume no VM uses: the event's subject is namespace/volume
        cluster.volume(ns, "lonely-disk");
        String id = Requests.newRequestId();

        sendOn(id, Requests.request(id, ns, null, "lonely-disk"));

        ConsumerRecord<String, byte[]> started = awaitOn(RESULTS, id, "STARTED");
        assertThat(header(started, "ce_subject")).isEqualTo(ns + "/lonely-disk");
        String image = body(started).path("image").path("name").asText();
        simulator.progress(ns, image, 12);
        ConsumerRecord<String, byte[]> failed = awaitOn(RESULTS, id, "FAILED");
        assertThat(body(failed).path("reason").asText()).isEqualTo("EXPORT_TIMEOUT");
        assertThat(body(failed).path("message").asText()).endsWith("took longer than 3s; the unfinished image "
                + image + " was left in place.");
        assertThat(header(failed, "ce_type")).isEqualTo("com.example.vm-export.failed");
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                .until(() -> cluster.guardImages(ns).stream().anyMatch(i -> i.getMetadata().getName().equals(image)));
    }
}
