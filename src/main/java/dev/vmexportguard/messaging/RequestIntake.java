package dev.vmexportguard.messaging;

import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.Violation;
import dev.vmexportguard.service.Callers;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Takes requests that arrive other than by Kafka (HTTP): checks them with the same rules as the consumer, then
 * puts them on the request topic, so that they go through the one decision path and the one audit. The caller the
 * HTTP layer proved travels with the record, sealed by the guard ({@link Callers#seal}): the guard's own Kafka
 * credentials lend it no rights. A caller that may not act for the requester is told at once, and the record
 * still goes on, to be refused and audited like any other.
 */
@ApplicationScoped
public class RequestIntake {

    /**
     * The requestId the request was published under, or the violations that kept it off the topic; and, when the
     * caller may not act for the requester, the refusal's message.
     */
    public record Outcome(String requestId, List<Violation> violations, String forbidden) {
        public boolean accepted() {
            return violations.isEmpty();
        }
    }

    private final MutinyEmitter<byte[]> requests;
    private final Callers callers;
    private final int maxBytes;

    public RequestIntake(@Channel("export-requests-intake") MutinyEmitter<byte[]> requests, Callers callers,
                         GuardConfig config) {
        this.requests = requests;
        this.callers = callers;
        this.maxBytes = config.request().maxBytes();
    }

    public Outcome submit(byte[] body, Identity caller) {
        return submit(body, caller, null, null);
    }

    /** {@link #submit(byte[], Identity)}, with the W3C trace context of the HTTP request carried on the record. */
    public Outcome submit(byte[] body, Identity caller, String traceparent, String tracestate) {
        RequestEnvelope.Read read = RequestEnvelope.read(body, new RecordHeaders(), maxBytes);
        if (read.request() == null) {
            return new Outcome(read.validation() == null ? null : read.validation().usableRequestId(), read.violations(),
                    null);
        }
        String forbidden = callers.forbiddenOverHttp(caller, read.request());
        String requestId = read.request().requestId();
        RecordHeaders headers = new RecordHeaders();
        callers.seal(caller, body).forEach((name, value) -> headers.add(name, value.getBytes(StandardCharsets.UTF_8)));
        if (traceparent != null) {
            headers.add("traceparent", traceparent.getBytes(StandardCharsets.UTF_8));
            if (tracestate != null) {
                headers.add("tracestate", tracestate.getBytes(StandardCharsets.UTF_8));
            }
        }
        requests.sendMessageAndAwait(Message.of(body).addMetadata(
                OutgoingKafkaRecordMetadata.<String>builder().withKey(requestId).withHeaders(headers).build()));
        return new Outcome(requestId, List.of(), forbidden);
    }
}
