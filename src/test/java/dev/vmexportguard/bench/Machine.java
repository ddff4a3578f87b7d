package dev.vmexportguard.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The machine the numbers were taken on. */
final class Machine {
    String cores;
    String memory;
    String cpu;
    String java;
    String loadBefore;
    String loadAfter;

    static Machine describe() {
        Machine m = new Machine();
        m.cores = command("nproc").trim() + " (nproc), " + Runtime.getRuntime().availableProcessors()
                + " (availableProcessors)";
        m.memory = "?";
        m.cpu = "?";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    m.memory = String.format("%.1f GiB", kb / 1024.0 / 1024.0);
                }
            }
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    m.cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        m.java = String.join("; ", command(GuardJvm.java(), "-version").strip().split("\n"));
        m.loadBefore = loadAverage();
        return m;
    }

    String oneLine() {
        return "machine: " + cores + ", " + memory + ", " + cpu + "; load average " + loadBefore + "; " + java;
    }

    /** The 1, 5 and 15 minute load averages. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /**
     * CPU time used so far, in seconds: by the guard's process, by PostgreSQL's processes, by the simulated API
     * server (the threads of its event loop, in this JVM), by the rest of this JVM (the Kafka broker, the relay,
     * the benchmark's clients); and the whole machine's busy and total time (all cores), so that what other
     * processes took is seen too.
     */
    record Cpu(double guard, double postgres, double apiServer, double benchOther, double machineBusy,
               double machineTotal) {
        Cpu minus(Cpu before) {
            return new Cpu(guard - before.guard, postgres - before.postgres, apiServer - before.apiServer,
                    benchOther - before.benchOther, machineBusy - before.machineBusy,
                    machineTotal - before.machineTotal);
        }

        /** What the machine's other processes (neither the guard nor the benchmark's parts) used. */
        double others() {
            return Math.max(0, machineBusy - guard - postgres - apiServer - benchOther);
        }
    }

    private static final double TICK = ticksPerSecond();

    static Cpu cpu(long guardPid) {
        double guard = ticks(guardPid, false) / TICK;
        double postgres = 0;
        // the embedded PostgreSQL's binaries are unpacked under this JVM's temporary folder; pg_ctl leaves its
        // server a child of no process of ours
        String unpacked = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().toString();
        for (ProcessHandle p : ProcessHandle.allProcesses().toList()) {
            if (p.info().command().map(c -> c.startsWith(unpacked) && c.endsWith("postgres")).orElse(false)) {
                // the postmaster's own time counts the backends that have ended
                postgres += ticks(p.pid(), true) / TICK;
            }
        }
        double self = ticks(ProcessHandle.current().pid(), false) / TICK;
        double api = 0;
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (t != null && t.getThreadName().startsWith("vert.x-eventloop")) {
                long ns = threads.getThreadCpuTime(t.getThreadId());
                api += ns > 0 ? ns / 1e9 : 0;
            }
        }
        double busy = 0;
        double total = 0;
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            for (int i = 1; i < f.length && i <= 8; i++) {
                double v = Long.parseLong(f[i]) / TICK;
                total += v;
                if (i != 4 && i != 5) {
                    busy += v;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return new Cpu(guard, postgres, api, Math.max(0, self - api), busy, total);
    }

    /** utime + stime of a process (with its waited-for children's when asked), in clock ticks; 0 if unreadable. */
    private static long ticks(long pid, boolean withChildren) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields from the state on (field 3): utime is field 14, stime 15, cutime 16, cstime 17
            long t = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            return withChildren ? t + Long.parseLong(f[13]) + Long.parseLong(f[14]) : t;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static double ticksPerSecond() {
        try {
            return Double.parseDouble(command("getconf", "CLK_TCK").trim());
        } catch (RuntimeException e) {
            return 100;
        }
    }

    private static String command(String... command) {
        try {
            Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor(30, TimeUnit.SECONDS);
            return out;
        } catch (IOException | InterruptedException e) {
            return "?";
        }
    }
}
