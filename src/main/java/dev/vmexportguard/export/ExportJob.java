package dev.vmexportguard.export;

import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.ResultEvent;
import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Transient;
import jakarta.persistence.Version;
import dev.vmexportguard.config.TraceContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

/** An accepted export request and where it is in its life; the guard's memory across restarts. */
@Entity
@Table(name = "export_job")
public class ExportJob {

    public enum State {
        /** Accepted, not yet given a slot. */
        PENDING,
        /** Waiting for a slot; a QUEUED event was published. */
        QUEUED,
        /** Has a slot: checking, then stopping, backing up or creating the image. */
        STARTING,
        /** Waiting for the VMs it asked KubeVirt to stop (onRunning STOP) to be fully stopped. */
        STOPPING,
        /** Waiting for the backups taken before the export (backupFirst). */
        BACKING_UP,
        /** The image is being copied; followed until it ends. */
        RUNNING,
        /** The final event is decided; the image is being removed (if it must) and the VMs unlocked. */
        ENDING,
        /**
         * After the end (restartAfter): waiting for the VMs the guard stopped to reach Stopped, to start them again,
         * until {@code restartDeadline}. Holds no slot; the volume stays taken until the job is ENDED.
         */
        RESTARTING,
        ENDED;

        public boolean holdsSlot() {
            return this == STARTING || this == STOPPING || this == BACKING_UP || this == RUNNING;
        }
    }

    /**
     * A VM the guard stopped for this export, with the run strategy it had, to put back after; {@code restart} says
     * what became of it after the end (null while the guard still waits for it to reach Stopped);
     * {@code askedAtVersion} is the VM's resourceVersion when its start was recorded as ASKED (null before).
     */
    public record StoppedVm(String name, String runStrategy, Restart restart, String askedAtVersion) {
        public StoppedVm(String name, String runStrategy) {
            this(name, runStrategy, null, null);
        }

        StoppedVm with(Restart outcome) {
            return new StoppedVm(name, runStrategy, outcome, askedAtVersion);
        }

        /** About to be started, the VM being at {@code resourceVersion}. */
        StoppedVm asked(String resourceVersion) {
            return new StoppedVm(name, runStrategy, Restart.ASKED, resourceVersion);
        }

        /** Still to be looked at after the end: not yet started, or started without the outcome recorded. */
        boolean pending() {
            return restart == null || restart == Restart.ASKED;
        }
    }

    /** What became of a VM the guard stopped, after the export's end (restartAfter). */
    public enum Restart {
        /** The guard asked KubeVirt to start it; recorded before asking, so that a VM is started at most once. */
        ASKED,
        /** Started again (VM_RESTARTED). */
        RESTARTED,
        /** Left as it is: started by someone else, deleted, or already halted by someone else when it was stopped. */
        LEFT,
        /** Not started again: the start failed, or it did not reach Stopped by the deadline (RESTART_FAILED). */
        FAILED
    }

    @Id
    @Column(name = "request_id")
    public String requestId;

    @Column(insertable = false, updatable = false)
    public Long seq;

    public String namespace;

    @Column(name = "volume_name")
    public String volumeName;

    @Column(name = "vm_name")
    public String vmName;

    @Column(name = "requested_by")
    public String requestedBy;

    @Column(name = "reply_to")
    public String replyTo;

    /** The authenticated identity that sent the request; null when trusted producers need not prove it. */
    public String caller;

    /** The validated request, with the volume and the image display name fixed at acceptance. */
    @JdbcTypeCode(SqlTypes.JSON)
    @Column(columnDefinition = "jsonb")
    public ExportRequest request;

    @Enumerated(EnumType.STRING)
    public State state;

    @Column(name = "image_name")
    public String imageName;

    /**
     * The image about to be created, recorded before the create call: its answer may be lost while the API server
     * created it all the same. {@link #imageName} is set once the image is known to exist.
     */
    @Column(name = "planned_image_name")
    public String plannedImageName;

    @Column(name = "image_display_name")
    public String imageDisplayName;

    /** The VMs that carry this export's lock annotation (or may: the names are recorded before the patch). */
    @JdbcTypeCode(SqlTypes.JSON)
    @Column(name = "locked_vms", columnDefinition = "jsonb")
    public List<String> lockedVms = new ArrayList<>();

    /** The VMs the guard stopped for this export (recorded before the stop call). */
    @JdbcTypeCode(SqlTypes.JSON)
    @Column(name = "stopped_vms", columnDefinition = "jsonb")
    public List<StoppedVm> stoppedVms = new ArrayList<>();

    @Column(name = "stop_requested_at")
    public Instant stopRequestedAt;

    /** The VirtualMachineBackups taken before the export (recorded before they are created). */
    @JdbcTypeCode(SqlTypes.JSON)
    @Column(columnDefinition = "jsonb")
    public List<String> backups = new ArrayList<>();

    @Column(name = "backup_started_at")
    public Instant backupStartedAt;

    @Column(name = "backups_ready")
    public boolean backupsReady;

    @Column(name = "restart_done")
    public boolean restartDone;

    /** restartAfter: until when, after the end, the guard waits for its stopped VMs to reach Stopped. */
    @Column(name = "restart_deadline")
    public Instant restartDeadline;

    @Column(name = "progress_step")
    public int progressStep = -1;

    @Column(name = "delete_image")
    public boolean deleteImage;

    /** A pod or VMI a watch saw mounting the volume while it was copied (it may be gone since), and when. */
    @Column(name = "used_during_copy")
    public String usedDuringCopy;

    @Column(name = "used_during_copy_at")
    public Instant usedDuringCopyAt;

    /**
     * The guard's time just before the fresh read that let the copy start: a pod or VMI a watch told of before it is
     * covered by that read (which found the volume free), so only those told of from then on count as uses during
     * the copy.
     */
    @Column(name = "uses_count_from")
    public Instant usesCountFrom;

    /**
     * When the guard first saw the image {@code Imported=True} (its time as the image was read): the ready time
     * when the condition carries none of its own.
     */
    @Column(name = "imported_seen_at")
    public Instant importedSeenAt;

    /** The type of the final event (REJECTED, COMPLETED, FAILED), recorded with it; null before the end. */
    public String outcome;

    /** The W3C trace context the request came with (null when none): every event of the export carries it. */
    public String traceparent;

    public String tracestate;

    /** The Kafka record of the request. */
    @Embedded
    public RequestSource source;

    @Column(name = "accepted_at")
    public Instant acceptedAt;

    @Column(name = "started_at")
    public Instant startedAt;

    @Column(name = "ended_at")
    public Instant endedAt;

    /** Optimistic locking: a write based on an older version of the row fails. */
    @Version
    public long version;

    /** The leader epoch this replica had when it loaded the job; its writes are fenced by it. */
    @Transient
    public Long leaderEpoch;

    /** A job for a request just accepted; {@code request} names its volume and image display name. */
    public static ExportJob accepted(ExportRequest request, String vmName, String caller, RequestSource source,
                                     Instant now) {
        ExportJob job = new ExportJob();
        job.requestId = request.requestId();
        job.namespace = request.namespace();
        job.volumeName = request.volumeName();
        job.vmName = vmName;
        job.requestedBy = request.requestedBy();
        job.replyTo = request.replyTo();
        job.caller = caller;
        job.request = request;
        job.imageDisplayName = request.imageDisplayName();
        job.state = State.PENDING;
        job.source = source;
        job.acceptedAt = now;
        TraceContext trace = TraceContext.of(request.requestId());
        if (trace != null) {
            job.traceparent = trace.traceparent();
            job.tracestate = trace.tracestate();
        }
        return job;
    }

    /** Who asked for what: the fields every event of this export repeats. */
    public ResultEvent.Subject subject() {
        return new ResultEvent.Subject(requestId, namespace, vmName, volumeName, requestedBy, replyTo, caller);
    }

    /** The image, once it has a name. */
    public ResultEvent.ImageRef image() {
        return imageName == null ? null : ResultEvent.ImageRef.of(namespace, imageName, imageDisplayName);
    }
}
