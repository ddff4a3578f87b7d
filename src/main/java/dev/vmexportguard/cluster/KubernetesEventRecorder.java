package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.Orphans;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.ResultEvent;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Records each published outcome and lifecycle step as a Kubernetes Event on the VMs it is about, so that
 * {@code kubectl describe vm} and Harvester's UI show what happened and who asked. Best effort, off the path of
 * the export: a failure to write an Event is logged and never fails anything.
 */
@ApplicationScoped
public class KubernetesEventRecorder {
    private static final Logger LOG = Logger.getLogger(KubernetesEventRecorder.class);
    private static final Map<EventType, String> REASONS = Map.ofEntries(
            Map.entry(EventType.REJECTED, "ExportRejected"),
            Map.entry(EventType.QUEUED, "ExportQueued"),
            Map.entry(EventType.STOPPING_VM, "VmStoppingForExport"),
            Map.entry(EventType.VM_STOPPED, "VmStoppedForExport"),
            Map.entry(EventType.BACKUP_READY, "BackupReadyForExport"),
            Map.entry(EventType.STARTED, "ExportStarted"),
            Map.entry(EventType.COMPLETED, "ExportCompleted"),
            Map.entry(EventType.FAILED, "ExportFailed"),
            Map.entry(EventType.VM_RESTARTED, "VmRestartedAfterExport"),
            Map.entry(EventType.RESTART_FAILED, "VmRestartFailedAfterExport"),
            Map.entry(EventType.ADMITTED, "ExportAdmitted"));

    private static final Set<ReasonCode> UNCHECKED = Set.of(ReasonCode.UNAUTHENTICATED, ReasonCode.FORBIDDEN,
            ReasonCode.INVALID_REQUEST, ReasonCode.REQUEST_EXPIRED);

    private final KubernetesClient client;
    private final MeterRegistry registry;
    /** Bounded: when the API server is slow, Events are dropped rather than memory filled. */
    private final ExecutorService writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(1000), r -> new Thread(r, "kubernetes-events"), new ThreadPoolExecutor.DiscardPolicy());

    public KubernetesEventRecorder(KubernetesClient client, MeterRegistry registry) {
        this.client = client;
        this.registry = registry;
    }

    void stop(@Observes ShutdownEvent ignored) {
        writer.shutdown();
    }

    /**
     * PROGRESS is not recorded: it would bury the steps that matter. Nor are refusals of requests whose sender was
     * not proven or not allowed, that were not valid, or that expired (refused before the sender's right to act
     * for the requester is asked): anyone could otherwise post warnings on any VM.
     */
    public void record(ResultEvent event) {
        String reason = REASONS.get(event.type());
        if (reason == null || event.namespace() == null || (event.reason() != null && UNCHECKED.contains(event.reason()))) {
            return;
        }
        Set<String> vms = new LinkedHashSet<>();
        if (event.observed() != null) {
            event.observed().vms().stream().map(Evidence.VmSeen::name).forEach(vms::add);
        }
        if (vms.isEmpty() && event.vmName() != null) {
            vms.add(event.vmName());
        }
        for (String vm : vms) {
            writer.execute(() -> write(event, reason, vm));
        }
    }

    /**
     * An Event on an orphaned image or backup (see the sweep of orphaned objects): {@code reason}
     * {@code ExportObjectOrphaned} when it is found, {@code ExportObjectOrphanDeleted} when it is removed. Its
     * name is derived from the object's, so each is written once per object (a second create is refused with 409).
     */
    public void recordOrphan(Orphans.GuardObject object, String reason, String message) {
        writer.execute(() -> {
            try {
                String time = DateTimeFormatter.ISO_INSTANT.format(java.time.Instant.now().truncatedTo(ChronoUnit.SECONDS));
                client.v1().events().inNamespace(object.namespace()).resource(new EventBuilder()
                        .withNewMetadata().withNamespace(object.namespace())
                        .withName(eventName(object.name(), reason)).endMetadata()
                        .withNewInvolvedObject().withApiVersion(GuardObjects.apiVersion(object.kind()))
                        .withKind(object.kind().kubernetesKind()).withNamespace(object.namespace())
                        .withName(object.name()).endInvolvedObject()
                        .withReason(reason)
                        .withType("Warning")
                        .withMessage(message)
                        .withNewSource().withComponent("vm-export-guard").endSource()
                        .withFirstTimestamp(time).withLastTimestamp(time).withCount(1)
                        .build()).create();
                counted("success");
            } catch (RuntimeException e) {
                counted("failure");
                LOG.debugf("Kubernetes Event %s for %s %s/%s not written: %s", reason, object.kind().kubernetesKind(),
                        object.namespace(), object.name(), e.getMessage());
            }
        });
    }

    /** An Event written (or not), among the guard's API calls ({@code guard.cluster.calls}). */
    private void counted(String outcome) {
        registry.counter("guard.cluster.calls", "verb", "create", "resource", "events", "outcome", outcome)
                .increment();
    }

    /** {@code <object>.<reason>}, the object's part shortened to keep a valid name. */
    static String eventName(String object, String reason) {
        String base = object.length() > 200 ? object.substring(0, 200) : object;
        while (!base.isEmpty() && !Character.isLetterOrDigit(base.charAt(base.length() - 1))) {
            base = base.substring(0, base.length() - 1);
        }
        return base + "." + reason.toLowerCase(java.util.Locale.ROOT);
    }

    private void write(ResultEvent event, String reason, String vm) {
        try {
            String time = DateTimeFormatter.ISO_INSTANT.format(event.occurredAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            boolean warning = event.reason() != null;
            client.v1().events().inNamespace(event.namespace()).resource(new EventBuilder()
                    .withNewMetadata().withNamespace(event.namespace())
                    .withName(vm + "." + event.eventId().substring(0, 8) + event.eventId().substring(9, 13)).endMetadata()
                    .withNewInvolvedObject().withApiVersion("kubevirt.io/v1").withKind("VirtualMachine")
                    .withNamespace(event.namespace()).withName(vm).endInvolvedObject()
                    .withReason(reason)
                    .withType(warning ? "Warning" : "Normal")
                    .withMessage(event.message() + " Requested by " + event.requestedBy() + " (request "
                            + event.requestId() + ").")
                    .withNewSource().withComponent("vm-export-guard").endSource()
                    .withFirstTimestamp(time).withLastTimestamp(time).withCount(1)
                    .build()).create();
            counted("success");
        } catch (RuntimeException e) {
            counted("failure");
            LOG.debugf("Kubernetes Event %s for VM %s/%s not written: %s", reason, event.namespace(), vm, e.getMessage());
        }
    }
}
