package dev.vmexportguard.service;

import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterCalls;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.RequestExpiry;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.decision.Violation;
import dev.vmexportguard.export.ExportJob;
import dev.vmexportguard.export.ExportJobs;
import dev.vmexportguard.export.ExportLifecycle;
import dev.vmexportguard.export.Rights;
import dev.vmexportguard.outbox.EventOutbox;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The decision path of one request: audit it, read the cluster, decide, and record the decision: a refusal
 * (published through the outbox) or an accepted export (a job, which the export lifecycle starts when a slot is
 * free). Nothing here waits for an export: the request is acknowledged once its decision is recorded. The API calls
 * made to decide one request share a deadline ({@code guard.request.decision-timeout}): once it is spent, the request
 * is refused CLUSTER_UNAVAILABLE. Safe to call from several threads at once.
 */
@ApplicationScoped
public class ExportRequestHandler {

    /** How a request was answered, as far as the health of the guard is concerned. */
    public enum Outcome {
        /** Decided, or refused for a reason of its own. */
        ANSWERED,
        /** Refused CLUSTER_UNAVAILABLE: the API server did not answer, or not within the deadline. */
        CLUSTER_UNAVAILABLE
    }

    private final ClusterReader cluster;
    private final ClusterCalls calls;
    private final Callers callers;
    private final Rights rights;
    private final ExportJobs jobs;
    private final ExportLifecycle lifecycle;
    private final EventOutbox outbox;
    private final AuditLog audit;
    private final Clock clock;
    private final Duration maxAge;
    private final Duration decisionTimeout;
    private final MeterRegistry registry;
    private final Timer decisionLatency;

    public ExportRequestHandler(ClusterReader cluster, ClusterCalls calls, Callers callers, Rights rights, ExportJobs jobs,
                                ExportLifecycle lifecycle, EventOutbox outbox, AuditLog audit, Clock clock,
                                GuardConfig config, MeterRegistry registry) {
        this.registry = registry;
        this.decisionLatency = Timer.builder("guard.request.decision")
                .description("Time from taking a valid request to recording its answer")
                .publishPercentileHistogram()
                .serviceLevelObjectives(Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1),
                        Duration.ofSeconds(5), Duration.ofSeconds(30))
                .register(registry);
        this.cluster = cluster;
        this.calls = calls;
        this.callers = callers;
        this.rights = rights;
        this.jobs = jobs;
        this.lifecycle = lifecycle;
        this.outbox = outbox;
        this.audit = audit;
        this.clock = clock;
        this.maxAge = config.request().maxAge();
        this.decisionTimeout = config.request().decisionTimeout();
    }

    /** Answers a request that is not valid; {@code echo} is what could be read of it. */
    public void handleInvalid(RequestSource source, ResultEvent.Subject echo, List<Violation> violations,
                              String payload) {
        QuarkusTransaction.requiringNew().run(() -> {
            audit.append(received(source, echo, payload));
            refuse(echo, ReasonCode.INVALID_REQUEST, Messages.invalidRequest(violations), source);
        });
        counted("kafka", "REJECTED", ReasonCode.INVALID_REQUEST.name());
    }

    /** Answers a request that could not be handled at all; nothing was exported. */
    public void handleInternalError(RequestSource source, ResultEvent.Subject echo, String detail) {
        QuarkusTransaction.requiringNew().run(() ->
                refuse(echo, ReasonCode.INTERNAL_ERROR, Messages.internalError(detail), source));
        counted("kafka", "REJECTED", ReasonCode.INTERNAL_ERROR.name());
    }

    /**
     * Decides a valid request, sent by whoever {@code proof} proves: refused UNAUTHENTICATED without proof of the sender, FORBIDDEN
     * when the caller may not act for the requester or the requester may not do what it asks; else checked against
     * the cluster. A request already accepted is answered with its latest event; one that waited too long (its
     * record written at {@code recordTimestamp}, in milliseconds since the epoch, or -1 when unknown) or is past
     * its {@code notAfter} is refused REQUEST_EXPIRED before anything is asked of the cluster. Every API call made
     * for it shares the deadline {@code guard.request.decision-timeout}.
     */
    public Outcome handle(RequestSource source, ExportRequest request, Callers.Proof proof, String payload,
                          long recordTimestamp) {
        // a request taken over HTTP carries the intake's seal
        String via = proof.headers().containsKey(Callers.SEAL_HEADER) ? "http" : "kafka";
        Timer.Sample sample = Timer.start(registry);
        ANSWER.remove();
        try {
            return calls.withDeadline(decisionTimeout, () -> decide(source, request, proof, payload, recordTimestamp));
        } finally {
            String[] answer = ANSWER.get();
            ANSWER.remove();
            sample.stop(decisionLatency);
            if (answer != null) {
                counted(via, answer[0], answer[1]);
            }
        }
    }

    /** Counts a request answered: where it came from, how it was answered and why. */
    private void counted(String via, String outcome, String reason) {
        counted(registry, via, outcome, reason);
    }

    /**
     * {@code guard.requests}: a request answered, by where it came from ({@code kafka}, {@code http},
     * {@code admission}), how it was answered and why.
     */
    static void counted(MeterRegistry registry, String via, String outcome, String reason) {
        registry.counter("guard.requests", "source", via, "outcome", outcome, "reason", reason == null ? "" : reason)
                .increment();
    }

    /** How the request in hand on this thread was answered: outcome and reason. */
    private static final ThreadLocal<String[]> ANSWER = new ThreadLocal<>();

    private static void answered(String outcome, ReasonCode reason) {
        ANSWER.set(new String[] {outcome, reason == null ? "" : reason.name()});
    }

    /**
     * Two transactions at most, none open during an API call: the first records the request, and answers it when
     * that needs no look at the cluster (an unproven sender, a request known already, one too old); the second
     * records the answer that the cluster's state and the requester's rights led to.
     */
    private Outcome decide(RequestSource source, ExportRequest request, Callers.Proof proof, String payload,
                           long recordTimestamp) {
        Callers.Caller caller;
        try {
            caller = callers.ofRecord(proof);
        } catch (ClusterAccessException e) {
            // who sent it cannot be known: fail closed
            ResultEvent.Subject unproven = ResultEvent.Subject.of(request, null);
            inTransaction(() -> {
                audit.append(received(source, unproven, payload));
                refuse(unproven, e.reasonCode(), e.refusalMessage(), source);
            });
            return outcome(e);
        }
        ResultEvent.Subject subject = ResultEvent.Subject.of(request, caller.username());
        boolean answered = QuarkusTransaction.requiringNew().call(() -> {
            audit.append(received(source, subject, payload));
            if (caller.refused()) {
                refuse(subject, ReasonCode.UNAUTHENTICATED, Messages.unauthenticated(caller.problem()), source);
                return true;
            }
            // a redelivery of a request accepted while it was fresh is answered as before, however old it is now
            Optional<ExportJob> known = jobs.find(request.requestId());
            if (known.isPresent()) {
                answerAgain(source, subject, request, known.get());
                return true;
            }
            Optional<String> expired = RequestExpiry.check(
                    recordTimestamp < 0 ? null : Instant.ofEpochMilli(recordTimestamp), request.notAfter(), maxAge,
                    clock.instant());
            expired.ifPresent(why -> refuse(subject, ReasonCode.REQUEST_EXPIRED, why, source));
            return expired.isPresent();
        });
        if (answered) {
            return Outcome.ANSWERED;
        }
        Decision decision;
        Optional<String> denied;
        Callers.Acting acting;
        try {
            // the caller's right to act for the requester comes first: before anything is read for the request
            acting = callers.actingFor(caller, request);
            denied = Optional.ofNullable(acting.forbidden());
            decision = denied.isPresent() ? null
                    : decideOnCluster(request);
            if (denied.isEmpty()) {
                denied = rights.toExport(acting.requester(), request, decision);
            }
        } catch (ClusterAccessException e) {
            inTransaction(() -> refuse(subject, e.reasonCode(), e.refusalMessage(), source));
            return outcome(e);
        }
        if (denied.isPresent()) {
            // no evidence: the requester may not even see the volume
            String message = denied.get();
            inTransaction(() -> refuse(subject, ReasonCode.FORBIDDEN, message, source));
            return Outcome.ANSWERED;
        }
        try {
            boolean accepted = QuarkusTransaction.requiringNew().call(() -> {
                // an export of the volume running explains any other refusal (its image, its locked VM) best
                Optional<ExportJob> active = decision.volumeName() == null ? Optional.empty()
                        : jobs.activeOn(request.namespace(), decision.volumeName());
                if (active.isPresent()) {
                    refuseBusy(source, subject, decision, active.get().requestId);
                    return false;
                }
                if (decision instanceof Decision.Rejected rejected) {
                    answered("REJECTED", rejected.reason());
                    outbox.add(ResultEvent.rejected(subject, rejected, source.coordinates(), clock.instant()), source);
                    return false;
                }
                jobs.accept(job(request, acting.requester(), caller, (Decision.Approved) decision, source));
                return true;
            });
            if (!accepted) {
                return Outcome.ANSWERED;
            }
        } catch (ExportJobs.VolumeBusyException e) {
            // another request for the volume was accepted a moment ago (by another replica, or decided at the same
            // time here naming the VM where this one names the volume): the database refused this one
            inTransaction(() -> refuseBusy(source, subject, decision, jobs.activeOn(request.namespace(),
                    decision.volumeName()).map(j -> j.requestId).orElse("(ended meanwhile)")));
            return Outcome.ANSWERED;
        }
        answered("ACCEPTED", null);
        lifecycle.wake();
        return Outcome.ANSWERED;
    }

    /**
     * The rules' answer on what the watches show, when it stands on it (no API call); else on the namespace read
     * afresh.
     */
    private Decision decideOnCluster(ExportRequest request) {
        Optional<Decision> watched = cluster.watched(request.namespace(), request.volumeName(), request.vmName())
                .map(snapshot -> ExportDecider.decide(request, snapshot, clock.instant()))
                .filter(ExportDecider::standsOnWatchedState);
        return watched.orElseGet(() -> ExportDecider.decide(request, cluster.read(request.namespace()),
                clock.instant()));
    }

    private static Outcome outcome(ClusterAccessException e) {
        return e.reasonCode() == ReasonCode.CLUSTER_UNAVAILABLE ? Outcome.CLUSTER_UNAVAILABLE : Outcome.ANSWERED;
    }

    private void refuseBusy(RequestSource source, ResultEvent.Subject subject, Decision decision,
                            String runningRequest) {
        answered("REJECTED", ReasonCode.EXPORT_IN_PROGRESS);
        outbox.add(ResultEvent.rejected(subject, new Decision.Rejected(ReasonCode.EXPORT_IN_PROGRESS,
                Messages.exportInProgress(subject.namespace(), decision.volumeName(), runningRequest),
                decision.observed(), decision.vmName(), decision.volumeName()), source.coordinates(),
                clock.instant()), source);
    }

    /**
     * A request already accepted (a redelivery, or a producer's retry): no second export; its latest event is
     * published again, unchanged. The same requestId for another volume is refused.
     */
    private void answerAgain(RequestSource source, ResultEvent.Subject subject, ExportRequest request, ExportJob job) {
        boolean sameExport = request.namespace().equals(job.namespace)
                && (request.volumeName() == null || request.volumeName().equals(job.volumeName))
                && (request.vmName() == null || request.vmName().equals(job.vmName));
        if (!sameExport) {
            refuse(subject, ReasonCode.REQUEST_ID_CONFLICT,
                    Messages.requestIdConflict(request.requestId(), "volume " + job.namespace + "/" + job.volumeName),
                    source);
            return;
        }
        // before its first event is out, the outbox will publish it anyway
        answered("REPEATED", null);
        audit.latestEvent(request.requestId()).ifPresent(latest -> outbox.republish(latest.event, source));
    }

    private void refuse(ResultEvent.Subject subject, ReasonCode reason, String message, RequestSource source) {
        answered("REJECTED", reason);
        outbox.add(ResultEvent.refusal(reason, message, source.coordinates()).build(subject, clock.instant()), source);
    }

    private ExportJob job(ExportRequest request, Identity requester, Callers.Caller caller,
                          Decision.Approved approved, RequestSource source) {
        // the display name is fixed now: a queued export checked again later keeps it; the requester's groups too,
        // for the rights checked again when it gets its slot
        return ExportJob.accepted(request.resolved(approved.volumeName(), approved.plan().displayName())
                        .actingFor(requester), approved.vmName(), caller.username(), source, clock.instant());
    }

    private static void inTransaction(Runnable work) {
        QuarkusTransaction.requiringNew().run(work);
    }

    private AuditEntry received(RequestSource source, ResultEvent.Subject subject, String payload) {
        return AuditEntry.received(subject, payload, source, clock.instant());
    }
}
