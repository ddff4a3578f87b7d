package dev.vmexportguard.decision;

import java.time.Instant;
import java.util.List;

/**
 * A validated export request (contract v1). Optional fields are null when absent; {@code requestedByGroups} is
 * empty when absent. {@code notAfter}: the request must not act after this time.
 */
public record ExportRequest(
        String requestId,
        String namespace,
        String vmName,
        String volumeName,
        String requestedBy,
        String imageDisplayName,
        String storageClassName,
        OnRunning onRunning,
        boolean restartAfter,
        String reason,
        String replyTo,
        Integer stopGracePeriodSeconds,
        boolean backupFirst,
        BackupType backupType,
        List<String> requestedByGroups,
        Instant notAfter) {

    /** What to do when a VM using the volume runs: refuse, or stop it first. */
    public enum OnRunning { REJECT, STOP }

    /** Harvester's VirtualMachineBackup types: in-cluster snapshot, or a backup to the backup target. */
    public enum BackupType {
        SNAPSHOT, BACKUP;

        /** The value of {@code spec.type} in a VirtualMachineBackup. */
        public String specValue() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The same request for {@code requester}, whose groups are then the ones its rights are checked with. */
    public ExportRequest actingFor(Identity requester) {
        return new ExportRequest(requestId, namespace, vmName, volumeName, requester.username(), imageDisplayName,
                storageClassName, onRunning, restartAfter, reason, replyTo, stopGracePeriodSeconds, backupFirst,
                backupType, requester.groups(), notAfter);
    }

    /** The same request about a resolved volume and image display name, as it is kept once accepted. */
    public ExportRequest resolved(String volume, String displayName) {
        return new ExportRequest(requestId, namespace, vmName, volume, requestedBy, displayName, storageClassName,
                onRunning, restartAfter, reason, replyTo, stopGracePeriodSeconds, backupFirst, backupType,
                requestedByGroups, notAfter);
    }
}
