package dev.vmexportguard.service;

import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.cluster.ClusterCalls;
import dev.vmexportguard.cluster.ClusterReader;
import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.Messages;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.export.ExportJob;
import dev.vmexportguard.export.ExportJobs;
import dev.vmexportguard.export.Rights;
import dev.vmexportguard.outbox.EventOutbox;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The admission webhook's decision about a VirtualMachineImage being created outside the guard (Harvester's UI, its
 * "Export Image" action, or kubectl): an image that exports a volume is admitted only under the rules of a request
 * with onRunning REJECT (every VM using the volume fully stopped, no pod mounting it) and when no export of that
 * volume runs or waits in the guard. Reads are fresh; whatever cannot be read or checked refuses (fail closed). Each
 * answer, unless the review is a dry run, is audited with who created the image and published as a result event whose
 * requestId is {@code admission:<review uid>}.
 */
@ApplicationScoped
public class ImageAdmission {
    /** The image's {@code spec.sourceType} of an export. */
    public static final String EXPORT_FROM_VOLUME = "export-from-volume";

    /** An image being created, as the API server's AdmissionReview tells it. */
    public record ImageCreation(String uid, Identity creator, String namespace, String name, Map<String, String> labels,
                                String sourceType, String pvcNamespace, String pvcName, String displayName,
                                boolean dryRun, String review) {
    }

    /** The answer: allowed, or refused with the guard's message. */
    public record Verdict(boolean allowed, String message) {
        public static Verdict allow() {
            return new Verdict(true, null);
        }
    }

    private static final Logger LOG = Logger.getLogger(ImageAdmission.class);

    private final ClusterReader cluster;
    private final ClusterCalls calls;
    private final Rights rights;
    private final ExportJobs jobs;
    private final EventOutbox outbox;
    private final AuditLog audit;
    private final Clock clock;
    private final GuardConfig.Admission config;
    private final MeterRegistry registry;
    private final Timer latency;

    public ImageAdmission(ClusterReader cluster, ClusterCalls calls, Rights rights, ExportJobs jobs, EventOutbox outbox,
                          AuditLog audit, Clock clock, GuardConfig config, MeterRegistry registry) {
        this.cluster = cluster;
        this.calls = calls;
        this.rights = rights;
        this.jobs = jobs;
        this.outbox = outbox;
        this.audit = audit;
        this.clock = clock;
        this.config = config.admission();
        this.registry = registry;
        this.latency = Timer.builder("guard.admission.decision")
                .description("Time the admission webhook takes to decide about an image")
                .publishPercentileHistogram()
                .serviceLevelObjectives(Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1),
                        Duration.ofSeconds(3), Duration.ofSeconds(5))
                .register(registry);
    }

    public Verdict decide(ImageCreation image) {
        if (!EXPORT_FROM_VOLUME.equals(image.sourceType())) {
            return Verdict.allow();
        }
        // labels alone prove nothing: anyone may set them; the API server vouches for who creates the image
        if (config.guardUser().equals(image.creator().username())
                && KubernetesResources.MANAGED_BY_VALUE.equals(image.labels().get(KubernetesResources.LABEL_MANAGED_BY))) {
            return Verdict.allow();
        }
        Timer.Sample sample = Timer.start(registry);
        try {
            return judge(image);
        } finally {
            sample.stop(latency);
        }
    }

    private Verdict judge(ImageCreation image) {
        if (image.pvcName() == null || image.pvcName().isBlank()) {
            return new Verdict(false, Messages.noVolumeToExport(image.namespace(), image.name()));
        }
        String ns = image.pvcNamespace();
        String volume = image.pvcName();
        ResultEvent.Subject subject = new ResultEvent.Subject("admission:" + image.uid(), ns, null, volume,
                image.creator().username(), null, image.creator().username());
        ResultEvent event;
        try {
            event = calls.withDeadline(config.decisionTimeout(), () -> decided(image, subject));
        } catch (ClusterAccessException e) {
            event = ResultEvent.refusal(e.reasonCode(), Messages.forAdmission(e.refusalMessage()), subject.requestId())
                    .build(subject, clock.instant());
        } catch (RuntimeException e) {
            // the database did not answer (or failed): the guard's own exports of the volume are unknown
            LOG.warnf("admission of image %s/%s refused, the guard's database failed: %s", image.namespace(),
                    image.name(), e.toString());
            count(EventType.REJECTED, ReasonCode.INTERNAL_ERROR);
            return new Verdict(false, Messages.admissionNotRecorded(ns, volume));
        }
        ResultEvent answer = event;
        if (!image.dryRun()) {
            try {
                QuarkusTransaction.requiringNew().run(() -> {
                    audit.append(received(image, subject));
                    outbox.add(answer, RequestSource.admission());
                });
            } catch (RuntimeException e) {
                LOG.warnf("admission of image %s/%s refused, its answer could not be recorded: %s", image.namespace(),
                        image.name(), e.toString());
                count(EventType.REJECTED, ReasonCode.INTERNAL_ERROR);
                return new Verdict(false, Messages.admissionNotRecorded(ns, volume));
            }
        }
        count(answer.type(), answer.reason());
        return new Verdict(answer.type() == EventType.ADMITTED, answer.type() == EventType.ADMITTED ? null
                : answer.message());
    }

    /** The event that answers the image: its refusal, or that it is admitted. */
    private ResultEvent decided(ImageCreation image, ResultEvent.Subject subject) {
        String ns = image.pvcNamespace();
        String volume = image.pvcName();
        Optional<String> denied = rights.toSeeVolume(image.creator(), ns, volume);
        if (denied.isPresent()) {
            return ResultEvent.refusal(ReasonCode.FORBIDDEN, denied.get(), subject.requestId())
                    .build(subject, clock.instant());
        }
        // the watches may refuse at once, because something uses the volume; only a fresh read may admit
        ExportDecider.Admission admission = cluster.watched(ns, volume, null)
                .map(watched -> ExportDecider.admit(ns, volume, watched))
                .filter(watched -> !watched.allowed() && ExportDecider.standsOnWatchedState(watched.refusal()))
                .orElseGet(() -> ExportDecider.admit(ns, volume, cluster.read(ns)));
        ResultEvent.Subject seen = subject.resolved(admission.vmName(), volume);
        Optional<ExportJob> running = jobs.activeOn(ns, volume);
        if (running.isPresent()) {
            return ResultEvent.refusal(ReasonCode.EXPORT_IN_PROGRESS, Messages.forAdmission(
                            Messages.exportInProgress(ns, volume, running.get().requestId)), subject.requestId())
                    .observed(admission.observed()).build(seen, clock.instant());
        }
        if (!admission.allowed()) {
            Decision.Rejected refusal = admission.refusal();
            return ResultEvent.refusal(refusal.reason(), Messages.forAdmission(refusal.message()), subject.requestId())
                    .observed(admission.observed()).build(seen, clock.instant());
        }
        return ResultEvent.of(EventType.ADMITTED, subject.requestId())
                .message(Messages.admitted(ns, volume, image.namespace() + "/" + image.name(),
                        image.creator().username()))
                .image(ResultEvent.ImageRef.of(image.namespace(), image.name(), image.displayName()))
                .observed(admission.observed()).build(seen, clock.instant());
    }

    private void count(EventType outcome, ReasonCode reason) {
        ExportRequestHandler.counted(registry, "admission", outcome.name(), reason == null ? null : reason.name());
    }

    private AuditEntry received(ImageCreation image, ResultEvent.Subject subject) {
        AuditEntry entry = AuditEntry.received(subject, image.review(), RequestSource.admission(), clock.instant());
        entry.imageNamespace = image.namespace();
        entry.imageName = image.name();
        entry.imageDisplayName = image.displayName();
        return entry;
    }
}
