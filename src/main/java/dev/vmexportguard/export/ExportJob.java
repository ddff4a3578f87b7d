package dev.vmexportguard.export;

import dev.vmexportguard.service.RequestSource;
import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

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
        ENDED;

        public boolean holdsSlot() {
            return this == STARTING || this == STOPPING || this == BACKING_UP || this == RUNNING;
        }
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

    /** The validated request as JSON, with the display name fixed at acceptance. */
    public String request;

    @Enumerated(EnumType.STRING)
    public State state;

    @Column(name = "image_name")
    public String imageName;

    @Column(name = "image_display_name")
    public String imageDisplayName;

    @Column(name = "locked_vms")
    public String lockedVms = "";

    /** JSON object: the VMs the guard stopped for this export, with the runStrategy each had. */
    @Column(name = "stopped_vms")
    public String stoppedVms = "";

    @Column(name = "stop_requested_at")
    public Instant stopRequestedAt;

    @Column(name = "backups")
    public String backups = "";

    @Column(name = "backup_started_at")
    public Instant backupStartedAt;

    @Column(name = "backups_ready")
    public boolean backupsReady;

    @Column(name = "restart_done")
    public boolean restartDone;

    @Column(name = "progress_step")
    public int progressStep = -1;

    @Column(name = "delete_image")
    public boolean deleteImage;

    /** The Kafka record of the request. */
    @Embedded
    public RequestSource source;

    @Column(name = "accepted_at")
    public Instant acceptedAt;

    @Column(name = "started_at")
    public Instant startedAt;

    @Column(name = "ended_at")
    public Instant endedAt;

    public List<String> lockedVmList() {
        return split(lockedVms);
    }

    public List<String> backupList() {
        return split(backups);
    }

    private static List<String> split(String names) {
        return names == null || names.isEmpty() ? List.of() : Arrays.asList(names.split(","));
    }
}
