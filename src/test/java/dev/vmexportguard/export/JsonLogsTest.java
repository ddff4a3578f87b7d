package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.OneExportSlot;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** With JSON logs switched on, every line is a JSON object, and a line about a request has its id in mdc. */
@QuarkusTest
@TestProfile(OneExportSlot.class)
class JsonLogsTest extends GuardIntegrationTest {
    static final Path LOG = OneExportSlot.JSON_LOG;
    private static final ObjectMapper JSON = new ObjectMapper();


    @Test
    void jsonLinesCarryTheRequestIdInMdc() {
        stoppedVm("vm1", "vm1-disk-0-abcde");
        String id = send("vm1", null);
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);
        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");

        JsonNode ended = await().atMost(Duration.ofSeconds(10)).until(() -> lines().stream()
                .filter(l -> l.path("message").asText().contains("export " + id + " ended")).findFirst().orElse(null),
                l -> l != null);
        assertThat(ended.path("mdc").path("requestId").asText()).isEqualTo(id);
        assertThat(ended.path("mdc").path("namespace").asText()).isEqualTo(ns);
    }

    /** Every line of the log file, each parsed as JSON (a line that is not JSON fails the test). */
    private static List<JsonNode> lines() {
        try {
            return Files.readAllLines(LOG).stream().filter(l -> !l.isBlank()).map(l -> {
                try {
                    return JSON.readTree(l);
                } catch (IOException e) {
                    throw new AssertionError("not a JSON line: " + l, e);
                }
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
