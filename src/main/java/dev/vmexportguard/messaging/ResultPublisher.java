package dev.vmexportguard.messaging;

import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.config.GuardConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.outbox.ResultChannel;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionStage;
import java.time.format.DateTimeFormatter;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Publishes result events to the result topic, keyed by requestId, as CloudEvents in binary mode; each publication
 * completes when the broker has it. The CloudEvents source is {@code guard.events.source}, followed by {@code /admission} for the
 * answers of the admission webhook (exports started outside the guard).
 */
@ApplicationScoped
public class ResultPublisher implements ResultChannel {
    /** The result event's schema; its name carries the contract's version. */
    public static final String SCHEMA = "export-result-v1.json";

    private final MutinyEmitter<String> results;
    private final GuardConfig.Events config;
    private final ObjectMapper json;

    public ResultPublisher(@Channel("export-results") MutinyEmitter<String> results, GuardConfig config,
                           ObjectMapper json) {
        this.results = results;
        this.config = config.events();
        this.json = json;
    }

    @Override
    public CompletionStage<String> publish(ResultEvent event, RequestSource source, String traceparent,
                                           String tracestate) {
        String value;
        Message<String> message;
        try {
            value = json.writeValueAsString(event);
            message = record(event, value, source, traceparent, tracestate);
        } catch (JsonProcessingException | RuntimeException e) {
            throw new Unpublishable("result event " + event.eventId() + " cannot be written as a record: " + e, e);
        }
        // the connector sends in the order handed over; the idempotent producer keeps it on the partition
        return results.sendMessage(message).subscribeAsCompletionStage().thenApply(ignored -> value);
    }

    private Message<String> record(ResultEvent event, String value, RequestSource source, String traceparent,
                                   String tracestate) {
        RecordHeaders headers = new RecordHeaders();
        header(headers, "ce_specversion", "1.0");
        header(headers, "ce_id", event.eventId());
        header(headers, "ce_source", source(source));
        header(headers, "ce_type", config.typePrefix() + "." + event.type().cloudEventSuffix());
        header(headers, "ce_subject", subject(event));
        header(headers, "ce_time", DateTimeFormatter.ISO_INSTANT.format(event.occurredAt()));
        header(headers, "ce_dataschema", dataschema(config.dataschemaBase()));
        header(headers, "content-type", "application/json");
        if (traceparent != null) {
            header(headers, "traceparent", traceparent);
            if (tracestate != null) {
                header(headers, "tracestate", tracestate);
            }
        }
        OutgoingKafkaRecordMetadata<String> metadata = OutgoingKafkaRecordMetadata.<String>builder()
                .withKey(event.requestId())
                .withHeaders(headers)
                .build();
        return Message.of(value).addMetadata(metadata);
    }

    /** The CloudEvents source of an answer to a request from {@code source}. */
    private String source(RequestSource source) {
        return source != null && source.isAdmission() ? config.source() + "/" + RequestSource.ADMISSION
                : config.source();
    }

    /** {@code namespace/vmName}; {@code namespace/volumeName} when no VM is known. */
    static String subject(ResultEvent event) {
        String ns = event.namespace() == null ? "" : event.namespace();
        if (event.vmName() != null) {
            return ns + "/" + event.vmName();
        }
        return event.volumeName() != null ? ns + "/" + event.volumeName() : ns;
    }

    /** The schema's URI under {@code base}, with or without its closing slash. */
    static String dataschema(String base) {
        return (base.endsWith("/") ? base : base + "/") + SCHEMA;
    }

    private static void header(RecordHeaders headers, String key, String value) {
        headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    }
}
