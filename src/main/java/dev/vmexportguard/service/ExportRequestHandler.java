package dev.vmexportguard.service;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.ImageExporter;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.decision.Violation;
import dev.vmexportguard.messaging.ResultPublisher;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The decision path of one request: audit it, read the cluster, decide, start the export or refuse, publish the
 * outcome and audit it. Each outcome is published before it is audited, so an audit row means the event is out.
 */
@ApplicationScoped
public class ExportRequestHandler {
    private static final Logger LOG = Logger.getLogger(ExportRequestHandler.class);
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {
    };

    private final ClusterReader cluster;
    private final ImageExporter exporter;
    private final ResultPublisher publisher;
    private final AuditLog audit;
    private final ObjectMapper json;
    private final Clock clock;

    public ExportRequestHandler(ClusterReader cluster, ImageExporter exporter, ResultPublisher publisher,
                                AuditLog audit, ObjectMapper json, Clock clock) {
        this.cluster = cluster;
        this.exporter = exporter;
        this.publisher = publisher;
        this.audit = audit;
        this.json = json;
        this.clock = clock;
    }

    /** What could be read of a request that is not valid, so that its answer still reaches the asker. */
    public record Partial(String requestId, String requestedBy, String namespace, String vmName, String volumeName,
                          String replyTo) {
    }

    public void handleInvalid(RequestSource source, Partial partial, List<Violation> violations, String payload) {
        auditReceived(source, partial, payload);
        emit(ResultEvent.refused(partial.requestId(), ReasonCode.INVALID_REQUEST, Messages.invalidRequest(violations),
                partial.namespace(), partial.vmName(), partial.volumeName(), partial.requestedBy(), partial.replyTo(),
                null, source.coordinates(), clock.instant()), source);
    }

    /** Answers a request that could not be handled at all; nothing was exported. */
    public void handleInternalError(RequestSource source, Partial partial, String detail) {
        emit(ResultEvent.refused(partial.requestId(), ReasonCode.INTERNAL_ERROR, Messages.internalError(detail),
                partial.namespace(), partial.vmName(), partial.volumeName(), partial.requestedBy(), partial.replyTo(),
                null, source.coordinates(), clock.instant()), source);
    }

    public void handle(RequestSource source, ExportRequest request, String payload) {
        auditReceived(source, partialOf(request), payload);

        Optional<AuditEntry> started = audit.firstEvent(request.requestId(), EventType.STARTED.name());
        if (started.isPresent()) {
            answerAgain(source, request, started.get());
            return;
        }

        ClusterSnapshot snapshot;
        try {
            snapshot = cluster.read(request.namespace());
        } catch (ClusterAccessException e) {
            refuse(source, request, e);
            return;
        }
        Decision decision = ExportDecider.decide(request, snapshot, clock.instant());
        if (decision instanceof Decision.Rejected rejected) {
            emit(ResultEvent.rejected(request, rejected, source.coordinates(), clock.instant()), source);
            return;
        }
        Decision.Approved approved = (Decision.Approved) decision;
        if (!approved.existing()) {
            try {
                ImageExporter.Outcome outcome = exporter.create(approved.plan());
                LOG.infof("request %s: image %s/%s %s", request.requestId(), approved.plan().namespace(),
                        approved.plan().name(), outcome == ImageExporter.Outcome.CREATED ? "created" : "adopted");
            } catch (ImageExporter.NameTakenException e) {
                emit(ResultEvent.rejected(request, new Decision.Rejected(ReasonCode.IMAGE_NAME_TAKEN,
                        Messages.imageNameTaken(request.namespace(), approved.plan().displayName(), e.getMessage()),
                        approved.observed(), approved.vmName(), approved.volumeName()), source.coordinates(),
                        clock.instant()), source);
                return;
            } catch (ClusterAccessException e) {
                refuse(source, request, e, approved);
                return;
            }
        }
        emit(ResultEvent.started(request, approved, clock.instant()), source);
    }

    /** A request that already started its export: the same STARTED event again, or a refusal if it asks for another. */
    private void answerAgain(RequestSource source, ExportRequest request, AuditEntry started) {
        boolean sameExport = request.namespace().equals(started.namespace)
                && (request.volumeName() == null || request.volumeName().equals(started.volumeName))
                && (request.vmName() == null || request.vmName().equals(started.vmName));
        if (!sameExport) {
            emit(ResultEvent.refused(request.requestId(), ReasonCode.REQUEST_ID_CONFLICT,
                    Messages.requestIdConflict(request.requestId(), "volume " + started.namespace + "/" + started.volumeName),
                    request.namespace(), request.vmName(), request.volumeName(), request.requestedBy(),
                    request.replyTo(), null, source.coordinates(), clock.instant()), source);
            return;
        }
        Map<String, Object> observed = started.observed;
        emit(new ResultEvent(started.eventId, request.requestId(), EventType.STARTED, null, started.message,
                started.namespace, started.vmName, started.volumeName, started.requestedBy, request.replyTo(),
                observed == null ? null : json.convertValue(observed, Evidence.class),
                new ResultEvent.ImageRef(started.imageNamespace, started.imageName, started.imageDisplayName),
                clock.instant()), source);
    }

    private void refuse(RequestSource source, ExportRequest request, ClusterAccessException e) {
        refuse(source, request, e, null);
    }

    private void refuse(RequestSource source, ExportRequest request, ClusterAccessException e, Decision.Approved approved) {
        ReasonCode reason;
        String message;
        switch (e.kind()) {
            case FORBIDDEN -> {
                reason = ReasonCode.GUARD_NOT_AUTHORIZED;
                message = Messages.guardNotAuthorized(e.operation().verb(), e.operation().resource(),
                        e.operation().namespace());
            }
            case UNAVAILABLE -> {
                reason = ReasonCode.CLUSTER_UNAVAILABLE;
                message = Messages.clusterUnavailable(e.getMessage());
            }
            default -> {
                // an answer the guard cannot act on: to a create, Harvester refused the image; to a read, the
                // state is unknown
                boolean create = "create".equals(e.operation().verb());
                reason = create ? ReasonCode.IMAGE_CREATE_FAILED : ReasonCode.CLUSTER_UNAVAILABLE;
                message = create ? Messages.imageCreateFailed(e.getMessage())
                        : Messages.clusterUnavailable(e.operation() + " answered " + e.getMessage());
            }
        }
        LOG.warnf("request %s refused, %s: %s", request.requestId(), reason, e.getMessage());
        emit(ResultEvent.refused(request.requestId(), reason, message, request.namespace(),
                approved == null ? request.vmName() : approved.vmName(),
                approved == null ? request.volumeName() : approved.volumeName(),
                request.requestedBy(), request.replyTo(), approved == null ? null : approved.observed(),
                source.coordinates(), clock.instant()), source);
    }

    private void emit(ResultEvent event, RequestSource source) {
        publisher.publish(event);
        AuditEntry entry = new AuditEntry();
        entry.requestId = event.requestId();
        entry.entryType = event.type().name();
        entry.eventId = event.eventId();
        entry.reason = event.reason() == null ? null : event.reason().name();
        entry.message = event.message();
        entry.requestedBy = event.requestedBy();
        entry.namespace = event.namespace();
        entry.vmName = event.vmName();
        entry.volumeName = event.volumeName();
        if (event.image() != null) {
            entry.imageNamespace = event.image().namespace();
            entry.imageName = event.image().name();
            entry.imageDisplayName = event.image().displayName();
        }
        entry.replyTo = event.replyTo();
        entry.observed = event.observed() == null ? null : json.convertValue(event.observed(), MAP);
        setSource(entry, source);
        entry.occurredAt = event.occurredAt();
        audit.append(entry);
    }

    private void auditReceived(RequestSource source, Partial partial, String payload) {
        AuditEntry entry = new AuditEntry();
        entry.requestId = partial.requestId();
        entry.entryType = AuditEntry.RECEIVED;
        entry.requestedBy = partial.requestedBy();
        entry.namespace = partial.namespace();
        entry.vmName = partial.vmName();
        entry.volumeName = partial.volumeName();
        entry.replyTo = partial.replyTo();
        entry.payload = payload;
        setSource(entry, source);
        entry.occurredAt = clock.instant();
        audit.append(entry);
    }

    private static void setSource(AuditEntry entry, RequestSource source) {
        entry.sourceTopic = source.topic();
        entry.sourcePartition = source.partition();
        entry.sourceOffset = source.offset();
    }

    private static Partial partialOf(ExportRequest request) {
        return new Partial(request.requestId(), request.requestedBy(), request.namespace(), request.vmName(),
                request.volumeName(), request.replyTo());
    }
}
