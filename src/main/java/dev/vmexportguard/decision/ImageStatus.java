package dev.vmexportguard.decision;

import java.time.Instant;

/**
 * What Harvester reports of an export image: {@code status.progress}, sizes and the conditions that end it
 * ({@code Imported=True} and when it became so, {@code RetryLimitExceeded=True} with its message).
 * {@code importedAt} is the {@code Imported} condition's time as written (whole seconds on a real cluster), or null
 * when it carries none.
 */
public record ImageStatus(int progress, Long size, Long virtualSize, String storageClassName, boolean imported,
                          Instant importedAt, boolean retryLimitExceeded, String failureMessage) {
}
