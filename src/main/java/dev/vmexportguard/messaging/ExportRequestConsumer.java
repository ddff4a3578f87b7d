package dev.vmexportguard.messaging;

import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.decision.Violation;
import dev.vmexportguard.service.Callers;
import dev.vmexportguard.service.ExportRequestHandler;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Reads export requests from Kafka, one at a time in order. Every record gets an answer: a request that cannot be
 * read or is not valid is answered with INVALID_REQUEST and copied to the dead-letter topic, and the consumer goes
 * on; the record is acknowledged once its decision (or its answer) is recorded.
 */
@ApplicationScoped
public class ExportRequestConsumer {
    private static final Logger LOG = Logger.getLogger(ExportRequestConsumer.class);

    private final ExportRequestHandler handler;
    private final DeadLetterPublisher deadLetters;
    private final int maxBytes;

    public ExportRequestConsumer(ExportRequestHandler handler, DeadLetterPublisher deadLetters, GuardConfig config) {
        this.handler = handler;
        this.deadLetters = deadLetters;
        this.maxBytes = config.request().maxBytes();
    }

    @Incoming("export-requests")
    @Blocking
    public void consume(ConsumerRecord<String, byte[]> record) {
        RequestSource source = new RequestSource(record.topic(), record.partition(), record.offset());
        RequestEnvelope.Read read = RequestEnvelope.read(record.value(), record.headers(), maxBytes);
        String payload = RequestEnvelope.payloadText(record.value());
        // a record without a usable requestId is answered under its Kafka coordinates
        ResultEvent.Subject echo = read.echo().withRequestIdOr(source.fallbackRequestId());
        try {
            if (read.request() == null) {
                handler.handleInvalid(source, echo, read.violations(), payload);
                deadLetters.publish(record, echo.requestId(), ReasonCode.INVALID_REQUEST.name(),
                        String.join("; ", read.violations().stream().map(Violation::toString).toList()));
                return;
            }
            // the record's CreateTime or LogAppendTime; -1 when it has none
            handler.handle(source, read.request(), new Callers.Proof(record.value(), proofHeaders(record)), payload,
                    record.timestamp());
        } catch (RuntimeException e) {
            LOG.errorf(e, "request at %s could not be handled", source.coordinates());
            String detail = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            // an exception here is left to the channel's failure strategy, which dead-letters the record too
            handler.handleInternalError(source, echo, detail);
            deadLetters.publish(record, echo.requestId(), ReasonCode.INTERNAL_ERROR.name(), detail);
        }
    }

    /** The headers that can prove who sent a record (the last of each name). */
    private static Map<String, String> proofHeaders(ConsumerRecord<String, byte[]> record) {
        Map<String, String> proof = new HashMap<>();
        for (String name : List.of("authorization", Callers.CALLER_HEADER, Callers.SEAL_HEADER)) {
            Header header = record.headers().lastHeader(name);
            if (header != null && header.value() != null) {
                proof.put(name, new String(header.value(), StandardCharsets.UTF_8));
            }
        }
        return proof;
    }
}
