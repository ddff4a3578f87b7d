package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.ProcessBackingServices;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built application run as docker/Dockerfile.jvm's entry point runs it in a pod of k8s/base: the four
 * quarkus-app folders copied into a {@code /deployments}-like folder, {@code java $JAVA_OPTS_APPEND -jar
 * quarkus-run.jar} there with the JVM options and environment read from the Dockerfile's ENV lines, that folder not
 * writable (readOnlyRootFilesystem), a writable temporary folder as the emptyDir at /tmp, as user 185 when this
 * machine lets the test switch users. It gets ready and stops on SIGTERM within the shutdown timeout.
 */
class ContainerEntryPointIT {
    static final int USER = 185;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static ProcessBackingServices services;

    @BeforeAll
    static void startBackingServices() {
        services = ProcessBackingServices.start("vm-export-guard");
    }

    @AfterAll
    static void stopBackingServices() {
        services.stop();
    }

    /** ENV lines of the Dockerfile ({@code ENV NAME="value"} or {@code NAME=value} pairs). */
    static Map<String, String> dockerfileEnvironment() throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        Pattern pair = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"([^\"]*)\"|'([^']*)'|(\\S+))");
        for (String line : Files.readAllLines(Path.of("docker", "Dockerfile.jvm"))) {
            if (line.startsWith("ENV ")) {
                Matcher m = pair.matcher(line.substring(4));
                while (m.find()) {
                    env.put(m.group(1), m.group(3) != null ? m.group(3) : m.group(4) != null ? m.group(4) : m.group(5));
                }
            }
        }
        return env;
    }

    static boolean root() throws IOException, InterruptedException {
        Process id = new ProcessBuilder("id", "-u").start();
        String out = new String(id.getInputStream().readAllBytes()).trim();
        id.waitFor();
        return out.equals("0");
    }

    static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    static void readOnly(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "r-xr-xr-x" : "r--r--r--"));
            }
        }
    }

    @Test
    void startsAsTheImageDoesAndStopsOnSigterm() throws Exception {
        Map<String, String> image = dockerfileEnvironment();
        assertThat(image).containsKeys("JAVA_OPTS_APPEND", "JAVA_APP_JAR");
        String jarInImage = image.get("JAVA_APP_JAR");
        assertThat(jarInImage).startsWith("/deployments/");

        Path base = Files.createDirectories(Path.of("target", "container-entry-point")).toAbsolutePath();
        Path deployments = base.resolve("deployments");
        Path tmp = base.resolve("tmp");
        for (Path old : List.of(deployments, tmp)) {
            if (Files.exists(old)) {
                try (Stream<Path> walk = Files.walk(old)) {
                    for (Path p : walk.toList()) {
                        p.toFile().setWritable(true);
                    }
                }
                try (Stream<Path> walk = Files.walk(old)) {
                    walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
                }
            }
        }
        // the layers of the image: lib/, the runner jar, app/, quarkus/
        Path built = Path.of("target", "quarkus-app");
        assertThat(built.resolve("quarkus-run.jar")).as("this test runs after package").exists();
        for (String layer : List.of("lib", "app", "quarkus")) {
            copy(built.resolve(layer), deployments.resolve(layer));
        }
        try (Stream<Path> jars = Files.list(built)) {
            for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).toList()) {
                Files.copy(jar, deployments.resolve(jar.getFileName()));
            }
        }
        Path jar = deployments.resolve(jarInImage.substring("/deployments/".length()));
        assertThat(jar).exists();
        readOnly(deployments);
        List<Path> before;
        try (Stream<Path> walk = Files.walk(deployments)) {
            before = walk.sorted().toList();
        }
        Files.createDirectories(tmp);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));

        boolean asUser = root() && Files.isExecutable(Path.of("/usr/bin/setpriv"));
        Assumptions.assumingThat(!asUser, () -> System.out.println("ASSUMPTION: not run as user " + USER
                + ": the test runs as a non-root user already, or cannot switch users (no setpriv); it runs as itself"));

        List<String> command = new ArrayList<>();
        if (asUser) {
            command.addAll(List.of("/usr/bin/setpriv", "--reuid=" + USER, "--regid=" + USER, "--clear-groups", "--"));
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(Arrays.stream(image.get("JAVA_OPTS_APPEND").trim().split("\\s+")).toList());
        // the pod's emptyDir at /tmp
        command.add("-Djava.io.tmpdir=" + tmp);
        command.addAll(List.of("-jar", jar.toString()));

        int port = GuardProcess.freePort();
        Path log = Path.of("target", "guard-container-entry-point.log").toAbsolutePath();
        ProcessBuilder builder = new ProcessBuilder(command).directory(deployments.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(services.environment());
        builder.environment().putAll(image);
        builder.environment().put("JAVA_APP_JAR", jar.toString());
        builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        builder.environment().put("HOME", tmp.toString());
        Process guard = builder.start();
        try {
            awaitReady(guard, port, Duration.ofSeconds(60), log);
            if (asUser) {
                String status = Files.readString(Path.of("/proc", Long.toString(guard.pid()), "status"));
                assertThat(status).as("the guard's process").containsPattern("(?m)^Uid:\\s+" + USER + "\\s");
            }
            String commandLine = Files.readString(Path.of("/proc", Long.toString(guard.pid()), "cmdline")).replace('\0', ' ');
            assertThat(commandLine).contains("-XX:MaxRAMPercentage=75", "-Dquarkus.http.host=0.0.0.0",
                    "-Djava.util.logging.manager=org.jboss.logmanager.LogManager");
            // listening on every interface, as -Dquarkus.http.host=0.0.0.0 says
            assertThat(Files.readString(log)).contains("Listening on: http://0.0.0.0:" + port);

            Instant stopAt = Instant.now();
            guard.destroy();
            assertThat(guard.waitFor(40, TimeUnit.SECONDS)).as("stopped on SIGTERM within the shutdown timeout").isTrue();
            assertThat(Duration.between(stopAt, Instant.now())).isLessThan(Duration.ofSeconds(35));
            assertThat(Files.readString(log)).contains("stopped in");
        } finally {
            if (guard.isAlive()) {
                guard.destroyForcibly().waitFor();
            }
        }
        // nothing was written next to the application (the image's root file system is read-only)
        try (Stream<Path> walk = Files.walk(deployments)) {
            assertThat(walk.sorted().toList()).as("files in the application's folder after the run").isEqualTo(before);
        }
    }

    static void awaitReady(Process guard, int port, Duration limit, Path log) throws InterruptedException {
        Instant until = Instant.now().plus(limit);
        while (Instant.now().isBefore(until)) {
            if (!guard.isAlive()) {
                throw new IllegalStateException("guard exited with " + guard.exitValue() + "; see " + log);
            }
            try {
                HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
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
}
