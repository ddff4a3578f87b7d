package dev.vmexportguard.service;

import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.cluster.AccessReview;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.decision.Violation;
import dev.vmexportguard.export.ExportJob;
import dev.vmexportguard.export.ExportJobs;
import dev.vmexportguard.export.ExportLifecycle;
import dev.vmexportguard.outbox.EventOutbox;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The decision path of one request: audit it, read the cluster, decide, and record the decision: a refusal
 * (published through the outbox) or an accepted export (a job, which the export lifecycle starts when a slot is
 * free). Nothing here waits for an export: the request is acknowledged once its decision is recorded.
 */
@ApplicationScoped
public class ExportRequestHandler {

    private final ClusterReader cluster;
    private final AccessReview access;
    private final GuardConfig.Authorization.Mode authorization;
    private final ExportJobs jobs;
    private final ExportLifecycle lifecycle;
    private final EventOutbox outbox;
    private final AuditLog audit;
    private final Clock clock;

    public ExportRequestHandler(ClusterReader cluster, AccessReview access, GuardConfig config, ExportJobs jobs,
                                ExportLifecycle lifecycle, EventOutbox outbox, AuditLog audit, Clock clock) {
        this.cluster = cluster;
        this.access = access;
        this.authorization = config.authorization().mode();
        this.jobs = jobs;
        this.lifecycle = lifecycle;
        this.outbox = outbox;
        this.audit = audit;
        this.clock = clock;
    }

    /** Answers a request that is not valid; {@code echo} is what could be read of it. */
    public void handleInvalid(RequestSource source, ResultEvent.Subject echo, List<Violation> violations,
                              String payload) {
        QuarkusTransaction.requiringNew().run(() -> {
            audit.append(received(source, echo, payload));
            refuse(echo, ReasonCode.INVALID_REQUEST, Messages.invalidRequest(violations), source);
        });
    }

    /** Answers a request that could not be handled at all; nothing was exported. */
    public void handleInternalError(RequestSource source, ResultEvent.Subject echo, String detail) {
        QuarkusTransaction.requiringNew().run(() ->
                refuse(echo, ReasonCode.INTERNAL_ERROR, Messages.internalError(detail), source));
    }

    public void handle(RequestSource source, ExportRequest request, String payload) {
        ResultEvent.Subject subject = ResultEvent.Subject.of(request);
        audit.append(received(source, subject, payload));

        Optional<ExportJob> known = jobs.find(request.requestId());
        if (known.isPresent()) {
            answerAgain(source, request, known.get());
            return;
        }
        Decision decision;
        Optional<AccessReview.Permission> denied;
        try {
            decision = ExportDecider.decide(request, cluster.read(request.namespace()), clock.instant());
            denied = authorization == GuardConfig.Authorization.Mode.NONE ? Optional.empty()
                    : access.firstDenied(request.requestedBy(), request.requestedByGroups(), permissions(request, decision));
        } catch (ClusterAccessException e) {
            inTransaction(() -> refuse(subject, e.reasonCode(), e.refusalMessage(), source));
            return;
        }
        if (denied.isPresent()) {
            // no evidence: the requester may not even see the volume
            inTransaction(() -> refuse(subject, ReasonCode.FORBIDDEN,
                    Messages.forbidden(request.requestedBy(), denied.get().toString()), source));
            return;
        }
        // an export of the volume running explains any other refusal (its image, its locked VM) best
        Optional<ExportJob> active = decision.volumeName() == null ? Optional.empty()
                : jobs.activeOn(request.namespace(), decision.volumeName());
        if (active.isPresent()) {
            refuseBusy(source, request, decision, active.get().requestId);
            return;
        }
        if (decision instanceof Decision.Rejected rejected) {
            inTransaction(() -> outbox.add(ResultEvent.rejected(request, rejected, source.coordinates(), clock.instant()),
                    source));
            return;
        }
        Decision.Approved approved = (Decision.Approved) decision;
        try {
            inTransaction(() -> jobs.accept(job(request, approved, source)));
        } catch (ExportJobs.VolumeBusyException e) {
            // another replica accepted one for the same volume a moment ago: the database refused this one
            refuseBusy(source, request, decision, jobs.activeOn(request.namespace(), approved.volumeName())
                    .map(j -> j.requestId).orElse("(ended meanwhile)"));
            return;
        }
        lifecycle.wake();
    }

    private void refuseBusy(RequestSource source, ExportRequest request, Decision decision, String runningRequest) {
        inTransaction(() -> outbox.add(ResultEvent.rejected(request, new Decision.Rejected(
                ReasonCode.EXPORT_IN_PROGRESS,
                Messages.exportInProgress(request.namespace(), decision.volumeName(), runningRequest),
                decision.observed(), decision.vmName(), decision.volumeName()), source.coordinates(),
                clock.instant()), source));
    }

    /**
     * What the guard would do for the requester, as Kubernetes permissions: read the volume and create an image; stop
     * and start its VMs, back them up, when the request asks for it. Before the volume is known, reading the VM.
     */
    static List<AccessReview.Permission> permissions(ExportRequest request, Decision decision) {
        String ns = request.namespace();
        List<AccessReview.Permission> needed = new ArrayList<>();
        if (decision.volumeName() == null) {
            if (request.vmName() != null) {
                needed.add(new AccessReview.Permission("get", "kubevirt.io", "virtualmachines", null, ns, request.vmName()));
            }
            return needed;
        }
        needed.add(new AccessReview.Permission("get", "", "persistentvolumeclaims", null, ns, decision.volumeName()));
        needed.add(new AccessReview.Permission("create", "harvesterhci.io", "virtualmachineimages", null, ns, null));
        List<String> vms = decision.observed() == null ? List.of()
                : decision.observed().vms().stream().map(Evidence.VmSeen::name).toList();
        for (String vm : vms) {
            if (request.onRunning() == ExportRequest.OnRunning.STOP) {
                needed.add(new AccessReview.Permission("update", "subresources.kubevirt.io", "virtualmachines", "stop", ns, vm));
            }
            if (request.restartAfter()) {
                needed.add(new AccessReview.Permission("update", "subresources.kubevirt.io", "virtualmachines", "start", ns, vm));
            }
        }
        if (request.backupFirst()) {
            needed.add(new AccessReview.Permission("create", "harvesterhci.io", "virtualmachinebackups", null, ns, null));
        }
        return needed;
    }

    /**
     * A request already accepted (a redelivery, or a producer's retry): no second export; its latest event is
     * published again, unchanged. The same requestId for another volume is refused.
     */
    private void answerAgain(RequestSource source, ExportRequest request, ExportJob job) {
        boolean sameExport = request.namespace().equals(job.namespace)
                && (request.volumeName() == null || request.volumeName().equals(job.volumeName))
                && (request.vmName() == null || request.vmName().equals(job.vmName));
        if (!sameExport) {
            inTransaction(() -> refuse(ResultEvent.Subject.of(request), ReasonCode.REQUEST_ID_CONFLICT,
                    Messages.requestIdConflict(request.requestId(), "volume " + job.namespace + "/" + job.volumeName),
                    source));
            return;
        }
        // before its first event is out, the outbox will publish it anyway
        audit.latestEvent(request.requestId()).ifPresent(latest -> inTransaction(() ->
                outbox.republish(latest.event, source)));
    }

    private void refuse(ResultEvent.Subject subject, ReasonCode reason, String message, RequestSource source) {
        outbox.add(ResultEvent.refusal(reason, message, source.coordinates()).build(subject, clock.instant()), source);
    }

    private ExportJob job(ExportRequest request, Decision.Approved approved, RequestSource source) {
        // the display name is fixed now: a queued export checked again later keeps it
        return ExportJob.accepted(request.resolved(approved.volumeName(), approved.plan().displayName()),
                approved.vmName(), source, clock.instant());
    }

    private static void inTransaction(Runnable work) {
        QuarkusTransaction.requiringNew().run(work);
    }

    private AuditEntry received(RequestSource source, ResultEvent.Subject subject, String payload) {
        AuditEntry entry = new AuditEntry();
        entry.requestId = subject.requestId();
        entry.entryType = AuditEntry.RECEIVED;
        entry.requestedBy = subject.requestedBy();
        entry.namespace = subject.namespace();
        entry.vmName = subject.vmName();
        entry.volumeName = subject.volumeName();
        entry.replyTo = subject.replyTo();
        entry.payload = payload;
        entry.source = source;
        entry.occurredAt = clock.instant();
        return entry;
    }
}
