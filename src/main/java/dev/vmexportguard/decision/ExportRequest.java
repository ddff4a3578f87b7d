package dev.vmexportguard.decision;

/**
 * A validated export request (contract v1). Optional fields are null when absent.
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
        String replyTo) {

    public enum OnRunning { REJECT, STOP }
}
