package dev.vmexportguard.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.RequestValidator;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.decision.Violation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Takes the request JSON out of a Kafka record: a plain JSON object, the data of a CloudEvent in binary mode
 * ({@code ce_*} headers) or in structured mode ({@code application/cloudevents+json}). Never throws: what cannot
 * be read becomes a violation.
 */
final class RequestEnvelope {
    /** Request JSON is parsed strictly: one value, nothing after it, no duplicate keys. */
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final int MAX_PAYLOAD_KEPT = 64 * 1024;

    enum Format { JSON, CLOUDEVENT_BINARY, CLOUDEVENT_STRUCTURED }

    /** The request JSON (maps, lists, strings, numbers, booleans), or why there is none. */
    record Unwrapped(Object json, List<Violation> violations, Format format) {
        boolean readable() {
            return violations.isEmpty();
        }
    }

    /**
     * A record read as a request, in one parse: the request or every violation, and what an answer can echo of it
     * (nothing when it was not a readable JSON object).
     */
    record Read(RequestValidator.Result validation, List<Violation> violations) {
        ExportRequest request() {
            return validation == null ? null : validation.request();
        }

        ResultEvent.Subject echo() {
            return validation == null ? ResultEvent.Subject.NONE : validation.echo();
        }
    }

    private RequestEnvelope() {
    }

    /** Unwraps and validates: the one way a record, from Kafka or HTTP, becomes a request. */
    static Read read(byte[] value, Headers headers, int maxBytes) {
        Unwrapped unwrapped = unwrap(value, headers, maxBytes);
        if (!unwrapped.readable()) {
            return new Read(null, unwrapped.violations());
        }
        RequestValidator.Result validation = RequestValidator.validate(unwrapped.json());
        return new Read(validation, validation.violations());
    }

    static Unwrapped unwrap(byte[] value, Headers headers, int maxBytes) {
        Format format = header(headers, "ce_specversion") != null ? Format.CLOUDEVENT_BINARY
                : isStructuredCloudEvent(headers) ? Format.CLOUDEVENT_STRUCTURED : Format.JSON;
        if (value == null || value.length == 0) {
            return failed(format, new Violation("$", "the record has no value"));
        }
        if (value.length > maxBytes) {
            return failed(format, new Violation("$", "the record is " + value.length + " bytes; at most " + maxBytes
                    + " are accepted"));
        }
        Object parsed;
        try {
            parsed = STRICT.readValue(value, Object.class);
        } catch (IOException e) {
            return failed(format, new Violation("$", "not valid JSON: " + jsonProblem(e)));
        }
        if (format != Format.CLOUDEVENT_STRUCTURED) {
            return new Unwrapped(parsed, List.of(), format);
        }
        if (!(parsed instanceof Map<?, ?> envelope)) {
            return failed(format, new Violation("$", "a structured CloudEvent must be a JSON object"));
        }
        if (envelope.get("data") != null) {
            Object data = envelope.get("data");
            if (data instanceof String text) {
                try {
                    data = STRICT.readValue(text, Object.class);
                } catch (IOException e) {
                    return failed(format, new Violation("data", "not valid JSON: " + jsonProblem(e)));
                }
            }
            return new Unwrapped(data, List.of(), format);
        }
        if (envelope.get("data_base64") instanceof String base64) {
            try {
                return new Unwrapped(STRICT.readValue(Base64.getDecoder().decode(base64), Object.class), List.of(), format);
            } catch (IllegalArgumentException e) {
                return failed(format, new Violation("data_base64", "not valid base64"));
            } catch (IOException e) {
                return failed(format, new Violation("data_base64", "not valid JSON: " + jsonProblem(e)));
            }
        }
        return failed(format, new Violation("data", "the CloudEvent carries no data"));
    }

    /** The record's value as text for the audit, cut at 64 KiB. */
    static String payloadText(byte[] value) {
        if (value == null) {
            return null;
        }
        int length = Math.min(value.length, MAX_PAYLOAD_KEPT);
        return new String(value, 0, length, StandardCharsets.UTF_8).replace('\u0000', '\uFFFD');
    }

    private static boolean isStructuredCloudEvent(Headers headers) {
        String contentType = header(headers, "content-type");
        return contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("application/cloudevents+json");
    }

    private static String header(Headers headers, String key) {
        Header header = headers == null ? null : headers.lastHeader(key);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static Unwrapped failed(Format format, Violation violation) {
        return new Unwrapped(null, List.of(violation), format);
    }

    private static String jsonProblem(IOException e) {
        String message = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        if (message == null) {
            return e.getClass().getSimpleName();
        }
        message = visible(message.lines().findFirst().orElse(message));
        return message.length() > 200 ? message.substring(0, 197) + "..." : message;
    }

    /**
     * The parser's message can quote the record (a token, a field name): its control characters are written as
     * JSON escapes (a backslash, {@code u}, four hex digits), so that the answer and the audit never carry one
     * (PostgreSQL refuses U+0000 in text).
     */
    static String visible(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            if (c < 0x20 || c == 0x7F) {
                out.append(String.format(Locale.ROOT, "\\u%04X", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
