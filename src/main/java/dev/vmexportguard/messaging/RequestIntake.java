package dev.vmexportguard.messaging;

import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Violation;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Takes requests that arrive other than by Kafka (HTTP): checks them with the same rules as the consumer, then
 * puts them on the request topic, so that they go through the one decision path and the one audit.
 */
@ApplicationScoped
public class RequestIntake {

    /** Either the requestId the request was published under, or why it was not. */
    public record Outcome(String requestId, List<Violation> violations) {
        public boolean accepted() {
            return violations.isEmpty();
        }
    }

    private final MutinyEmitter<byte[]> requests;
    private final int maxBytes;

    public RequestIntake(@Channel("export-requests-intake") MutinyEmitter<byte[]> requests, GuardConfig config) {
        this.requests = requests;
        this.maxBytes = config.request().maxBytes();
    }

    public Outcome submit(byte[] body) {
        RequestEnvelope.Read read = RequestEnvelope.read(body, new RecordHeaders(), maxBytes);
        if (read.request() == null) {
            return new Outcome(read.validation() == null ? null : read.validation().usableRequestId(), read.violations());
        }
        String requestId = read.request().requestId();
        requests.sendMessageAndAwait(Message.of(body).addMetadata(
                OutgoingKafkaRecordMetadata.<String>builder().withKey(requestId).build()));
        return new Outcome(requestId, List.of());
    }
}
