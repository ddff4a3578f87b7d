package dev.vmexportguard.messaging;

import dev.vmexportguard.audit.DatabaseOutage;
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
import java.time.Duration;
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
 * on; the record is acknowledged once its decision (or its answer) is recorded. A database that does not answer is
 * waited for, never a reason to acknowledge or dead-letter a record.
 */
@ApplicationScoped
public class ExportRequestConsumer {
    private static final Logger LOG = Logger.getLogger(ExportRequestConsumer.class);

    private static final Duration FIRST_PAUSE = Duration.ofMillis(200);
    private static final Duration LONGEST_PAUSE = Duration.ofSeconds(5);

    private final ExportRequestHandler handler;
    private final RequestConsumerHealth health;
    private final DeadLetterPublisher deadLetters;
    private final int maxBytes;

    public ExportRequestConsumer(ExportRequestHandler handler, RequestConsumerHealth health,
                                 DeadLetterPublisher deadLetters, GuardConfig config) {
        this.handler = handler;
        this.health = health;
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
        if (read.request() == null) {
            untilServed(source, () -> handler.handleInvalid(source, echo, read.violations(), payload));
            untilServed(source, () -> deadLetters.publish(record, echo.requestId(), ReasonCode.INVALID_REQUEST.name(),
                    String.join("; ", read.violations().stream().map(Violation::toString).toList())));
            return;
        }
        String failure = untilServed(source, () -> {
            try {
                // the record's CreateTime or LogAppendTime; -1 when it has none
                handler.handle(source, read.request(), new Callers.Proof(record.value(), proofHeaders(record)), payload,
                        record.timestamp());
                return null;
            } catch (RuntimeException e) {
                if (DatabaseOutage.isCause(e)) {
                    throw e;
                }
                LOG.errorf(e, "request at %s could not be handled", source.coordinates());
                return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            }
        });
        if (failure != null) {
            untilServed(source, () -> handler.handleInternalError(source, echo, failure));
            untilServed(source, () -> deadLetters.publish(record, echo.requestId(), ReasonCode.INTERNAL_ERROR.name(),
                    failure));
        }
    }

    private void untilServed(RequestSource source, Runnable step) {
        untilServed(source, () -> {
            step.run();
            return null;
        });
    }

    /**
     * Runs a step of serving a record until it is done: while the database does not answer (or the broker, for the
     * dead-letter copy), the record is neither acknowledged nor dead-lettered; the consumer waits, with growing
     * pauses, and goes on where it was once it answers. Readiness says so meanwhile.
     */
    private <T> T untilServed(RequestSource source, java.util.function.Supplier<T> step) {
        Duration pause = FIRST_PAUSE;
        while (true) {
            try {
                T result = step.get();
                health.serving();
                return result;
            } catch (RuntimeException e) {
                if (!DatabaseOutage.isCause(e) && !(e instanceof DeadLetterPublisher.NotPublished)) {
                    throw e;
                }
                String cause = e.getClass().getSimpleName() + ": " + e.getMessage();
                health.waitingFor(source.coordinates(), cause);
                LOG.warnf("request at %s waits: %s; trying again in %d ms", source.coordinates(), cause, pause.toMillis());
                try {
                    Thread.sleep(pause.toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("stopped while waiting to serve " + source.coordinates(), interrupted);
                }
                pause = pause.multipliedBy(2).compareTo(LONGEST_PAUSE) > 0 ? LONGEST_PAUSE : pause.multipliedBy(2);
            }
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
