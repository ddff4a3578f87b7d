package dev.vmexportguard.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The built guard ({@code target/quarkus-app/quarkus-run.jar}) as an operating-system process. */
public final class GuardProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final Process process;
    private final int port;
    private final Path log;

    private GuardProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    public static GuardProcess start(String name, Map<String, String> environment) throws IOException {
        return start(name, environment, freePort());
    }

    /** Starts the guard listening on {@code port}. */
    public static GuardProcess start(String name, Map<String, String> environment, int port) throws IOException {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: this test runs after `package`");
        }
        Path log = Path.of("target", "guard-" + name + ".log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m", "-XX:+UseSerialGC", "-Djava.io.tmpdir=target", "-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        return new GuardProcess(builder.start(), port, log);
    }

    public void awaitReady(Duration limit) throws InterruptedException {
        Instant until = Instant.now().plus(limit);
        while (Instant.now().isBefore(until)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("guard exited with " + process.exitValue() + "; see " + log);
            }
            try {
                HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(uri("/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (ready.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("guard not ready within " + limit + "; see " + log);
    }

    /** The HTTP status of {@code GET path}, asked with no token. */
    public int status(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** GET as the operator, who may read every namespace's audit (every {@code /api} call needs a bearer token). */
    public String get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(uri(path))
                        .header("Authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("GET " + path + " answered " + response.statusCode());
        }
        return response.body();
    }

    /** GET as the operator of a stream (Server-Sent Events), answered once its headers are in. */
    public HttpResponse<java.io.InputStream> stream(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).header("Accept", "text/event-stream")
                        .header("Authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    /** SIGKILL: no shutdown hook runs, nothing is flushed. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** SIGTERM; true if the process ended within the limit. */
    public boolean terminate(Duration limit) throws InterruptedException {
        process.destroy();
        return process.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    public boolean alive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    public int port() {
        return port;
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
