package dev.vmexportguard.bench;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What one phase measured. Times in milliseconds or seconds as named; a value never measured is NaN. */
final class Phase {
    /** Counters of the guard's database that travel with its API calls, not counted among them. */
    static final String DB_COMMITS = "db commits";
    static final String DB_ROWS = "db rows written";
    /** The prefix of the guard's requests as counted where they arrive, at the API server. */
    static final String SERVER = "server ";

    final String name;
    final int sent;
    /** Requests (records) that got the event the phase waits for, and whether all did within the time limit. */
    int answered;
    boolean complete;
    /** From the first send to the last awaited event. */
    double seconds = Double.NaN;
    /** Send to the awaited event, sorted. */
    double[] latencyMs = new double[0];
    /** How each request was answered: {@code REJECTED VM_RUNNING}, {@code STARTED}, {@code no answer}... */
    final Map<String, Integer> outcomes = new TreeMap<>();
    /** CPU time used while the phase ran, from its first send to its last awaited event, and that wall time. */
    Machine.Cpu cpu;
    double cpuWallSeconds = Double.NaN;
    /**
     * Refusals as the guard's audit dates them: send to taken (its RECEIVED row) and send to decided (its REJECTED
     * row's event time), sorted; from the first send to the last decision.
     */
    double[] takenMs = new double[0];
    double[] decidedMs = new double[0];
    double decidedSeconds = Double.NaN;
    /** The requests the guard decided and the result events it published while the phase was measured. */
    double decided = Double.NaN;
    double published = Double.NaN;
    /** API calls the guard made during the phase, per request answered, by {@code verb resource}. */
    Map<String, Double> callsPerRequest = Map.of();

    // stopped VMs only: acceptance (export_job.accepted_at), STARTED, and the exports' ends
    int accepted;
    double acceptSeconds = Double.NaN;
    double[] acceptMs = new double[0];
    int started;
    double startSeconds = Double.NaN;
    double[] startMs = new double[0];
    int ended;
    double endSeconds = Double.NaN;
    /** The first STARTED and the first end, from the first send: how soon a running export is followed. */
    double firstStartSeconds = Double.NaN;
    double firstEndSeconds = Double.NaN;
    Map<String, Double> callsPerExport = Map.of();

    Phase(String name, int sent) {
        this.name = name;
        this.sent = sent;
    }

    static double[] sorted(List<Double> values) {
        double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a;
    }

    /** The nearest-rank percentile of sorted values; NaN when there are none. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static double rate(int count, double seconds) {
        return count == 0 || !(seconds > 0) ? Double.NaN : count / seconds;
    }

    /** Whether a counter is one of the guard's API calls as its own metric counts them. */
    static boolean guardCall(String key) {
        return !key.endsWith("(failure)") && !key.startsWith("db ") && !key.startsWith("guard ")
                && !key.startsWith(SERVER);
    }

    /** The sum of the per-request calls (failures, listed apart, not counted twice). */
    static double total(Map<String, Double> calls) {
        return calls.entrySet().stream().filter(e -> guardCall(e.getKey())).mapToDouble(Map.Entry::getValue).sum();
    }

    /** The requests counted at the API server, by kind, without their prefix. */
    static Map<String, Double> atServer(Map<String, Double> counters) {
        Map<String, Double> server = new TreeMap<>();
        counters.forEach((k, v) -> {
            if (k.startsWith(SERVER)) {
                server.put(k.substring(SERVER.length()), v);
            }
        });
        return server;
    }

    /** {@code after - before} for each kind, divided by {@code per}; kinds with no change left out. */
    static Map<String, Double> perRequest(Map<String, Double> before, Map<String, Double> after, int per) {
        Map<String, Double> result = new TreeMap<>();
        if (per == 0) {
            return result;
        }
        after.forEach((kind, value) -> {
            double delta = value - before.getOrDefault(kind, 0.0);
            if (delta > 0) {
                result.put(kind, delta / per);
            }
        });
        return result;
    }
}
