package dev.vmexportguard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The benchmark's Kafka clients: one producer that sends every record (with linger, so a burst goes in batches), one
 * consumer that reads every answer (the guard's result events and the relay's copies), and the plain relay the guard
 * is compared with. All times are this process's {@link System#nanoTime()}.
 */
final class Traffic {
    /** The relay's topics: it reads the first and writes each record to the second. */
    static final String RELAY_IN = "bench-relay-in";
    static final String RELAY_OUT = "bench-relay-out";
    /** The event type the tracker gives a record the relay wrote. */
    static final String RELAYED = "RELAYED";

    private Traffic() {
    }

    /** A record to send: its id (the key, and the requestId of a request), its value. */
    record Message(String id, String value) {
    }

    /** The single producer of the benchmark; remembers when each record was handed to it. */
    static final class Sender implements AutoCloseable {
        private final KafkaProducer<String, String> producer;
        private final Map<String, Long> sentAt = new ConcurrentHashMap<>();

        Sender(String bootstrap) {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
            producer = new KafkaProducer<>(p);
        }

        /** Sends them all as fast as the producer takes them. */
        void burst(String topic, List<Message> messages) {
            for (Message m : messages) {
                send(topic, m);
            }
            producer.flush();
        }

        /** Sends them at {@code perSecond}, each at its own time from now on (not after the previous one's ack). */
        void paced(String topic, List<Message> messages, int perSecond) {
            long start = System.nanoTime();
            long interval = TimeUnit.SECONDS.toNanos(1) / perSecond;
            for (int i = 0; i < messages.size(); i++) {
                long due = start + i * interval;
                for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                    LockSupport.parkNanos(wait);
                }
                send(topic, messages.get(i));
            }
            producer.flush();
        }

        private void send(String topic, Message m) {
            sentAt.put(m.id(), System.nanoTime());
            producer.send(new ProducerRecord<>(topic, m.id(), m.value()), (meta, e) -> {
                if (e != null) {
                    System.out.println("  not sent: " + m.id() + ": " + e);
                }
            });
        }

        Long sentAt(String id) {
            return sentAt.get(id);
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(5));
        }
    }

    /**
     * The single consumer of answers: the result topic and the relay's output, from their end when it starts. For
     * each id, when each type of event was first seen, and the reason of a refusal.
     */
    static final class Tracker implements AutoCloseable {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final KafkaConsumer<String, String> consumer;
        private final Map<String, Map<String, Long>> seen = new ConcurrentHashMap<>();
        private final Map<String, String> reasons = new ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean closed;

        Tracker(String bootstrap, Collection<String> topics) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
            consumer = new KafkaConsumer<>(p);
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                consumer.partitionsFor(topic, Duration.ofSeconds(30))
                        .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(tp -> consumer.position(tp, Duration.ofSeconds(30)));
            thread = new Thread(this::run, "result-tracker");
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            try {
                while (!closed) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        long now = System.nanoTime();
                        if (r.topic().equals(RELAY_OUT)) {
                            note(r.key(), RELAYED, null, now);
                        } else {
                            try {
                                JsonNode event = JSON.readTree(r.value());
                                String id = r.key() != null ? r.key() : event.path("requestId").asText(null);
                                note(id, event.path("type").asText("?"), event.path("reason").asText(null), now);
                            } catch (Exception e) {
                                // not an event of the contract: not ours
                            }
                        }
                    }
                }
            } catch (WakeupException e) {
                // closing
            } finally {
                consumer.close(Duration.ofSeconds(2));
            }
        }

        private void note(String id, String type, String reason, long now) {
            if (id == null || !id.startsWith("bench-")) {
                return;
            }
            seen.computeIfAbsent(id, k -> new ConcurrentHashMap<>()).putIfAbsent(type, now);
            if ("REJECTED".equals(type) || "FAILED".equals(type)) {
                reasons.putIfAbsent(id, type + " " + reason);
            }
        }

        /** When an event of {@code type} was first seen for {@code id}, or null. */
        Long seen(String id, String type) {
            Map<String, Long> types = seen.get(id);
            return types == null ? null : types.get(type);
        }

        /** The earliest time any of {@code types} was seen for {@code id}, or null. */
        Long seenAny(String id, Set<String> types) {
            Map<String, Long> all = seen.get(id);
            if (all == null) {
                return null;
            }
            Long first = null;
            for (String type : types) {
                Long at = all.get(type);
                if (at != null && (first == null || at < first)) {
                    first = at;
                }
            }
            return first;
        }

        String reason(String id) {
            return reasons.get(id);
        }

        /** Waits until every id has one of {@code types}, or {@code limit} has passed; the number that have. */
        int await(Collection<String> ids, Set<String> types, Duration limit) throws InterruptedException {
            long until = System.nanoTime() + limit.toNanos();
            int have = 0;
            while (true) {
                have = 0;
                for (String id : ids) {
                    if (seenAny(id, types) != null) {
                        have++;
                    }
                }
                if (have == ids.size() || System.nanoTime() > until) {
                    return have;
                }
                Thread.sleep(50);
            }
        }

        /**
         * Waits until no id has got one of {@code types} for {@code quiet}, all have, or {@code limit} has passed;
         * the number that have.
         */
        int awaitQuiet(Collection<String> ids, Set<String> types, Duration quiet, Duration limit)
                throws InterruptedException {
            long until = System.nanoTime() + limit.toNanos();
            int last = -1;
            long changedAt = System.nanoTime();
            while (true) {
                int have = 0;
                for (String id : ids) {
                    if (seenAny(id, types) != null) {
                        have++;
                    }
                }
                if (have != last) {
                    last = have;
                    changedAt = System.nanoTime();
                }
                if (have == ids.size() || System.nanoTime() > until || System.nanoTime() - changedAt > quiet.toNanos()) {
                    return have;
                }
                Thread.sleep(100);
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            consumer.wakeup();
            thread.join(5000);
        }
    }

    /**
     * The plain relay: a consumer and a producer in one thread, each record read from {@link #RELAY_IN} written to
     * {@link #RELAY_OUT} (acks=all, as the guard publishes), offsets committed as the consumer's default does.
     */
    static final class Relay implements AutoCloseable {
        private final KafkaConsumer<String, String> consumer;
        private final KafkaProducer<String, String> producer;
        private final Thread thread;
        private volatile boolean closed;

        Relay(String bootstrap) {
            Properties c = new Properties();
            c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            c.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-relay");
            c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            consumer = new KafkaConsumer<>(c);
            producer = new KafkaProducer<>(p);
            thread = new Thread(this::run, "plain-relay");
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            try {
                consumer.subscribe(List.of(RELAY_IN));
                while (!closed) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        producer.send(new ProducerRecord<>(RELAY_OUT, r.key(), r.value()));
                    }
                }
            } catch (WakeupException e) {
                // closing
            } finally {
                producer.close(Duration.ofSeconds(2));
                consumer.close(Duration.ofSeconds(2));
            }
        }

        @Override
        public void close() throws InterruptedException {
            if (!closed) {
                closed = true;
                consumer.wakeup();
                thread.join(5000);
            }
        }
    }
}
