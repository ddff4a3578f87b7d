package dev.vmexportguard.decision;

/**
 * What Harvester reports of an export image: {@code status.progress}, sizes and the conditions that end it
 * ({@code Imported=True}, {@code RetryLimitExceeded=True} with its message).
 */
public record ImageStatus(int progress, Long size, Long virtualSize, String storageClassName, boolean imported,
                          boolean retryLimitExceeded, String failureMessage) {
}
