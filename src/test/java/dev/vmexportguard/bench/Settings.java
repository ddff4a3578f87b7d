package dev.vmexportguard.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What one run of the benchmark does: from the command line, else the environment, else the defaults. */
record Settings(int vms, boolean vmsGiven, int namespaces, int burst, int rate, int seconds, boolean skipRelay,
                int copySeconds, int phaseTimeout, int starts, int seedThreads, List<String> jvmOptions) {

    static final int DEFAULT_VMS = 8000;
    static final String USAGE = """
            ./benchmark.sh [options]    (options may also be given as --name=value)
              --vms N            VMs in the simulated cluster, half running, half stopped; each has its own PVC
                                 (env BENCH_VMS; default 8000, raised when the stopped-VM phases need more)
              --namespaces M     namespaces they are spread over (env BENCH_NAMESPACES; default 800)
              --burst B          requests (and relay records) of each burst (default 5000)
              --rate R           requests (and relay records) a second in the fixed-rate phases (default 100)
              --seconds S        length of each fixed-rate phase (default 20)
              --skip-relay       do not measure the plain Kafka relay
              --copy-seconds C   how long the simulated image controller takes to import an image (default 2)
              --phase-timeout T  longest wait, in seconds, for the answers of one phase after its last send; requests
                                 still unanswered then are dropped from the request topic (default 90)
              --starts K         times the guard is started to measure start to ready; the last one stays up (default 3)
              --seed-threads X   threads seeding the simulated cluster (default 6)
              --jvm-option OPT   one more JVM option for the guard, after the container's (repeatable),
                                 e.g. --jvm-option -XX:+UseSerialGC
            """;

    static Settings parse(String[] args, Map<String, String> env) {
        Integer vms = env.containsKey("BENCH_VMS") ? Integer.valueOf(env.get("BENCH_VMS")) : null;
        int namespaces = Integer.parseInt(env.getOrDefault("BENCH_NAMESPACES", "800"));
        int burst = 5000;
        int rate = 100;
        int seconds = 20;
        boolean skipRelay = false;
        int copySeconds = 2;
        int phaseTimeout = 90;
        int starts = 3;
        int seedThreads = 6;
        List<String> jvm = new ArrayList<>();
        List<String> list = new ArrayList<>();
        for (String a : args) {
            if (a.startsWith("--") && a.contains("=")) {
                list.add(a.substring(0, a.indexOf('=')));
                list.add(a.substring(a.indexOf('=') + 1));
            } else {
                list.add(a);
            }
        }
        for (int i = 0; i < list.size(); i++) {
            String flag = list.get(i);
            switch (flag) {
                case "--skip-relay" -> skipRelay = true;
                case "-h", "--help" -> throw new UsageException(null);
                case "--vms", "--namespaces", "--burst", "--rate", "--seconds", "--copy-seconds", "--phase-timeout",
                     "--starts", "--seed-threads", "--jvm-option" -> {
                    if (i + 1 >= list.size()) {
                        throw new UsageException(flag + " needs a value");
                    }
                    String value = list.get(++i);
                    if (flag.equals("--jvm-option")) {
                        jvm.add(value);
                        continue;
                    }
                    int n;
                    try {
                        n = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        throw new UsageException(flag + " needs a whole number, not '" + value + "'");
                    }
                    switch (flag) {
                        case "--vms" -> vms = n;
                        case "--namespaces" -> namespaces = n;
                        case "--burst" -> burst = n;
                        case "--rate" -> rate = n;
                        case "--seconds" -> seconds = n;
                        case "--copy-seconds" -> copySeconds = n;
                        case "--phase-timeout" -> phaseTimeout = n;
                        case "--starts" -> starts = n;
                        default -> seedThreads = n;
                    }
                }
                default -> throw new UsageException("unknown option " + flag);
            }
        }
        if (namespaces < 1 || burst < 1 || rate < 1 || seconds < 1 || copySeconds < 0 || phaseTimeout < 1
                || starts < 1 || seedThreads < 1 || (vms != null && vms < 2)) {
            throw new UsageException("every number must be positive (--vms at least 2)");
        }
        boolean given = vms != null;
        int stoppedNeeded = stoppedNeeded(burst, rate, seconds);
        int chosen = given ? vms : Math.max(DEFAULT_VMS, 2 * stoppedNeeded);
        Settings s = new Settings(chosen, given, namespaces, burst, rate, seconds, skipRelay, copySeconds, phaseTimeout,
                starts, seedThreads, List.copyOf(jvm));
        if (s.stoppedVms() < stoppedNeeded) {
            throw new UsageException(String.format("""
                    --vms %d is too small: it gives %d stopped VMs (half of them), and the stopped-VM phases need %d \
                    VMs whose volume no export holds: the burst sends %d requests at once, each holding its volume \
                    until its export completes, and the %d/s phase %d (it runs first; the burst reuses its VMs once \
                    their exports completed). Use --vms %d or more, or a smaller --burst, --rate or --seconds.""",
                    chosen, s.stoppedVms(), stoppedNeeded, burst, rate, rate * seconds, 2 * stoppedNeeded));
        }
        return s;
    }

    /** Stopped VMs the two stopped-VM phases need: the burst reuses the fixed-rate phase's once they completed. */
    static int stoppedNeeded(int burst, int rate, int seconds) {
        return Math.max(burst, rate * seconds);
    }

    int stoppedVms() {
        return vms / 2;
    }

    int runningVms() {
        return vms - vms / 2;
    }

    int paced() {
        return rate * seconds;
    }

    /** A command line that is not understood, or a run that cannot be done; null: just print the usage. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
