package dev.vmexportguard.bench;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The built guard as a process with the JVM options of its container: {@code JAVA_OPTS_APPEND} as
 * docker/Dockerfile.jvm sets it, and {@code -XX:MaxRAM} at the memory limit of the guard's container in
 * k8s/base/deployment.yaml, so that the heap is sized from the limit as in the pod. Both are read from those files,
 * so the benchmark follows them when they change.
 */
final class GuardJvm implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final Pattern ENV_PAIR = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"([^\"]*)\"|'([^']*)'|(\\S+))");
    private static final Pattern CALLS = Pattern.compile("^guard_cluster_calls_total\\{([^}]*)}\\s+(\\S+)");
    private static final Pattern ANSWERS = Pattern.compile(
            "^(guard_requests_total|guard_result_events_total)\\{([^}]*)}\\s+(\\S+)");
    /** The requests the guard answered (decided), and the result events it published and audited. */
    static final String DECIDED = "guard decided";
    static final String PUBLISHED = "guard published";
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    private final Process process;
    private final int port;
    private final Path log;
    private final long launchedAt;

    private GuardJvm(Process process, int port, Path log, long launchedAt) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.launchedAt = launchedAt;
    }

    /** What the JVM of the guard's container is given: the image's options, then the container's memory limit. */
    record ContainerOptions(List<String> javaOptsAppend, String memoryLimit, long memoryLimitBytes) {
        List<String> all() {
            List<String> options = new ArrayList<>(javaOptsAppend);
            options.add("-XX:MaxRAM=" + memoryLimitBytes);
            return options;
        }
    }

    static ContainerOptions containerOptions(Path root) throws IOException {
        String opts = null;
        for (String line : Files.readAllLines(root.resolve("docker/Dockerfile.jvm"))) {
            if (line.startsWith("ENV ")) {
                Matcher m = ENV_PAIR.matcher(line.substring(4));
                while (m.find()) {
                    if (m.group(1).equals("JAVA_OPTS_APPEND")) {
                        opts = m.group(3) != null ? m.group(3) : m.group(4) != null ? m.group(4) : m.group(5);
                    }
                }
            }
        }
        if (opts == null) {
            throw new IllegalStateException("docker/Dockerfile.jvm sets no JAVA_OPTS_APPEND");
        }
        Deployment deployment;
        try (InputStream in = Files.newInputStream(root.resolve("k8s/base/deployment.yaml"))) {
            deployment = Serialization.unmarshal(in, Deployment.class);
        }
        Container guard = deployment.getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(c -> c.getName().equals(deployment.getMetadata().getName())).findFirst()
                .orElse(deployment.getSpec().getTemplate().getSpec().getContainers().get(0));
        Quantity limit = guard.getResources() == null || guard.getResources().getLimits() == null ? null
                : guard.getResources().getLimits().get("memory");
        if (limit == null) {
            throw new IllegalStateException("k8s/base/deployment.yaml gives the guard's container no memory limit");
        }
        return new ContainerOptions(Arrays.stream(opts.trim().split("\\s+")).toList(), limit.toString(),
                Quantity.getAmountInBytes(limit).longValueExact());
    }

    /** The collector and heap this JVM picks with {@code options} on this machine ({@code -XX:+PrintFlagsFinal}). */
    static String gcAndHeap(List<String> options) {
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(options.stream().filter(o -> o.startsWith("-XX:")).toList());
        command.addAll(List.of("-XX:+PrintFlagsFinal", "-version"));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor(30, TimeUnit.SECONDS);
            String gc = "?";
            long heap = -1;
            for (String line : out.split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 4 && f[1].matches("Use(Serial|Parallel|G1|Z|Shenandoah)GC") && f[3].equals("true")) {
                    gc = f[1].substring(3);
                }
                if (f.length >= 4 && f[1].equals("MaxHeapSize")) {
                    heap = Long.parseLong(f[3]);
                }
            }
            return gc + ", max heap " + (heap < 0 ? "?" : heap / (1024 * 1024) + " MiB");
        } catch (IOException | InterruptedException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Launches {@code target/quarkus-app/quarkus-run.jar} with {@code jvmOptions}, listening on {@code port}. */
    static GuardJvm start(String name, List<String> jvmOptions, Map<String, String> environment, int port)
            throws IOException {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: build the guard first (./mvnw package -DskipTests)");
        }
        Path dir = Files.createDirectories(Path.of("target", "benchmark"));
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path log = dir.resolve("guard-" + name + ".log");
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(jvmOptions);
        // the pod's emptyDir at /tmp
        command.add("-Djava.io.tmpdir=" + tmp.toAbsolutePath());
        command.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        long launched = System.nanoTime();
        return new GuardJvm(builder.start(), port, log, launched);
    }

    /** Waits for {@code GET /q/health/ready} to answer 200; the time from the launch to that answer. */
    Duration awaitReady(Duration limit) throws InterruptedException {
        long until = System.nanoTime() + limit.toNanos();
        HttpRequest ready = HttpRequest.newBuilder(uri("/q/health/ready")).timeout(Duration.ofSeconds(2)).build();
        while (System.nanoTime() < until) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the guard exited with " + process.exitValue() + "; see " + log);
            }
            try {
                if (HTTP.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return Duration.ofNanos(System.nanoTime() - launchedAt);
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("the guard was not ready within " + limit + "; see " + log);
    }

    /**
     * {@code guard_cluster_calls_total} from {@code /q/metrics}, summed over outcomes by {@code verb resource};
     * failures also under {@code verb resource (failure)}; and the sums of {@code guard_requests_total} and
     * {@code guard_result_events_total} under {@value #DECIDED} and {@value #PUBLISHED}.
     */
    Map<String, Double> clusterCalls() throws IOException, InterruptedException {
        HttpResponse<String> metrics = HTTP.send(HttpRequest.newBuilder(uri("/q/metrics"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        if (metrics.statusCode() != 200) {
            throw new IllegalStateException("GET /q/metrics answered " + metrics.statusCode());
        }
        Map<String, Double> calls = new HashMap<>();
        for (String line : metrics.body().split("\n")) {
            Matcher a = ANSWERS.matcher(line);
            if (a.find()) {
                calls.merge(a.group(1).equals("guard_requests_total") ? DECIDED : PUBLISHED,
                        Double.parseDouble(a.group(3)), Double::sum);
                continue;
            }
            Matcher m = CALLS.matcher(line);
            if (!m.find()) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            Matcher l = LABEL.matcher(m.group(1));
            while (l.find()) {
                labels.put(l.group(1), l.group(2));
            }
            String kind = labels.get("verb") + " " + labels.get("resource");
            double value = Double.parseDouble(m.group(2));
            calls.merge(kind, value, Double::sum);
            if ("failure".equals(labels.get("outcome"))) {
                calls.merge(kind + " (failure)", value, Double::sum);
            }
        }
        return calls;
    }

    /** {@code VmRSS} and {@code VmHWM} of the guard's process, in bytes (-1 when unreadable). */
    long[] residentMemory() {
        long rss = -1;
        long hwm = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = kilobytes(line) * 1024;
                } else if (line.startsWith("VmHWM:")) {
                    hwm = kilobytes(line) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not on Linux, or the process is gone
        }
        return new long[] {rss, hwm};
    }

    private static long kilobytes(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    /** What Quarkus logged as its start time ({@code started in 1.234s}), or "?" until it has. */
    String quarkusStartedIn() {
        try {
            Matcher m = Pattern.compile("started in ([0-9.]+s)").matcher(Files.readString(log));
            return m.find() ? m.group(1) : "?";
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    long pid() {
        return process.pid();
    }

    Path log() {
        return log;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** SIGTERM, then SIGKILL if it has not ended within {@code limit}. */
    void stop(Duration limit) throws InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    @Override
    public void close() throws InterruptedException {
        stop(Duration.ofSeconds(40));
    }
}
