package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.support.GuardProcess;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a new user does: runs the README's run command, waits until it is ready, asks over HTTP for the running demo
 * VM (refused) and the stopped one (exported to the end), asks once over Kafka, reads the audit, and stops it with
 * SIGTERM; nothing it started is left running.
 */
class LocalModeIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final Path log = Path.of("target", "local-mode.log").toAbsolutePath();
    private Process local;
    private int port;

    @AfterEach
    void stopLeftovers() {
        if (local != null) {
            local.descendants().forEach(ProcessHandle::destroyForcibly);
            local.destroyForcibly();
        }
    }

    @Test
    void newUserSeesTheGuardWorkAndStopsItCleanly() throws Exception {
        port = GuardProcess.freePort();
        ProcessBuilder builder = new ProcessBuilder("./run-local.sh").redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("GUARD_HTTP_PORT", Integer.toString(port));
        local = builder.start();
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            assertThat(local.isAlive()).as("run-local.sh is running; see %s", log).isTrue();
            return Files.readString(log).contains("VM Export Guard is ready");
        });

        post("{\"requestId\":\"it-web\",\"namespace\":\"demo\",\"vmName\":\"web\",\"requestedBy\":\"new-user\"}");
        JsonNode web = awaitStatus("it-web", "REJECTED");
        assertThat(web.path("reason").asText()).isEqualTo("VM_RUNNING");

        post("{\"requestId\":\"it-db\",\"namespace\":\"demo\",\"vmName\":\"db\",\"requestedBy\":\"new-user\"}");
        JsonNode db = awaitStatus("it-db", "COMPLETED");
        assertThat(db.path("history").findValuesAsText("type")).contains("RECEIVED", "STARTED", "COMPLETED");

        try (OutputStream stdin = local.getOutputStream()) {
            stdin.write(("{\"requestId\":\"it-kafka\",\"namespace\":\"demo\",\"vmName\":\"app\",\"volumeName\":\"app-disk-1\","
                    + "\"requestedBy\":\"new-user\"}\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        }
        JsonNode kafka = awaitStatus("it-kafka", "COMPLETED");
        assertThat(kafka.path("volumeName").asText()).isEqualTo("app-disk-1");

        JsonNode audit = get("/api/audit?requestedBy=new-user&limit=100");
        assertThat(audit.path("items").findValuesAsText("requestId")).contains("it-web", "it-db", "it-kafka");

        List<ProcessHandle> started = new ArrayList<>(local.descendants().toList());
        started.add(local.toHandle());
        // PostgreSQL detaches from its launcher: found by its data directory, under target/
        String target = Path.of("target").toAbsolutePath().toString();
        List<Long> thisTest = new ArrayList<>();
        for (Optional<ProcessHandle> p = Optional.of(ProcessHandle.current()); p.isPresent(); p = p.get().parent()) {
            thisTest.add(p.get().pid());
        }
        ProcessHandle.allProcesses()
                .filter(p -> !thisTest.contains(p.pid()))
                .filter(p -> p.info().commandLine().map(c -> c.contains(target) && c.contains("postgres")).orElse(false))
                .forEach(started::add);
        assertThat(started).as("the launcher, the guard and PostgreSQL").hasSizeGreaterThanOrEqualTo(3)
                .anyMatch(p -> p.info().commandLine().orElse("").contains("quarkus-run.jar"))
                .anyMatch(p -> p.info().commandLine().orElse("").contains("postgres"));

        local.destroy();
        assertThat(local.waitFor(60, TimeUnit.SECONDS)).as("stopped on SIGTERM").isTrue();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(started.stream().filter(ProcessHandle::isAlive).map(p -> p.pid() + " " + p.info().commandLine().orElse("")))
                        .as("processes left behind").isEmpty());
    }

    private void post(String body) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(uri("/api/exports"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
    }

    private JsonNode awaitStatus(String requestId, String status) {
        return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                .until(() -> get("/api/exports/" + requestId), s -> s != null && status.equals(s.path("status").asText()));
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(uri(path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
