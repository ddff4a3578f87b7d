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
        /** Has a slot: locking the VMs, creating the image, checking again. */
        STARTING,
        /** The image is being copied; followed until it ends. */
        RUNNING,
        /** The final event is decided; the image is being removed (if it must) and the VMs unlocked. */
        ENDING,
        ENDED;

        public boolean holdsSlot() {
            return this == STARTING || this == RUNNING;
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

    @Column(name = "progress_step")
    public int progressStep = -1;

    @Column(name = "outcome_type")
    public String outcomeType;

    @Column(name = "outcome_reason")
    public String outcomeReason;

    @Column(name = "outcome_message")
    public String outcomeMessage;

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
        return lockedVms == null || lockedVms.isEmpty() ? List.of() : Arrays.asList(lockedVms.split(","));
    }
}
