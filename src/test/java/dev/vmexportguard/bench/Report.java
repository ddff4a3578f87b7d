package dev.vmexportguard.bench;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** The benchmark's result: one markdown table, the plain relay and the guard side by side with the targets. */
final class Report {
    private static final String NONE = "—";
    private final Settings settings;
    Machine machine;
    List<String> jvmOptions = List.of();
    String memoryLimit = "?";
    String gcAndHeap = "?";
    List<String> guardSettings = List.of();
    double[] apiListMs = new double[0];
    boolean apiIndexed;
    final List<Double> readySeconds = new ArrayList<>();
    final List<String> quarkusStartedIn = new ArrayList<>();
    long[] rssIdle = {-1, -1};
    long[] rssAfterRunningBurst = {-1, -1};
    long[] rssAfterStoppedBurst = {-1, -1};
    long[] rssEnd = {-1, -1};
    Phase relayBurst;
    Phase relayRate;
    Phase runningBurst;
    Phase runningRate;
    Phase stoppedRate;
    Phase stoppedBurst;
    Phase admissionWarmUp;
    Phase admissionRunning;
    Phase admissionStopped;
    final List<String> notes = new ArrayList<>();

    Report(Settings settings) {
        this.settings = settings;
    }

    String render() {
        StringBuilder out = new StringBuilder();
        int b = settings.burst();
        String paced = settings.rate() + "/s for " + settings.seconds() + " s";
        out.append("## VM Export Guard benchmark, ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append("\n\n");
        out.append(String.format("%d VMs (%d running, %d stopped, each with its own PVC) in %d namespaces; bursts of "
                        + "%d requests; %s; images imported %d s after they are created.%n%n", settings.vms(),
                settings.runningVms(), settings.stoppedVms(), settings.namespaces(), b, paced, settings.copySeconds()));
        out.append("| Measure | Plain relay | The guard | Target |\n|---|---|---|---|\n");

        double relayP99 = relayRate == null ? Double.NaN : Phase.percentile(relayRate.latencyMs, 99);
        row(out, "Burst of " + b + ", running VMs: throughput",
                relayBurst == null ? "skipped" : perSecond(Phase.rate(relayBurst.answered, relayBurst.seconds), "records")
                        + incomplete(relayBurst),
                runningBurst == null ? NONE : perSecond(Phase.rate(runningBurst.latencyMs.length, runningBurst.seconds),
                        "refusals") + String.format(" (%d in %s)", runningBurst.latencyMs.length,
                        seconds(runningBurst.seconds)) + incomplete(runningBurst) + "; decided (audit): "
                        + perSecond(Phase.rate(runningBurst.decidedMs.length, runningBurst.decidedSeconds), "refusals"),
                "≥ 1000 refusals/s");
        row(out, paced + ", running VMs: latency p50 / p99",
                relayRate == null ? "skipped" : p50p99(relayRate.latencyMs) + incomplete(relayRate),
                runningRate == null ? NONE : p50p99(runningRate.latencyMs) + " (send → REJECTED)"
                        + incomplete(runningRate) + "; send → decided (audit) " + p50p99(runningRate.decidedMs)
                        + ", send → taken " + p50p99(runningRate.takenMs),
                Double.isNaN(relayP99) ? "p99 ≤ 2 × the relay's" : "p99 ≤ " + ms(2 * relayP99) + " (2 × the relay's)");
        row(out, "Burst of " + b + ", stopped VMs: decisions/s", NONE,
                stoppedBurst == null ? NONE : perSecond(Phase.rate(stoppedBurst.accepted, stoppedBurst.acceptSeconds),
                        "accepted") + String.format(" (%d in %s)", stoppedBurst.accepted,
                        seconds(stoppedBurst.acceptSeconds)), NONE);
        row(out, "Burst of " + b + ", stopped VMs: starts/s", NONE,
                stoppedBurst == null ? NONE : perSecond(Phase.rate(stoppedBurst.started, stoppedBurst.startSeconds),
                        "STARTED") + String.format(" (%d in %s)", stoppedBurst.started,
                        seconds(stoppedBurst.startSeconds)) + incomplete(stoppedBurst),
                "≥ 200/s");
        if (stoppedRate != null) {
            double achieved = Phase.rate(stoppedRate.started, stoppedRate.startSeconds);
            boolean keptUp = stoppedRate.started == stoppedRate.sent && achieved >= 0.95 * settings.rate();
            row(out, paced + ", stopped VMs: STARTED rate achieved", NONE, perSecond(achieved, "STARTED")
                    + (keptUp ? ", kept up" : ", did not keep up") + String.format(" (%d/%d in %s)",
                    stoppedRate.started, stoppedRate.sent, seconds(stoppedRate.startSeconds)), settings.rate() + "/s");
            row(out, paced + ", stopped VMs: send → accepted p50 / p99", NONE, p50p99(stoppedRate.acceptMs), NONE);
            row(out, paced + ", stopped VMs: send → STARTED p50 / p99", NONE, p50p99(stoppedRate.startMs), NONE);
        }
        row(out, paced + ", admission reviews (Export Image), running VMs / stopped VMs: post → answer p50 / p99",
                NONE, admission(admissionRunning) + " / " + admission(admissionStopped), "p99 < 5 s (timeoutSeconds)");
        row(out, "API calls per refusal (running-VM burst), by kind", NONE,
                runningBurst == null ? NONE : calls(runningBurst.callsPerRequest), "≤ 3");
        Phase starts = stoppedBurst != null && !stoppedBurst.callsPerRequest.isEmpty() ? stoppedBurst
                : stoppedRate != null && !stoppedRate.callsPerRequest.isEmpty() ? stoppedRate : null;
        row(out, "API calls per start (decision and start, to STARTED), by kind", NONE, starts == null
                ? NONE + " (no stopped-VM phase got all its requests started within the limit)"
                : calls(starts.callsPerRequest) + " (" + starts.name + ")", NONE);
        row(out, "Requests per refusal / per start that reached the API server, by kind (counted there)", NONE,
                (runningBurst == null ? NONE : calls(Phase.atServer(runningBurst.callsPerRequest))) + " / "
                        + (starts == null ? NONE : calls(Phase.atServer(starts.callsPerRequest))), NONE);
        row(out, "Guard database per refusal / per start: commits, rows written", NONE,
                database(runningBurst == null ? Map.of() : runningBurst.callsPerRequest) + " / "
                        + database(starts == null ? Map.of() : starts.callsPerRequest), NONE);
        row(out, "Guard CPU time per refusal / per start (the two bursts)", NONE,
                cpuPer(runningBurst, runningBurst == null ? 0 : runningBurst.latencyMs.length) + " / "
                        + cpuPer(stoppedBurst, stoppedBurst == null ? 0 : stoppedBurst.started), NONE);
        List<Double> sorted = readySeconds.stream().sorted().toList();
        row(out, "Start to ready (launch to /q/health/ready 200)", NONE, readySeconds.isEmpty() ? NONE
                : String.format(Locale.ROOT, "%.2f s (median of %d: %s; Quarkus logged started in %s)",
                sorted.get(sorted.size() / 2), readySeconds.size(), readySeconds.stream()
                        .map(s -> String.format(Locale.ROOT, "%.2f", s)).collect(Collectors.joining(", ")) + " s",
                String.join(", ", quarkusStartedIn)), "< 2 s");
        row(out, "RSS after the bursts (VmRSS; peak VmHWM)", NONE, String.format(
                "%s after the running-VM burst, %s after the stopped-VM burst; peak %s", mib(rssAfterRunningBurst[0]),
                mib(rssAfterStoppedBurst[0]), mib(rssEnd[1])), "< 250 MB");

        out.append("\nDetails\n\n");
        out.append("- Guard JVM: `").append(String.join(" ", jvmOptions)).append("` (docker/Dockerfile.jvm's "
                + "JAVA_OPTS_APPEND, and MaxRAM at the container's memory limit in k8s/base, ").append(memoryLimit)
                .append("); this JVM picks ").append(gcAndHeap).append(" with them here.\n");
        out.append("- The guard was measured after a warm-up of ").append(Benchmark.WARM_UP).append(" requests for "
                + "running VMs; the relay after 100 records.\n");
        out.append("- Guard settings: ").append(String.join(", ", guardSettings)).append("; everything else at its "
                + "default. Requests come from a trusted producer (no token), for a user the scripted authorizer "
                + "allows (SubjectAccessReviews asked).\n");
        out.append(String.format("- Simulated API server: fabric8's test server in CRUD mode, answering on one thread, "
                        + "%s; one namespace list from the benchmark before the guard started: p50 %s, p99 %s. Every "
                        + "guard number above includes its time.%n", apiIndexed
                        ? "its store indexed by resource and namespace (IndexedCrudStore), as a real API server reads a "
                        + "namespace without looking at the others"
                        : "its store NOT indexed (fabric8's classes were not as expected): every request scans every object",
                ms(Phase.percentile(apiListMs, 50)), ms(Phase.percentile(apiListMs, 99))));
        out.append(String.format("- Guard RSS when ready and idle: %s.%n", mib(rssIdle[0])));
        for (Phase p : new Phase[] {relayBurst, relayRate, runningBurst, runningRate, stoppedRate, stoppedBurst,
                admissionWarmUp, admissionRunning, admissionStopped}) {
            if (p != null) {
                out.append(details(p));
            }
        }
        out.append("- \"Decisions\" of stopped VMs are the export jobs the guard accepted (export_job.accepted_at): "
                + "no result event says ACCEPTED (src/main/java/dev/vmexportguard/decision/EventType.java); an "
                + "accepted request's first event is STARTED, or QUEUED without a free slot.\n");
        out.append("- API calls are guard_cluster_calls_total of /q/metrics, scraped before and after each phase, "
                + "divided by the requests the guard decided meanwhile (refusals) or started (starts); they include "
                + "its background calls (the Lease). The requests that reached the API server are counted there, "
                + "told from the benchmark's own by the guard's bearer token: they also hold what the metric does "
                + "not count (Kubernetes Events, the Lease, watches).\n");
        for (String note : notes) {
            out.append("- ").append(note).append('\n');
        }
        out.append("\nMachine: ").append(machine.cores).append("; ").append(machine.memory).append("; ")
                .append(machine.cpu).append("; ").append(machine.java).append("; load average before ")
                .append(machine.loadBefore).append(", after ").append(machine.loadAfter)
                .append(" (the broker, PostgreSQL, the API server and the benchmark share the machine with the guard).\n");
        return out.toString();
    }

    private String details(Phase p) {
        StringBuilder s = new StringBuilder("- ").append(p.name).append(": ").append(p.sent).append(" sent");
        if (p.outcomes.isEmpty()) {
            s.append(String.format(", %d answered in %s; latency p50 %s, p90 %s, p99 %s, max %s", p.answered,
                    seconds(p.seconds), ms(Phase.percentile(p.latencyMs, 50)), ms(Phase.percentile(p.latencyMs, 90)),
                    ms(Phase.percentile(p.latencyMs, 99)), ms(Phase.percentile(p.latencyMs, 100))));
        } else {
            s.append("; ").append(p.outcomes.entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
                    .collect(Collectors.joining(", ")));
            if (p.accepted > 0 || p.started > 0) {
                s.append(String.format("; accepted %d in %s, send → accepted p50 %s, p99 %s, max %s; STARTED %d in %s, "
                                + "send → STARTED p50 %s, p99 %s, max %s; ended %d, the last %s after the first send "
                                + "(the first STARTED came %s after it, the first end %s: images are imported %d s after "
                                + "they are created); "
                                + "API calls per start %s, database %s; per export, to its end, %s, database %s",
                        p.accepted,
                        seconds(p.acceptSeconds), ms(Phase.percentile(p.acceptMs, 50)),
                        ms(Phase.percentile(p.acceptMs, 99)), ms(Phase.percentile(p.acceptMs, 100)), p.started,
                        seconds(p.startSeconds), ms(Phase.percentile(p.startMs, 50)), ms(Phase.percentile(p.startMs, 99)),
                        ms(Phase.percentile(p.startMs, 100)), p.ended, seconds(p.endSeconds),
                        seconds(p.firstStartSeconds), seconds(p.firstEndSeconds), settings.copySeconds(),
                        calls(p.callsPerRequest), database(p.callsPerRequest), calls(p.callsPerExport),
                        database(p.callsPerExport)));
            } else {
                s.append(String.format("; answered in %s; send → answer p50 %s, p90 %s, p99 %s, max %s; API calls per "
                                + "request %s; database per request %s", seconds(p.seconds),
                        ms(Phase.percentile(p.latencyMs, 50)), ms(Phase.percentile(p.latencyMs, 90)),
                        ms(Phase.percentile(p.latencyMs, 99)), ms(Phase.percentile(p.latencyMs, 100)),
                        calls(p.callsPerRequest), database(p.callsPerRequest)));
            }
        }
        if (!p.complete) {
            s.append(" (not all answered within the ").append(settings.phaseTimeout()).append(" s limit)");
        }
        if (p.decidedMs.length > 0) {
            s.append(String.format(Locale.ROOT, "; by the audit, %d decided in %s, send → taken p50 %s, p99 %s, "
                            + "send → decided p50 %s, p99 %s", p.decidedMs.length, seconds(p.decidedSeconds),
                    ms(Phase.percentile(p.takenMs, 50)), ms(Phase.percentile(p.takenMs, 99)),
                    ms(Phase.percentile(p.decidedMs, 50)), ms(Phase.percentile(p.decidedMs, 99))));
        }
        if (!Double.isNaN(p.decided)) {
            s.append(String.format(Locale.ROOT, "; while it was measured the guard decided %.0f requests "
                    + "(guard_requests_total) and published %.0f result events (guard_result_events_total)",
                    p.decided, p.published));
        }
        if (p.cpu != null) {
            s.append(String.format(Locale.ROOT, "; CPU time over its %.1f s (%.0f core·s on this machine): guard %.1f s, "
                            + "simulated API server %.1f s, PostgreSQL %.1f s, Kafka broker and benchmark %.1f s, other "
                            + "processes %.1f s", p.cpuWallSeconds, p.cpu.machineTotal(), p.cpu.guard(),
                    p.cpu.apiServer(), p.cpu.postgres(), p.cpu.benchOther(), p.cpu.others()));
        }
        return s.append(".\n").toString();
    }

    private static void row(StringBuilder out, String measure, String relay, String guard, String target) {
        out.append("| ").append(measure).append(" | ").append(relay).append(" | ").append(guard).append(" | ")
                .append(target).append(" |\n");
    }

    private String admission(Phase p) {
        return p == null ? NONE : p50p99(p.latencyMs) + incomplete(p);
    }

    private String incomplete(Phase p) {
        return p.complete ? "" : String.format(", only %d/%d answered within %d s", p.answered, p.sent,
                settings.phaseTimeout());
    }

    private static String cpuPer(Phase p, int count) {
        return p == null || p.cpu == null || count == 0 ? NONE : ms(p.cpu.guard() * 1000 / count);
    }

    private static String calls(Map<String, Double> calls) {
        if (calls.isEmpty()) {
            return NONE;
        }
        return String.format(Locale.ROOT, "%.1f: ", Phase.total(calls)) + calls.entrySet().stream()
                .filter(e -> Phase.guardCall(e.getKey()))
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue()))
                .collect(Collectors.joining(", "));
    }

    private static String database(Map<String, Double> perRequest) {
        Double commits = perRequest.get(Phase.DB_COMMITS);
        Double rows = perRequest.get(Phase.DB_ROWS);
        return commits == null ? NONE : String.format(Locale.ROOT, "%.1f commits, %.1f rows", commits,
                rows == null ? 0 : rows);
    }

    private static String perSecond(double rate, String what) {
        return Double.isNaN(rate) ? NONE : String.format(Locale.ROOT, "%.0f %s/s", rate, what);
    }

    private static String p50p99(double[] sorted) {
        if (sorted.length == 0) {
            return NONE;
        }
        return ms(Phase.percentile(sorted, 50)) + " / " + ms(Phase.percentile(sorted, 99));
    }

    static String ms(double ms) {
        if (Double.isNaN(ms)) {
            return NONE;
        }
        return ms < 10 ? String.format(Locale.ROOT, "%.1f ms", ms) : ms < 10_000
                ? String.format(Locale.ROOT, "%.0f ms", ms) : String.format(Locale.ROOT, "%.1f s", ms / 1000);
    }

    private static String seconds(double s) {
        return Double.isNaN(s) ? NONE : String.format(Locale.ROOT, "%.1f s", s);
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "?" : String.format(Locale.ROOT, "%.0f MiB", bytes / 1024.0 / 1024.0);
    }
}
