package dev.vmexportguard.decision;

/** The kinds of result event the guard publishes. */
public enum EventType {
    /** Refused; nothing was exported. Final. */
    REJECTED,
    /** Accepted while the maximum of concurrent exports run; starts, after its checks again, when a slot frees. */
    QUEUED,
    /** The request asked to stop running VMs first (onRunning STOP): they are being stopped. */
    STOPPING_VM,
    /** Every VM using the volume is now fully stopped. */
    VM_STOPPED,
    /** The backup taken before the export (backupFirst) is ready. */
    BACKUP_READY,
    /** The image was created: the copy runs. */
    STARTED,
    /** The copy moved on by at least 10 points. */
    PROGRESS,
    /** The image is ready. Final. */
    COMPLETED,
    /** The export ended without an image. Final. */
    FAILED,
    /** After the end, the VMs the guard stopped were started again (restartAfter). */
    VM_RESTARTED,
    /** After the end, a VM the guard stopped could not be started again. */
    RESTART_FAILED,
    /**
     * An export started outside the guard (Harvester's UI, kubectl) was admitted by its webhook: every VM using the
     * volume was fully stopped. The guard does not run that export. Final.
     */
    ADMITTED;

    public boolean isFinal() {
        return this == REJECTED || this == COMPLETED || this == FAILED || this == ADMITTED;
    }

    /** The last segment of the CloudEvents type, e.g. {@code rejected}. */
    public String cloudEventSuffix() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
