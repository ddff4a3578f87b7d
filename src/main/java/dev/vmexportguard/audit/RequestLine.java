package dev.vmexportguard.audit;

import java.time.Instant;

/**
 * One request as the audit tells it: when it was received (its first row, whose id pages the lines), its latest event
 * ({@code status}: {@code RECEIVED} while none), its final event ({@code outcome}, null while none) with its reason, the
 * latest message, whom it was for and who sent it, and the image it names last.
 */
public record RequestLine(long firstId, String requestId, Instant receivedAt, String status, String outcome,
                          String reason, String message, String namespace, String vmName, String volumeName,
                          String requestedBy, String caller, String imageNamespace, String imageName,
                          String imageDisplayName, Instant updatedAt) {
}
