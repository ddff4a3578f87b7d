package dev.vmexportguard.support;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * What a producer of requests and a reader of results see: sends records to the request topic and records
 * everything that appears on the result and dead-letter topics, and on the request topic (what the guard's HTTP
 * intake put there).
 */
public final class GuardTopics implements AutoCloseable {
    public static final String REQUESTS = "vm-export-requests";
    public static final String RESULTS = "vm-export-results";
    public static final String DEAD_LETTER = "vm-export-requests-dlq";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static GuardTopics current;

    private final String bootstrap;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread poller;
    private final List<ConsumerRecord<String, byte[]>> seen = new CopyOnWriteArrayList<>();
    private volatile boolean running = true;
    /** Result events read so far, each parsed and checked against the result schema once. */
    private final Map<String, Event> parsed = new java.util.concurrent.ConcurrentHashMap<>();

    /** The instance for the broker of the running application. */
    public static synchronized GuardTopics get() {
        String bootstrap = KafkaBrokerResource.bootstrapServers();
        if (current == null || !current.bootstrap.equals(bootstrap)) {
            if (current != null) {
                current.close();
            }
            current = new GuardTopics(bootstrap);
        }
        return current;
    }

    private GuardTopics(String bootstrap) {
        this.bootstrap = bootstrap;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p);

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "test-reader-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "500");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumer = new KafkaConsumer<>(c);
        consumer.subscribe(List.of(RESULTS, DEAD_LETTER, REQUESTS));
        poller = new Thread(this::poll, "guard-topics-reader");
        poller.setDaemon(true);
        poller.start();
    }

    private void poll() {
        try {
            while (running) {
                consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            consumer.close();
        }
    }

    public RecordMetadata send(String key, String value) {
        return send(key, value == null ? null : value.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    /**
     * Sends a record as the chat-ops bot does: with its token in an {@code authorization} header, unless
     * {@code headers} names that header (a null value: no such header).
     */
    public RecordMetadata send(String key, byte[] value, Map<String, String> headers) {
        return sendRecord(new ProducerRecord<>(REQUESTS, key, value), headers);
    }

    /**
     * Sends a record as {@link #send(String, byte[], Map)} does, with the bot's token, but with {@code timestamp}
     * (milliseconds since the epoch) as its CreateTime instead of now: a request that was written then.
     */
    public RecordMetadata sendAt(long timestamp, String key, String value) {
        return sendRecord(new ProducerRecord<>(REQUESTS, null, timestamp, key, value.getBytes(StandardCharsets.UTF_8)),
                Map.of());
    }

    private RecordMetadata sendRecord(ProducerRecord<String, byte[]> record, Map<String, String> headers) {
        Map<String, String> all = new java.util.LinkedHashMap<>();
        all.put("authorization", "Bearer " + ScriptedAuthenticator.BOT_TOKEN);
        all.putAll(headers);
        all.forEach((k, v) -> {
            if (v != null) {
                record.headers().add(k, v.getBytes(StandardCharsets.UTF_8));
            }
        });
        try {
            return producer.send(record).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new IllegalStateException("request not sent", e);
        }
    }

    /** A result event as a reader of the topic sees it. */
    public record Event(String key, JsonNode body, Map<String, String> headers, long offset) {
        public String type() {
            return body.path("type").asText();
        }

        public String reason() {
            return body.path("reason").isNull() ? null : body.path("reason").asText();
        }

        public String message() {
            return body.path("message").asText();
        }
    }

    /** Every result event read so far, of every request. */
    public List<Event> results() {
        return seen.stream().filter(r -> r.topic().equals(RESULTS))
                .map(r -> parsed.computeIfAbsent(r.partition() + "/" + r.offset(), k -> event(r)))
                .toList();
    }

    public List<Event> results(String requestId) {
        return seen.stream()
                .filter(r -> r.topic().equals(RESULTS) && requestId.equals(r.key()))
                .map(r -> parsed.computeIfAbsent(r.partition() + "/" + r.offset(), k -> event(r)))
                .toList();
    }

    /** How long no further event may come for a count of a request's events to be taken as its last. */
    public static final Duration SETTLE = Duration.ofMillis(1500);

    /**
     * Waits until {@code count} events for the request are on the result topic, then for {@link #SETTLE}: a late
     * duplicate or an extra event makes it fail. The request's events, exactly {@code count} of them.
     */
    public List<Event> awaitResults(String requestId, int count) {
        await().atMost(Duration.ofSeconds(60)).until(() -> results(requestId).size() >= count);
        // the count must hold for the whole settle time; since events only add up, one more fails it
        await("exactly " + count + " events for " + requestId).during(SETTLE).atMost(SETTLE.plusSeconds(5))
                .until(() -> results(requestId).size() == count);
        return results(requestId);
    }

    /** The request's first event, once there is one; more may follow. */
    public Event awaitResult(String requestId) {
        await().atMost(Duration.ofSeconds(60)).until(() -> !results(requestId).isEmpty());
        return results(requestId).get(0);
    }

    /** The last record on the request topic with {@code key}, once there is one, as it was written. */
    public ConsumerRecord<String, byte[]> awaitRequest(String key) {
        await().atMost(Duration.ofSeconds(60)).until(() -> seen.stream()
                .anyMatch(r -> r.topic().equals(REQUESTS) && key.equals(r.key())));
        return seen.stream().filter(r -> r.topic().equals(REQUESTS) && key.equals(r.key()))
                .reduce((first, last) -> last).orElseThrow();
    }

    public List<ConsumerRecord<String, byte[]>> deadLetters() {
        return seen.stream().filter(r -> r.topic().equals(DEAD_LETTER)).toList();
    }

    /** The dead-letter copy of the request record at {@code offset}, once it is there. */
    public ConsumerRecord<String, byte[]> awaitDeadLetter(long offset) {
        await().atMost(Duration.ofSeconds(60)).until(() -> deadLetters().stream()
                .anyMatch(r -> String.valueOf(offset).equals(headers(r).get("dead-letter-offset"))));
        return deadLetters().stream().filter(r -> String.valueOf(offset).equals(headers(r).get("dead-letter-offset")))
                .findFirst().orElseThrow();
    }

    public static Map<String, String> headers(ConsumerRecord<String, byte[]> record) {
        Map<String, String> headers = new HashMap<>();
        for (Header h : record.headers()) {
            headers.put(h.key(), h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8));
        }
        return headers;
    }

    /**
     * A result record as an event, once it is checked against the contract: the value against the result schema,
     * and {@code ce_dataschema} naming that schema. Every test that reads results thus checks the contract too.
     */
    public static Event event(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            throw new AssertionError("result record without a value at offset " + record.offset());
        }
        String value = new String(record.value(), StandardCharsets.UTF_8);
        Contracts.assertValidResult(value);
        Map<String, String> headers = headers(record);
        String dataschema = headers.get("ce_dataschema");
        if (dataschema == null || !dataschema.endsWith("/" + Contracts.RESULT_SCHEMA)) {
            throw new AssertionError("result event without ce_dataschema naming " + Contracts.RESULT_SCHEMA + ": "
                    + dataschema + "\n" + value);
        }
        try {
            return new Event(record.key(), JSON.readTree(record.value()), headers, record.offset());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("result event is not JSON: " + new String(record.value(), StandardCharsets.UTF_8), e);
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        producer.close(Duration.ofSeconds(5));
    }
}
