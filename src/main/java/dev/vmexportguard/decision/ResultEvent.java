package dev.vmexportguard.decision;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

/** The event published on the result topic for every outcome and every step of an export (contract v1). */
public record ResultEvent(
        String eventId,
        String requestId,
        EventType type,
        ReasonCode reason,
        String message,
        String namespace,
        String vmName,
        String volumeName,
        String requestedBy,
        String caller,
        String replyTo,
        Evidence observed,
        ImageRef image,
        Integer queuePosition,
        Instant occurredAt) {

    /** The export image; progress and sizes once Harvester reports them. */
    public record ImageRef(String namespace, String name, String displayName, Integer progress, Long size,
                           Long virtualSize, String storageClassName) {
        public static ImageRef of(String namespace, String name, String displayName) {
            return new ImageRef(namespace, name, displayName, null, null, null, null);
        }
    }

    /**
     * Who asked for what: the fields every event of a request repeats. {@code requestedBy} is the person the request
     * is for, {@code caller} the authenticated identity that sent it (a bot acting for them; null when nothing
     * proved who sent it). For a request that is not valid, what could be read of it (each field null when absent or
     * unusable), so that its answer still reaches the asker.
     */
    public record Subject(String requestId, String namespace, String vmName, String volumeName, String requestedBy,
                          String replyTo, String caller) {
        /** Nothing known: a record that held no readable request. */
        public static final Subject NONE = new Subject(null, null, null, null, null, null, null);

        public static Subject of(ExportRequest request, String caller) {
            return new Subject(request.requestId(), request.namespace(), request.vmName(), request.volumeName(),
                    request.requestedBy(), request.replyTo(), caller);
        }

        /** The same subject, naming the VM and volume a decision resolved (when it resolved them). */
        public Subject resolved(String vm, String volume) {
            return new Subject(requestId, namespace, vm, volume, requestedBy, replyTo, caller);
        }

        /** The same subject with {@code fallback} as requestId when the request had no usable one. */
        public Subject withRequestIdOr(String fallback) {
            return requestId != null ? this
                    : new Subject(fallback, namespace, vmName, volumeName, requestedBy, replyTo, caller);
        }

        /** The same subject, sent by {@code authenticated}. */
        public Subject withCaller(String authenticated) {
            return new Subject(requestId, namespace, vmName, volumeName, requestedBy, replyTo, authenticated);
        }
    }

    /**
     * The same event replayed gets the same id. {@code discriminator} separates events of one type for one request:
     * the Kafka coordinates of the record for a refusal (each record sent gets its own answer), the image name for
     * the start, the step for progress; a request has one final outcome.
     */
    public static String eventId(String requestId, EventType type, String discriminator) {
        return UUID.nameUUIDFromBytes((requestId + "\n" + type + "\n" + discriminator).getBytes(StandardCharsets.UTF_8))
                .toString();
    }

    /** Starts an event of {@code type}; its id derives from the request, the type and {@code discriminator}. */
    public static Builder of(EventType type, String discriminator) {
        return new Builder(type, discriminator);
    }

    /** A refusal of the request a decision rejected; its id derives from the request's Kafka record. */
    public static ResultEvent rejected(Subject subject, Decision.Rejected decision, String sourceCoordinates,
                                       Instant now) {
        return refusal(decision.reason(), decision.message(), sourceCoordinates).observed(decision.observed())
                .build(subject.resolved(decision.vmName(), decision.volumeName()), now);
    }

    /** A refusal before, or without, a decision (invalid input, cluster unreachable, ...). */
    public static Builder refusal(ReasonCode reason, String message, String sourceCoordinates) {
        return of(EventType.REJECTED, sourceCoordinates).reason(reason).message(message);
    }

    /** An event under construction: the parts that vary; the subject and the time come last. */
    public static final class Builder {
        private final EventType type;
        private String discriminator;
        private ReasonCode reason;
        private String message;
        private Evidence observed;
        private ImageRef image;
        private Integer queuePosition;

        private Builder(EventType type, String discriminator) {
            this.type = type;
            this.discriminator = discriminator;
        }

        public EventType type() {
            return type;
        }

        public ReasonCode reason() {
            return reason;
        }

        public Builder reason(ReasonCode value) {
            this.reason = value;
            return this;
        }

        public Builder message(String value) {
            this.message = value;
            return this;
        }

        public Builder observed(Evidence value) {
            this.observed = value;
            return this;
        }

        public Builder image(ImageRef value) {
            this.image = value;
            return this;
        }

        public Builder queuePosition(Integer value) {
            this.queuePosition = value;
            return this;
        }

        /** Replaces the discriminator the id derives from. */
        public Builder id(String value) {
            this.discriminator = value;
            return this;
        }

        public ResultEvent build(Subject subject, Instant now) {
            return new ResultEvent(eventId(subject.requestId(), type, discriminator), subject.requestId(), type, reason,
                    message, subject.namespace(), subject.vmName(), subject.volumeName(), subject.requestedBy(),
                    subject.caller(), subject.replyTo(), observed, image, queuePosition, now);
        }
    }
}
