package dev.vmexportguard.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardIntegrationTest;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.jboss.logmanager.ExtLogRecord;
import org.jboss.logmanager.LogManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Lines the guard logs while it works on a request carry the request's id, namespace and volume in the MDC. */
@QuarkusTest
class RequestIdInLogsTest extends GuardIntegrationTest {
    private final List<ExtLogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record instanceof ExtLogRecord ext) {
                ext.copyMdc();
                records.add(ext);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void captureLogs() {
        LogManager.getLogManager().getLogger("dev.vmexportguard").addHandler(capture);
    }

    @AfterEach
    void stopCapturing() {
        LogManager.getLogManager().getLogger("dev.vmexportguard").removeHandler(capture);
    }

    @Test
    void linesOfAnExportCarryItsRequestId() {
        stoppedVm("vm1", "vm1-disk-0-abcde");
        String id = send("vm1", null);
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);
        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");

        await().atMost(Duration.ofSeconds(10)).until(() -> records.stream()
                .anyMatch(r -> r.getFormattedMessage().contains("export " + id + " ended")));
        ExtLogRecord ended = records.stream()
                .filter(r -> r.getFormattedMessage().contains("export " + id + " ended")).findFirst().orElseThrow();
        assertThat(ended.getMdc("requestId")).isEqualTo(id);
        assertThat(ended.getMdc("namespace")).isEqualTo(ns);
        assertThat(ended.getMdc("volume")).isEqualTo("vm1-disk-0-abcde");
        // no line about this request logged without its id
        assertThat(records.stream().filter(r -> r.getFormattedMessage().contains(id)))
                .allSatisfy(r -> assertThat(r.getMdc("requestId")).isEqualTo(id));
    }
}
