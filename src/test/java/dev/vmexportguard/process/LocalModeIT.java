package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.WebhookCertificate;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a new user does: runs the README's run command, waits until it is ready, copies the demo tokens it prints, asks
 * over HTTP as the operator for the running demo VM (refused) and the stopped one (exported to the end), asks once
 * over Kafka, lets the chat-ops bot ask for one of the demo's people, reads the audit as the operator and as the
 * auditor, and stops it with SIGTERM; nothing it started is left running. Without a token the API answers 401.
 */
class LocalModeIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    /** A token line of the banner, as a shell takes it: {@code   OPERATOR=token-...   # who}. */
    private static final Pattern TOKEN = Pattern.compile("(?m)^\\s*(OPERATOR|BOT|AUDITOR)=(\\S+)");
    /** The banner's line naming the API server that calls the admission webhook. */
    private static final Pattern KUBERNETES = Pattern.compile("admission webhook \\(API server (https://[^,\\s]+),");
    private final Path log = Path.of("target", "local-mode.log").toAbsolutePath();
    /** The certificate local mode makes for the webhook and its API server, and prints. */
    private static final Path CA = Path.of("target", "local-tls", "tls.crt").toAbsolutePath();
    private Process local;
    private int port;
    private String operator;

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
        Map<String, String> tokens = new HashMap<>();
        for (Matcher m = TOKEN.matcher(Files.readString(log)); m.find(); ) {
            tokens.put(m.group(1), m.group(2));
        }
        assertThat(tokens).as("the demo tokens printed; see %s", log).containsOnlyKeys("OPERATOR", "BOT", "AUDITOR");
        operator = tokens.get("OPERATOR");
        String bot = tokens.get("BOT");
        String auditor = tokens.get("AUDITOR");

        assertThat(send(null, "GET", "/api/audit", null).statusCode()).as("no token").isEqualTo(401);
        assertThat(send(null, "POST", "/api/exports", "{\"requestId\":\"it-anonymous\",\"namespace\":\"demo\","
                + "\"vmName\":\"db\",\"requestedBy\":\"new-user\"}").statusCode()).as("no token").isEqualTo(401);
        assertThat(send("token-operator", "GET", "/api/audit", null).statusCode())
                .as("the tests' fixed tokens are not accepted").isEqualTo(401);
        assertThat(send(null, "GET", "/q/openapi", null).statusCode()).as("the API's description is on").isEqualTo(200);
        assertThat(Files.readString(log)).as("the dashboard's address and its demo token are printed")
                .contains("Dashboard                http://localhost:" + port + "/  (sign in with the demo token "
                        + operator);
        HttpResponse<String> page = send(null, "GET", "/", null);
        assertThat(page.statusCode()).as("the dashboard is served at /").isEqualTo(200);
        assertThat(page.body()).contains("<title>VM Export Guard</title>");

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

        // Harvester's Export Image, through the simulated API server that calls the guard's admission webhook
        Matcher printed = KUBERNETES.matcher(Files.readString(log));
        assertThat(printed.find()).as("the API server with the webhook is printed; see %s", log).isTrue();
        URI kubernetes = URI.create(printed.group(1));
        HttpResponse<String> ofWeb = exportImage(kubernetes, "web-disk-0");
        assertThat(ofWeb.statusCode()).as(ofWeb.body()).isEqualTo(403);
        assertThat(JSON.readTree(ofWeb.body()).path("message").asText()).startsWith("admission webhook"
                + " \"export-images.vm-export-guard.dev\" denied the request: Refused: VM demo/web (Running, VMI phase Running) is not fully stopped");
        HttpResponse<String> ofDb = exportImage(kubernetes, "db-disk-0");
        assertThat(ofDb.statusCode()).as(ofDb.body()).isEqualTo(201);
        assertThat(JSON.readTree(ofDb.body()).path("metadata").path("name").asText()).startsWith("ui-export-");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                get("/api/audit?requestedBy=operator@demo&limit=100").path("items").findValuesAsText("type"))
                .contains("REJECTED", "ADMITTED"));
        Path kubectl = Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                .map(dir -> Path.of(dir, "kubectl")).filter(Files::isExecutable).findFirst().orElse(null);
        if (kubectl != null) {
            // the README's command, where kubectl is installed
            Path image = Files.createTempFile(Path.of("target"), "ui-export", ".json");
            Files.writeString(image, uiExport("web-disk-0"));
            Process create = new ProcessBuilder(kubectl.toString(), "--server", kubernetes.toString(),
                    "--certificate-authority", CA.toString(), "--token", operator, "create", "--validate=false", "-f",
                    image.toString()).redirectErrorStream(true).start();
            String said = new String(create.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(create.waitFor()).as(said).isNotZero();
            assertThat(said).contains("denied the request: Refused: VM demo/web (Running, VMI phase Running) is not fully stopped");
            Files.delete(image);
        }
        assertThat(kafka.path("volumeName").asText()).isEqualTo("app-disk-1");
        assertThat(kafka.path("caller").asText()).as("sent with the operator's token").isEqualTo("operator@demo");

        JsonNode audit = get("/api/audit?requestedBy=new-user&limit=100");
        assertThat(audit.path("items").findValuesAsText("requestId")).contains("it-web", "it-db", "it-kafka");

        // the chat-ops bot acts for one of the demo's people, not for anyone else
        HttpResponse<String> forAlice = send(bot, "POST", "/api/exports", "{\"requestId\":\"it-bot\","
                + "\"namespace\":\"demo\",\"vmName\":\"db\",\"requestedBy\":\"alice@demo\"}");
        assertThat(forAlice.statusCode()).as(forAlice.body()).isEqualTo(202);
        JsonNode byBot = awaitStatus("it-bot", "COMPLETED");
        assertThat(byBot.path("requestedBy").asText()).isEqualTo("alice@demo");
        assertThat(byBot.path("caller").asText()).isEqualTo("system:serviceaccount:demo:chatops-bot");
        HttpResponse<String> forStranger = send(bot, "POST", "/api/exports", "{\"requestId\":\"it-bot-stranger\","
                + "\"namespace\":\"demo\",\"vmName\":\"db\",\"requestedBy\":\"mallory@example.com\"}");
        assertThat(forStranger.statusCode()).as(forStranger.body()).isEqualTo(403);
        HttpResponse<String> botReads = send(bot, "GET", "/api/audit", null);
        assertThat(botReads.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(botReads.body()).path("items")).as("the bot may not read the audit").isEmpty();

        // the auditor reads the audit of namespace demo
        HttpResponse<String> audited = send(auditor, "GET", "/api/audit?limit=100", null);
        assertThat(audited.statusCode()).as(audited.body()).isEqualTo(200);
        JsonNode rows = JSON.readTree(audited.body()).path("items");
        assertThat(rows.findValuesAsText("requestId")).contains("it-db", "it-kafka", "it-bot");
        assertThat(rows.findValuesAsText("namespace")).containsOnly("demo");

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

    /** What Harvester's Export Image action creates for {@code volume} of namespace demo. */
    private static String uiExport(String volume) {
        return "{\"apiVersion\":\"harvesterhci.io/v1beta1\",\"kind\":\"VirtualMachineImage\",\"metadata\":"
                + "{\"generateName\":\"ui-export-\",\"namespace\":\"demo\"},\"spec\":{\"displayName\":\"ui-"
                + volume + "\",\"sourceType\":\"export-from-volume\",\"pvcNamespace\":\"demo\",\"pvcName\":\""
                + volume + "\",\"storageClassName\":\"harvester-longhorn\"}}";
    }

    /** Creates that image as the operator through the API server at {@code kubernetes}. */
    private HttpResponse<String> exportImage(URI kubernetes, String volume) throws IOException, InterruptedException {
        X509Certificate ca;
        try (var in = Files.newInputStream(CA)) {
            ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (java.security.cert.CertificateException e) {
            throw new IllegalStateException(e);
        }
        HttpClient trusting = HttpClient.newBuilder().sslContext(WebhookCertificate.trusting(ca)).build();
        return trusting.send(HttpRequest.newBuilder(kubernetes.resolve(
                        "/apis/harvesterhci.io/v1beta1/namespaces/demo/virtualmachineimages"))
                .header("Authorization", "Bearer " + operator).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(uiExport(volume))).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** POST as the operator. */
    private void post(String body) throws IOException, InterruptedException {
        HttpResponse<String> response = send(operator, "POST", "/api/exports", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
    }

    /** A call with {@code Authorization: Bearer token}, or with none when {@code token} is null. */
    private HttpResponse<String> send(String token, String method, String path, String body)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).method(method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode awaitStatus(String requestId, String status) {
        return await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                .until(() -> get("/api/exports/" + requestId), s -> s != null && status.equals(s.path("status").asText())
                        // the status is the export's state; its history, the audit, has the event a moment later
                        && s.path("history").findValuesAsText("type").contains(status));
    }

    /** GET as the operator: the body, or null unless 200. */
    private JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = send(operator, "GET", path, null);
        return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
