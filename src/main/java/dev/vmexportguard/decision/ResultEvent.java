package dev.vmexportguard.decision;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

/** The event published on the result topic for every outcome (contract v1). */
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
        Instant occurredAt) {

    public record ImageRef(String namespace, String name, String displayName) {
    }

    /**
     * The same event replayed gets the same id. {@code discriminator} separates events of one type for one request:
     * the Kafka coordinates of the record for a refusal (each record sent gets its own answer), the image name for
     * the start of an export (there is one per request).
     */
    public static String eventId(String requestId, EventType type, String discriminator) {
        return UUID.nameUUIDFromBytes((requestId + "\n" + type + "\n" + discriminator).getBytes(StandardCharsets.UTF_8))
                .toString();
    }

    public static ResultEvent rejected(ExportRequest request, Decision.Rejected decision, String sourceCoordinates,
                                       Instant now) {
        return new ResultEvent(eventId(request.requestId(), EventType.REJECTED, sourceCoordinates),
                request.requestId(), EventType.REJECTED, decision.reason(), decision.message(), request.namespace(),
                decision.vmName(), decision.volumeName(), request.requestedBy(), request.replyTo(),
                decision.observed(), null, now);
    }

    public static ResultEvent started(ExportRequest request, Decision.Approved decision, Instant now) {
        ImagePlan plan = decision.plan();
        return new ResultEvent(eventId(request.requestId(), EventType.STARTED, plan.name()), request.requestId(),
                EventType.STARTED, null, Messages.started(plan, decision.volumeName()), request.namespace(),
                decision.vmName(), decision.volumeName(), request.requestedBy(), request.replyTo(),
                decision.observed(), new ImageRef(plan.namespace(), plan.name(), plan.displayName()), now);
    }

    /** A refusal before any cluster state was read (invalid input, cluster unreachable, ...). */
    public static ResultEvent refused(String requestId, ReasonCode reason, String message, String namespace,
                                      String vmName, String volumeName, String requestedBy, String replyTo,
                                      Evidence observed, String sourceCoordinates, Instant now) {
        return new ResultEvent(eventId(requestId, EventType.REJECTED, sourceCoordinates), requestId,
                EventType.REJECTED, reason, message, namespace, vmName, volumeName, requestedBy, replyTo, observed,
                null, now);
    }
}
