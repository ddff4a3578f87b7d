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

    /** Who asked for what: the fields every event of a request repeats. */
    public record Subject(String requestId, String namespace, String vmName, String volumeName, String requestedBy,
                          String replyTo) {
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

    public static ResultEvent of(Subject subject, EventType type, ReasonCode reason, String message, Evidence observed,
                                 ImageRef image, Integer queuePosition, String discriminator, Instant now) {
        return new ResultEvent(eventId(subject.requestId(), type, discriminator), subject.requestId(), type, reason,
                message, subject.namespace(), subject.vmName(), subject.volumeName(), subject.requestedBy(),
                subject.replyTo(), observed, image, queuePosition, now);
    }

    public static ResultEvent rejected(ExportRequest request, Decision.Rejected decision, String sourceCoordinates,
                                       Instant now) {
        return of(new Subject(request.requestId(), request.namespace(), decision.vmName(), decision.volumeName(),
                        request.requestedBy(), request.replyTo()),
                EventType.REJECTED, decision.reason(), decision.message(), decision.observed(), null, null,
                sourceCoordinates, now);
    }

    /** A refusal before any cluster state was read (invalid input, cluster unreachable, ...). */
    public static ResultEvent refused(String requestId, ReasonCode reason, String message, String namespace,
                                      String vmName, String volumeName, String requestedBy, String replyTo,
                                      Evidence observed, String sourceCoordinates, Instant now) {
        return of(new Subject(requestId, namespace, vmName, volumeName, requestedBy, replyTo), EventType.REJECTED,
                reason, message, observed, null, null, sourceCoordinates, now);
    }
}
