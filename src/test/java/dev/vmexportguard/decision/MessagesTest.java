package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.runtime.configuration.DurationConverter;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Durations in messages are written the way the settings are: {@code 4s}, {@code 10m}, {@code 1h30m}. */
class MessagesTest {

    static Stream<Arguments> durations() {
        return Stream.of(
                Arguments.of(Duration.ZERO, "0s"),
                Arguments.of(Duration.ofMillis(250), "250ms"),
                Arguments.of(Duration.ofMillis(1500), "1500ms"),
                Arguments.of(Duration.ofSeconds(4), "4s"),
                Arguments.of(Duration.ofSeconds(59), "59s"),
                Arguments.of(Duration.ofMinutes(10), "10m"),
                Arguments.of(Duration.ofSeconds(90), "1m30s"),
                Arguments.of(Duration.ofMinutes(90), "1h30m"),
                Arguments.of(Duration.ofHours(6), "6h"),
                Arguments.of(Duration.ofHours(1).plusSeconds(5), "1h5s"),
                Arguments.of(Duration.ofHours(51), "51h"),
                Arguments.of(Duration.ofDays(365), "365d"));
    }

    @ParameterizedTest
    @MethodSource("durations")
    void aDurationIsWrittenAsASetting(Duration duration, String written) {
        assertThat(Messages.human(duration)).isEqualTo(written);
    }

    @ParameterizedTest
    @MethodSource("durations")
    void whatIsWrittenIsReadBackByTheSettingsAsTheSameDuration(Duration duration, String written) {
        assertThat(new DurationConverter().convert(Messages.human(duration))).isEqualTo(duration);
    }

    @Test
    void messagesThatNameADurationWriteItAsASetting() {
        var export = new ExportTracking.RunningExport("ns", "vol", "vmexport-1", "img", null, 0, null);
        assertThat(Messages.exportTimeout(export, Duration.ofMinutes(90), true)).contains("longer than 1h30m;");
        assertThat(Messages.stopTimeout(Duration.ofSeconds(4), "Refused: VM ns/vm1 (Running) is not fully stopped; x"))
                .startsWith("Export failed: after 4s VM ns/vm1 (Running)");
        assertThat(Messages.restartNotStopped("ns", "vm1", Duration.ofMinutes(10), "Stopping")).contains(" 10m after");
        assertThat(Messages.restartLocked("ns", "vm1", Duration.ofMinutes(90), java.util.List.of("r1")))
                .contains(" 1h30m after");
    }
}
