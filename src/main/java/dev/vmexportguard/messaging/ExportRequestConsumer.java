package dev.vmexportguard.messaging;

import dev.vmexportguard.audit.DatabaseOutage;
import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.config.TraceContext;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.decision.Violation;
import dev.vmexportguard.service.Callers;
import dev.vmexportguard.service.ExportRequestHandler;
import dev.vmexportguard.concurrent.KeyedTasks;
import dev.vmexportguard.decision.ExportRequest;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.reactive.messaging.Acknowledgment;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

/**
 * Reads export requests from Kafka and answers every record: a request that cannot be read or is not valid is
 * answered with INVALID_REQUEST and copied to the dead-letter topic, and the consumer goes on; the record is
 * acknowledged once its decision (or its answer) is recorded. A database that does not answer is waited for, never a
 * reason to acknowledge or dead-letter a record.
 * <p>
 * Requests are decided {@code guard.request.concurrency} at a time, on threads of their own ({@link KeyedTasks}):
 * requests that name the same volume, the same VM or the same requestId in a namespace one after another, in the
 * order of the topic; namespaces take turns, so one whose API reads are slow does not hold the others back. Records
 * are acknowledged as their requests end, in any order: the connector commits a partition's offset only up to its
 * oldest record not yet acknowledged. At most {@code guard.request.max-in-flight} records are held; beyond, the
 * next record is not taken until one ends, and the connector pauses the partitions.
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
    private final KeyedTasks deciders;

    public ExportRequestConsumer(ExportRequestHandler handler, RequestConsumerHealth health,
                                 DeadLetterPublisher deadLetters, GuardConfig config) {
        this.handler = handler;
        this.health = health;
        this.deadLetters = deadLetters;
        this.maxBytes = config.request().maxBytes();
        this.deciders = new KeyedTasks("guard-request", config.request().concurrency(), config.request().maxInFlight());
    }

    @PreDestroy
    void stop() {
        // records not yet answered are not acknowledged: they are served again after the restart
        deciders.close(Duration.ofSeconds(10));
    }

    /**
     * Takes a record in: the answer completes once it is held (at once while fewer than max-in-flight are), not
     * when it is served; the record is acknowledged when it is served, or failed when serving it failed in a way
     * the guard did not expect (the channel then stops: failure-strategy=fail).
     */
    @Incoming("export-requests")
    @Acknowledgment(Acknowledgment.Strategy.MANUAL)
    public CompletionStage<Void> consume(Message<byte[]> message) {
        @SuppressWarnings("unchecked")
        ConsumerRecord<String, byte[]> record = message.getMetadata(IncomingKafkaRecordMetadata.class)
                .map(m -> (ConsumerRecord<String, byte[]>) m.getRecord())
                .orElseThrow(() -> new IllegalStateException("a request without its Kafka record"));
        RequestSource source = new RequestSource(record.topic(), record.partition(), record.offset());
        RequestEnvelope.Read read = RequestEnvelope.read(record.value(), record.headers(), maxBytes);
        // a record without a usable requestId is answered under its Kafka coordinates
        ResultEvent.Subject echo = read.echo().withRequestIdOr(source.fallbackRequestId());
        health.taken();
        return deciders.submit(echo.namespace() == null ? "" : echo.namespace(), orderKeys(read.request(), echo),
                () -> {
                    // every line logged while the request is decided names it
                    MDC.put("requestId", echo.requestId());
                    if (echo.namespace() != null) {
                        MDC.put("namespace", echo.namespace());
                    }
                    if (echo.volumeName() != null) {
                        MDC.put("volume", echo.volumeName());
                    }
                    TraceContext.set(TraceContext.of(echo.requestId(), header(record, "traceparent"),
                            header(record, "tracestate")));
                    try {
                        serve(record, source, read, echo);
                        health.ended();
                        message.ack();
                    } catch (RuntimeException | Error e) {
                        health.ended();
                        LOG.errorf(e, "request at %s could not be served; the channel stops", source.coordinates());
                        message.nack(e);
                    } finally {
                        TraceContext.clear();
                        MDC.remove("requestId");
                        MDC.remove("namespace");
                        MDC.remove("volume");
                    }
                });
    }

    /**
     * What a request is decided in order with: every other request naming the same volume, or the same VM, in its
     * namespace, or with the same requestId. Which volume a request naming only its VM is for is known only once the
     * cluster is read, so such a request and one naming only the volume are not ordered (the database still lets
     * only one export of a volume be active: the later one is refused EXPORT_IN_PROGRESS).
     */
    static Set<String> orderKeys(ExportRequest request, ResultEvent.Subject echo) {
        Set<String> keys = new HashSet<>();
        keys.add("request:" + echo.requestId());
        if (request != null) {
            if (request.volumeName() != null) {
                keys.add("volume:" + request.namespace() + "/" + request.volumeName());
            }
            if (request.vmName() != null) {
                keys.add("vm:" + request.namespace() + "/" + request.vmName());
            }
        }
        return keys;
    }

    private void serve(ConsumerRecord<String, byte[]> record, RequestSource source, RequestEnvelope.Read read,
                       ResultEvent.Subject echo) {
        String payload = RequestEnvelope.payloadText(record.value());
        if (read.request() == null) {
            untilServed(source, () -> handler.handleInvalid(source, echo, read.violations(), payload));
            untilServed(source, () -> deadLetters.publish(record, echo.requestId(), ReasonCode.INVALID_REQUEST.name(),
                    String.join("; ", read.violations().stream().map(Violation::toString).toList())));
            return;
        }
        String failure = untilServed(source, () -> {
            try {
                // the record's CreateTime or LogAppendTime; -1 when it has none
                ExportRequestHandler.Outcome outcome = handler.handle(source, read.request(),
                        new Callers.Proof(record.value(), proofHeaders(record)), payload, record.timestamp());
                health.clusterAnswered(outcome == ExportRequestHandler.Outcome.ANSWERED, source.coordinates());
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
                health.serving(source.coordinates());
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

    /** The last header of the name, as text; null when there is none. */
    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
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
