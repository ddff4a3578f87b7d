package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RequestExpiryTest {
    static final Instant NOW = Instant.parse("2026-11-26T18:20:00Z");
    static final Duration MAX_AGE = Duration.ofMinutes(15);

    static Optional<String> check(Instant recordTime, Instant notAfter) {
        return RequestExpiry.check(recordTime, notAfter, MAX_AGE, NOW);
    }

    @Test
    void aFreshRecordWithoutNotAfterIsServed() {
        assertThat(check(NOW.minusSeconds(5), null)).isEmpty();
        assertThat(check(NOW, null)).isEmpty();
    }

    @Test
    void aRecordExactlyAsOldAsTheMaximumIsServed() {
        assertThat(check(NOW.minus(MAX_AGE), null)).isEmpty();
    }

    @Test
    void aRecordOlderThanTheMaximumHasExpiredAndTheMessageSaysHowOldAndTheWayOut() {
        Optional<String> expired = check(NOW.minus(Duration.ofMinutes(20).plusSeconds(3).plusMillis(400)), null);

        assertThat(expired).hasValue("Refused: the request was sent 20m3s ago (at 2026-11-26T17:59:56Z), longer"
                + " ago than the guard acts on requests (15m, guard.request.max-age), so nothing was done."
                + " Send a new request if the export is still wanted.");
    }

    @Test
    void justOverTheMaximumHasExpired() {
        assertThat(check(NOW.minus(MAX_AGE).minusMillis(1), null)).isPresent();
    }

    @Test
    void aRecordTimeInTheFutureIsNoAge() {
        // another producer's clock ahead of the guard's
        assertThat(check(NOW.plus(Duration.ofHours(1)), null)).isEmpty();
    }

    @Test
    void withoutARecordTimeOnlyNotAfterApplies() {
        assertThat(check(null, null)).isEmpty();
        assertThat(check(null, NOW.plusSeconds(60))).isEmpty();
        assertThat(check(null, NOW.minusSeconds(90))).hasValueSatisfying(m ->
                assertThat(m).contains("expired at 2026-11-26T18:18:30Z (its notAfter), 1m30s before"));
    }

    @Test
    void aRequestPastItsNotAfterHasExpiredHoweverFreshItsRecordAndTheMessageSaysSinceWhen() {
        Optional<String> expired = check(NOW.minusSeconds(1), Instant.parse("2026-11-26T16:15:00Z"));

        assertThat(expired).hasValue("Refused: the request expired at 2026-11-26T16:15:00Z (its notAfter), 2h5m"
                + " before the guard came to it, so nothing was done. Send a new request if the export is still wanted.");
    }

    @Test
    void aNotAfterNotYetReachedLetsAFreshRecordBeServed() {
        assertThat(check(NOW.minusSeconds(1), NOW.plus(Duration.ofDays(1)))).isEmpty();
        assertThat(check(NOW.minusSeconds(1), NOW)).as("at notAfter itself, not after it").isEmpty();
    }

    @Test
    void aNotAfterInTheFutureDoesNotExtendTheMaximumAge() {
        assertThat(check(NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(1))))
                .hasValueSatisfying(m -> assertThat(m).contains("was sent 1h ago"));
    }

    @Test
    void whenBothApplyTheNotAfterIsNamed() {
        assertThat(check(NOW.minus(Duration.ofHours(1)), NOW.minusSeconds(30)))
                .hasValueSatisfying(m -> assertThat(m).contains("(its notAfter), 30s before"));
    }

    @Test
    void theMaximumAgeIsTheOneGiven() {
        assertThat(RequestExpiry.check(NOW.minusSeconds(6), null, Duration.ofSeconds(5), NOW))
                .hasValueSatisfying(m -> assertThat(m).contains("sent 6s ago").contains("(5s, guard.request.max-age)"));
        assertThat(RequestExpiry.check(NOW.minus(Duration.ofDays(2)), null, Duration.ofDays(3), NOW)).isEmpty();
    }

    static Stream<Arguments> elapsedTimes() {
        return Stream.of(
                Arguments.of(Duration.ofMillis(300), "under a second"),
                Arguments.of(Duration.ofSeconds(45), "45s"),
                Arguments.of(Duration.ofSeconds(60), "1m"),
                Arguments.of(Duration.ofSeconds(1203), "20m3s"),
                Arguments.of(Duration.ofMinutes(125), "2h5m"),
                Arguments.of(Duration.ofHours(2).plusSeconds(7), "2h"),
                Arguments.of(Duration.ofDays(3).plusHours(1).plusMinutes(59), "73h"));
    }

    @ParameterizedTest
    @MethodSource("elapsedTimes")
    void ageIsToldInItsTwoLargestUnits(Duration elapsed, String told) {
        assertThat(Messages.elapsed(elapsed)).isEqualTo(told);
    }

    @Test
    void theReasonCodeFollowsInvalidRequest() {
        assertThat(ReasonCode.REQUEST_EXPIRED.ordinal()).isEqualTo(ReasonCode.INVALID_REQUEST.ordinal() + 1);
    }
}
