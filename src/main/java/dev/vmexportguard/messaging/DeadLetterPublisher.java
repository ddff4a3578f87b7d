package dev.vmexportguard.messaging;

import dev.vmexportguard.service.Callers;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Copies a request record that could not be served to the dead-letter topic, unchanged, with its own headers and
 * {@code dead-letter-*} headers saying why and where it came from (the names SmallRye's dead-letter queue uses).
 * The proof of who sent it is not copied: a bearer token, or the intake's seal, would let a reader of the
 * dead-letter topic act as the sender.
 */
@ApplicationScoped
public class DeadLetterPublisher {

    private static final Set<String> PROOF = Set.of("authorization", Callers.CALLER_HEADER, Callers.SEAL_HEADER);

    private final MutinyEmitter<byte[]> deadLetters;

    public DeadLetterPublisher(@Channel("export-requests-dead-letter") MutinyEmitter<byte[]> deadLetters) {
        this.deadLetters = deadLetters;
    }

    /** The broker did not take the copy; the record it copies is not done. */
    public static class NotPublished extends RuntimeException {
        NotPublished(Throwable cause) {
            super("the dead-letter copy was not published: " + cause.getMessage(), cause);
        }
    }

    public void publish(ConsumerRecord<String, byte[]> record, String requestId, String reasonCode, String reason) {
        RecordHeaders headers = new RecordHeaders();
        for (Header header : record.headers()) {
            if (!PROOF.contains(header.key().toLowerCase(Locale.ROOT))) {
                headers.add(header);
            }
        }
        header(headers, "dead-letter-reason", reason);
        header(headers, "dead-letter-cause", reasonCode);
        header(headers, "dead-letter-request-id", requestId);
        header(headers, "dead-letter-topic", record.topic());
        header(headers, "dead-letter-partition", Integer.toString(record.partition()));
        header(headers, "dead-letter-offset", Long.toString(record.offset()));
        OutgoingKafkaRecordMetadata<String> metadata = OutgoingKafkaRecordMetadata.<String>builder()
                .withKey(record.key())
                .withHeaders(headers)
                .build();
        // a tombstone (null value) stays a tombstone
        try {
            deadLetters.sendMessageAndAwait(Message.of(record.value()).addMetadata(metadata));
        } catch (RuntimeException e) {
            throw new NotPublished(e);
        }
    }

    private static void header(RecordHeaders headers, String key, String value) {
        headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    }
}
