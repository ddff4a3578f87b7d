package dev.vmexportguard.decision;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/** What a running export's next step is, given its image and the power state of the VMs using its volume. */
public final class ExportTracking {

    /**
     * A running export, as the guard recorded it. {@code lastStep} is the last progress step published, or -1;
     * {@code importedSeenAt} when the guard first saw its image {@code Imported=True}, or null.
     */
    public record RunningExport(String namespace, String volumeName, String imageName, String displayName,
                                Instant startedAt, int lastStep, Instant importedSeenAt) {
    }

    public sealed interface Step {
    }

    public record Unchanged() implements Step {
    }

    /** Progress reached a new 10-point step. */
    public record Progressed(int step) implements Step {
    }

    public record Completed() implements Step {
    }

    /** The export ends without an image; {@code deleteImage} when the guard must remove what was copied. */
    public record Failed(ReasonCode reason, String message, boolean deleteImage, Evidence observed) implements Step {
    }

    private ExportTracking() {
    }

    /**
     * A use of the volume that a watch saw during the copy (a pod or VMI that mounted it, maybe gone since), as the
     * unsafe state {@link #next} weighs: it fails the export unless it began after the image was ready.
     */
    public static Decision.Rejected seenUse(String namespace, String volumeName, String what, Instant at) {
        return new Decision.Rejected(ReasonCode.VM_STARTED_DURING_EXPORT,
                Messages.usedDuringCopy(namespace, volumeName, what, at), null, null, volumeName);
    }

    /**
     * When the image became ready: the {@code Imported} condition's time (its {@code lastUpdateTime}, else its
     * {@code lastTransitionTime}), else the time the guard first saw it {@code Imported=True}, which is no earlier
     * than the real one; null when none is known.
     */
    public static Instant readyAt(ImageStatus status, Instant importedSeenAt) {
        return status.importedAt() != null ? status.importedAt() : importedSeenAt;
    }

    /**
     * Whether a use of the volume that began at {@code use} surely began after the image was ready at
     * {@code readyAt}. Harvester writes the ready time in whole seconds, and the API server a pod's or VMI's
     * creation time too, so a use in the same second as the ready time may have begun before it: only a use from
     * the next whole second on counts as after.
     */
    public static boolean usedAfterReady(Instant use, Instant readyAt) {
        return !use.isBefore(readyAt.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1));
    }

    /**
     * Order matters. An image that is ready is complete if nothing used the volume before it became ready (a VM
     * started once the copy was done is fine, see {@link #readyAt} and {@link #usedAfterReady}); when that cannot
     * be told, it is not. A VM started during the copy
     * fails the export even if the copy is about to time out.
     */
    public static Step next(RunningExport export, Optional<ImageStatus> image, Optional<Decision.Rejected> unsafe,
                            Optional<Instant> inUseSince, Instant now, Duration timeout, boolean deleteOnTimeout) {
        if (image.isEmpty()) {
            return new Failed(ReasonCode.IMAGE_DELETED, Messages.imageDeleted(export), false, null);
        }
        ImageStatus status = image.get();
        if (status.imported()) {
            Instant readyAt = readyAt(status, export.importedSeenAt());
            boolean usedBeforeReady = unsafe.isPresent() && inUseSince.isPresent()
                    && (readyAt == null || !usedAfterReady(inUseSince.get(), readyAt));
            if (!usedBeforeReady) {
                return new Completed();
            }
        }
        if (status.retryLimitExceeded()) {
            return new Failed(ReasonCode.EXPORT_FAILED, Messages.exportFailed(export, status.failureMessage()), false, null);
        }
        if (unsafe.isPresent()) {
            return new Failed(ReasonCode.VM_STARTED_DURING_EXPORT,
                    Messages.vmStartedDuringExport(export.volumeName(), export.imageName(), unsafe.get().message()), true, unsafe.get().observed());
        }
        if (export.startedAt() != null && now.isAfter(export.startedAt().plus(timeout))) {
            return new Failed(ReasonCode.EXPORT_TIMEOUT, Messages.exportTimeout(export, timeout, deleteOnTimeout),
                    deleteOnTimeout, null);
        }
        int step = Math.min(90, Math.max(0, status.progress()) / 10 * 10);
        if (step > 0 && step > export.lastStep()) {
            return new Progressed(step);
        }
        return new Unchanged();
    }
}
