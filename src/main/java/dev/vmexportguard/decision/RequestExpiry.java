package dev.vmexportguard.decision;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Whether a request is too old to act on: a request that waited (a consumer that was down, a backlog, a producer
 * that retried for long) must not export a VM its requester has meanwhile started, or no longer wants exported.
 * A request has expired when its record was written longer ago than the guard's maximum age, or when its
 * {@code notAfter} has passed.
 */
public final class RequestExpiry {

    private RequestExpiry() {
    }

    /**
     * The refusal's message when the request has expired, else empty.
     *
     * @param recordTime when its record was written (the Kafka record's timestamp); null when unknown, and then only
     *                   {@code notAfter} applies
     * @param notAfter   the request's {@code notAfter}, or null
     * @param maxAge     how old a record may be
     * @param now        the guard's time
     */
    public static Optional<String> check(Instant recordTime, Instant notAfter, Duration maxAge, Instant now) {
        if (notAfter != null && now.isAfter(notAfter)) {
            return Optional.of(Messages.requestExpired(notAfter, Duration.between(notAfter, now)));
        }
        if (recordTime != null) {
            Duration age = Duration.between(recordTime, now);
            if (age.compareTo(maxAge) > 0) {
                return Optional.of(Messages.requestTooOld(recordTime, age, maxAge));
            }
        }
        return Optional.empty();
    }
}
