package dev.vmexportguard.bench;

import dev.vmexportguard.bench.Traffic.Message;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.KafkaBrokerResource;
import dev.vmexportguard.support.PostgresResource;
import dev.vmexportguard.support.WebhookCertificate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;

/**
 * Measures the guard under load on this machine, as local mode runs it (an in-process Kafka broker, an embedded
 * PostgreSQL, a simulated Harvester cluster) with the guard as a process with its container's JVM options, and
 * compares it with a plain Kafka consume-and-produce relay on the same broker. One run prints one table, also written
 * to {@code target/benchmark/result.md}. It reports; it does not judge: it exits 0 whether the targets are met or not.
 * Not a test: run it with {@code ./benchmark.sh}.
 */
public final class Benchmark {
    static final String REQUESTS = "vm-export-requests";
    static final String RESULTS = "vm-export-results";
    static final String DEAD_LETTER = "vm-export-requests-dlq";
    /** Whom the requests are for: a user the scripted authorizer allows (no rule lists or denies them). */
    static final String REQUESTER = "bench-operator@bench.example";
    static final Set<String> FIRST_ANSWER = Set.of("REJECTED", "QUEUED", "STARTED", "FAILED", "COMPLETED");
    static final Set<String> STARTED_OR_ENDED = Set.of("STARTED", "REJECTED", "FAILED", "COMPLETED");
    static final Set<String> ENDED = Set.of("REJECTED", "FAILED", "COMPLETED");
    /** Requests for running VMs sent before the guard is measured. */
    static final int WARM_UP = 200;
    private static final Deque<AutoCloseable> STARTED = new ArrayDeque<>();
    /** Set when the benchmark is stopped from outside (Ctrl-C, SIGTERM). */
    private static volatile boolean interrupted;
    /** The wall clock and the monotonic clock read together: the database's times are turned into the latter. */
    private static final Instant WALL_BASE = Instant.now();
    private static final long NANO_BASE = System.nanoTime();

    private final Settings settings;
    private final Report report;
    private Traffic.Sender sender;
    private Traffic.Tracker tracker;
    private GuardJvm guard;
    private DataSource jobs;
    private Admin admin;
    private BenchCluster cluster;

    private Benchmark(Settings settings) {
        this.settings = settings;
        this.report = new Report(settings);
    }

    public static void main(String[] args) {
        Settings settings;
        try {
            settings = Settings.parse(args, System.getenv());
        } catch (Settings.UsageException e) {
            if (e.getMessage() != null) {
                System.err.println(e.getMessage());
                System.err.println();
            }
            System.err.print(Settings.USAGE);
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            interrupted = true;
            stopAll();
        }, "benchmark-stop"));
        int exit = 0;
        try {
            new Benchmark(settings).run();
        } catch (Exception e) {
            if (interrupted) {
                // Ctrl-C: what was running failed as its parts were stopped
                return;
            }
            System.err.println("the benchmark could not run: " + e);
            e.printStackTrace();
            exit = 1;
        } finally {
            stopAll();
        }
        System.exit(exit);
    }

    private void run() throws Exception {
        report.machine = Machine.describe();
        System.out.println("VM Export Guard benchmark: " + settings.vms() + " VMs in " + settings.namespaces()
                + " namespaces" + (settings.vmsGiven() || settings.vms() == Settings.DEFAULT_VMS ? "" : " (raised from "
                + Settings.DEFAULT_VMS + ": the stopped-VM phases need " + Settings.stoppedNeeded(settings.burst(),
                settings.rate(), settings.seconds()) + " stopped VMs)") + ", bursts of " + settings.burst() + ", "
                + settings.rate() + "/s for " + settings.seconds() + " s");
        System.out.println(report.machine.oneLine());

        Path results = Files.createDirectories(Path.of("target", "benchmark"));
        try (var old = Files.newDirectoryStream(results, "guard-*.log")) {
            for (Path log : old) {
                Files.delete(log);
            }
        }
        GuardJvm.ContainerOptions container = GuardJvm.containerOptions(Path.of("."));
        List<String> jvm = new ArrayList<>(container.all());
        jvm.addAll(settings.jvmOptions());
        report.jvmOptions = jvm;
        report.memoryLimit = container.memoryLimit();
        report.gcAndHeap = GuardJvm.gcAndHeap(jvm);
        System.out.println("guard JVM: " + String.join(" ", jvm) + "  (" + report.gcAndHeap + ")");

        System.out.println("starting the Kafka broker, PostgreSQL and the simulated cluster...");
        KafkaBrokerResource broker = new KafkaBrokerResource();
        String bootstrap = broker.start().get("kafka.bootstrap.servers");
        STARTED.push(broker::stop);
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
        STARTED.push(admin);
        createTopics(admin);
        PostgresResource postgres = new PostgresResource();
        Map<String, String> database = postgres.start();
        STARTED.push(postgres::stop);
        jobs = postgres.database("postgres", PostgresResource.DATABASE);
        cluster = BenchCluster.start(settings.namespaces());
        STARTED.push(cluster);
        cluster.seed(settings.vms(), settings.seedThreads());
        cluster.importImagesAfter(settings.copySeconds());
        report.apiIndexed = cluster.indexed();
        report.apiListMs = cluster.listLatencies(200);
        System.out.printf("  simulated API server, one namespace list from here: p50 %.1f ms, p99 %.1f ms%n",
                Phase.percentile(report.apiListMs, 50), Phase.percentile(report.apiListMs, 99));

        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        env.putAll(PostgresResource.environment(database));
        env.put("KUBERNETES_MASTER", cluster.masterUrl());
        env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
        env.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
        // the API server takes any token: this one tells the guard's requests from the benchmark's own
        env.put("KUBERNETES_AUTH_TOKEN", BenchCluster.GUARD_TOKEN);
        env.put("KUBERNETES_NAMESPACE", "vm-export-guard");
        env.put("GUARD_AUTHORIZATION_MODE", "sar");
        env.put("GUARD_AUTHENTICATION_KAFKA", "trusted");
        env.put("GUARD_EXPORTS_MAX_CONCURRENT", "10000");
        // the admission webhook's HTTPS, as the ConfigMap turns it on, with a certificate made now
        Path tls = Path.of("target", "benchmark", "tls").toAbsolutePath();
        X509Certificate certificate = WebhookCertificate.issue(tls).certificate();
        int httpsPort = GuardProcess.freePort();
        env.put("QUARKUS_HTTP_SSL_PORT", Integer.toString(httpsPort));
        env.put("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_CERT", tls.resolve("tls.crt").toString());
        env.put("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_KEY", tls.resolve("tls.key").toString());
        report.guardSettings = env.entrySet().stream().filter(e -> e.getKey().startsWith("GUARD_"))
                .map(e -> e.getKey() + "=" + e.getValue()).toList();

        int port = GuardProcess.freePort();
        List<GuardJvm> starts = new ArrayList<>();
        for (int k = 1; k <= settings.starts(); k++) {
            GuardJvm started = GuardJvm.start("bench-" + k, jvm, env, port);
            STARTED.push(() -> started.stop(Duration.ofSeconds(40)));
            Duration ready = started.awaitReady(Duration.ofSeconds(180));
            report.readySeconds.add(ready.toNanos() / 1e9);
            starts.add(started);
            System.out.printf("guard start %d: ready after %.2f s (log %s)%n", k, ready.toNanos() / 1e9,
                    started.log());
            if (k < settings.starts()) {
                started.stop(Duration.ofSeconds(40));
            } else {
                guard = started;
            }
        }
        report.rssIdle = guard.residentMemory();

        tracker = new Traffic.Tracker(bootstrap, List.of(RESULTS, Traffic.RELAY_OUT));
        STARTED.push(tracker);
        sender = new Traffic.Sender(bootstrap);
        STARTED.push(sender);

        if (!settings.skipRelay()) {
            Traffic.Relay relay = new Traffic.Relay(bootstrap);
            STARTED.push(relay);
            relayPhases();
            relay.close();
        }
        guardPhases();
        admissionPhases(new Admissions(httpsPort, certificate));

        report.rssEnd = guard.residentMemory();
        // Quarkus logs its start time once it has started, which may come after it is ready
        starts.forEach(g -> report.quarkusStartedIn.add(g.quarkusStartedIn()));
        report.machine.loadAfter = Machine.loadAverage();
        String table = report.render();
        Path out = results.resolve("result.md");
        Files.writeString(out, table);
        System.out.println();
        System.out.println(table);
        System.out.println("(written to " + out + ")");
    }

    // --- the plain relay ---

    private void relayPhases() throws InterruptedException {
        System.out.println("plain relay: warming up (its consumer joins its group)...");
        List<Message> warm = relayMessages("relay-warm", 100);
        sender.burst(Traffic.RELAY_IN, warm);
        tracker.await(ids(warm), Set.of(Traffic.RELAYED), Duration.ofSeconds(60));

        System.out.println("plain relay: burst of " + settings.burst() + "...");
        List<Message> burst = relayMessages("relay-burst", settings.burst());
        report.relayBurst = relayPhase("plain relay, burst", burst, false);
        System.out.printf("  %.0f records/s%n", Phase.rate(report.relayBurst.answered, report.relayBurst.seconds));

        System.out.println("plain relay: " + settings.rate() + "/s for " + settings.seconds() + " s...");
        List<Message> paced = relayMessages("relay-rate", settings.paced());
        report.relayRate = relayPhase("plain relay, fixed rate", paced, true);
        System.out.printf("  p50 %.1f ms, p99 %.1f ms%n", Phase.percentile(report.relayRate.latencyMs, 50),
                Phase.percentile(report.relayRate.latencyMs, 99));
    }

    private Phase relayPhase(String name, List<Message> messages, boolean paced) throws InterruptedException {
        Machine.Cpu cpu = Machine.cpu(guard.pid());
        long t0 = System.nanoTime();
        if (paced) {
            sender.paced(Traffic.RELAY_IN, messages, settings.rate());
        } else {
            sender.burst(Traffic.RELAY_IN, messages);
        }
        Phase phase = new Phase(name, messages.size());
        phase.answered = tracker.await(ids(messages), Set.of(Traffic.RELAYED),
                Duration.ofSeconds(settings.phaseTimeout()));
        phase.complete = phase.answered == messages.size();
        timing(phase, messages, Set.of(Traffic.RELAYED), measured(phase, cpu, t0));
        return phase;
    }

    private List<Message> relayMessages(String tag, int n) {
        // the same records as the guard gets: a request for a running VM
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = "bench-" + tag + "-" + i;
            messages.add(new Message(id, request(id, 2 * (i % settings.runningVms()), null)));
        }
        return messages;
    }

    // --- the guard ---

    private void guardPhases() throws Exception {
        List<Integer> running = new ArrayList<>();
        List<Integer> stopped = new ArrayList<>();
        for (int i = 0; i < settings.vms(); i++) {
            (BenchCluster.running(i) ? running : stopped).add(i);
        }
        System.out.println("guard: warming up with " + WARM_UP + " requests for running VMs (its consumer takes its "
                + "partitions, its JIT compiler gets going)...");
        List<Message> warm = new ArrayList<>();
        for (int i = 0; i < WARM_UP; i++) {
            String id = "bench-guard-warm-" + i;
            warm.add(new Message(id, request(id, running.get(running.size() - 1 - i % running.size()), null)));
        }
        sender.burst(REQUESTS, warm);
        tracker.await(ids(warm), FIRST_ANSWER, Duration.ofSeconds(180));

        // running VMs: refusals. Requests cycle over the running VMs, one namespace after the other; the fixed-rate
        // phase goes on where the burst stopped
        int b = settings.burst();
        List<Integer> burstVms = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            burstVms.add(running.get(i % running.size()));
        }
        System.out.println("guard: burst of " + b + " requests for running VMs...");
        report.runningBurst = runningPhase("running VMs, burst", "rb", burstVms, false);
        report.rssAfterRunningBurst = guard.residentMemory();

        List<Integer> rateVms = new ArrayList<>();
        for (int i = 0; i < settings.paced(); i++) {
            rateVms.add(running.get((b + i) % running.size()));
        }
        System.out.println("guard: " + settings.rate() + " requests/s for running VMs, " + settings.seconds() + " s...");
        report.runningRate = runningPhase("running VMs, fixed rate", "rr", rateVms, true);

        // stopped VMs: exports. The fixed-rate phase first, on the first stopped VMs; the burst on the next ones,
        // then on the first ones again once their exports ended
        List<Integer> first = stopped.subList(0, settings.paced());
        System.out.println("guard: " + settings.rate() + " requests/s for stopped VMs, " + settings.seconds() + " s...");
        report.stoppedRate = stoppedPhase("stopped VMs, fixed rate", "sr", first, true);

        Set<String> busy = activeVolumes();
        List<Integer> burstStopped = new ArrayList<>();
        for (int k = 0; k < stopped.size() && burstStopped.size() < b; k++) {
            int vm = stopped.get((settings.paced() + k) % stopped.size());
            if (!busy.contains(BenchCluster.namespace(vm, settings.namespaces()) + "/" + BenchCluster.volumeName(vm))) {
                burstStopped.add(vm);
            }
        }
        if (burstStopped.size() < b) {
            report.notes.add("The stopped-VM burst sent " + burstStopped.size() + " requests, not " + b + ": "
                    + busy.size() + " volumes were still held by exports of the fixed-rate phase.");
        }
        if (burstStopped.isEmpty()) {
            System.out.println("guard: no stopped VM is free for the burst; it is skipped");
            return;
        }
        System.out.println("guard: burst of " + burstStopped.size() + " requests for stopped VMs...");
        report.stoppedBurst = stoppedPhase("stopped VMs, burst", "sb", burstStopped, false);
    }

    /**
     * The admission webhook at the fixed rate: reviews of Harvester's "Export Image" for running VMs' volumes
     * (refused on the watches) and for stopped VMs' volumes (admitted on a fresh read), after the exports' phases so
     * that the admitted ones hold nothing those need.
     */
    private void admissionPhases(Admissions admissions) {
        List<Integer> running = new ArrayList<>();
        List<Integer> stopped = new ArrayList<>();
        for (int i = settings.vms() - 1; i >= 0 && (running.size() < settings.paced() || stopped.size() < settings.paced()); i--) {
            List<Integer> kind = BenchCluster.running(i) ? running : stopped;
            if (kind.size() < settings.paced()) {
                kind.add(i);
            }
        }
        String paced = settings.rate() + "/s for " + settings.seconds() + " s";
        System.out.println("guard: admission reviews: warming up with " + WARM_UP + " (its HTTPS connections are "
                + "opened, its JIT compiler gets going)...");
        List<Integer> warm = new ArrayList<>();
        for (int i = 0; i < WARM_UP; i++) {
            warm.add((i % 2 == 0 ? running : stopped).get(i / 2 % Math.min(running.size(), stopped.size())));
        }
        report.admissionWarmUp = admissions.run("admission, warm-up (the first reviews since the guard started)", warm, settings.namespaces(), settings.rate(), 10);
        System.out.println("guard: admission reviews, " + paced + ", for running VMs' volumes...");
        report.admissionRunning = admissions.run("admission, running VMs", running, settings.namespaces(),
                settings.rate(), 10);
        System.out.println("guard: admission reviews, " + paced + ", for stopped VMs' volumes...");
        report.admissionStopped = admissions.run("admission, stopped VMs", stopped, settings.namespaces(),
                settings.rate(), 10);
    }

    private Phase runningPhase(String name, String tag, List<Integer> vms, boolean paced) throws Exception {
        List<Message> messages = requests(tag, vms, false);
        List<String> ids = ids(messages);
        Map<String, Double> before = counters();
        Machine.Cpu cpu = Machine.cpu(guard.pid());
        long t0 = System.nanoTime();
        send(messages, paced);
        Phase phase = new Phase(name, messages.size());
        phase.answered = tracker.await(ids, FIRST_ANSWER, Duration.ofSeconds(settings.phaseTimeout()));
        phase.complete = phase.answered == messages.size();
        long cutoff = measured(phase, cpu, t0);
        Map<String, Double> after = counters();
        answers(phase, before, after);
        // per request decided: the answers published lag behind the decisions when the relay falls behind
        phase.callsPerRequest = Phase.perRequest(before, after, phase.decided > 0 ? (int) phase.decided : phase.answered);
        timing(phase, messages, Set.of("REJECTED"), cutoff);
        outcomes(phase, messages, cutoff, Set.of());
        System.out.printf("  %d/%d refused in %.1f s: %.0f refusals/s, send to REJECTED p50 %.0f ms, p99 %.0f ms, "
                        + "%.1f API calls each%n", phase.latencyMs.length, phase.sent, phase.seconds,
                Phase.rate(phase.latencyMs.length, phase.seconds), Phase.percentile(phase.latencyMs, 50),
                Phase.percentile(phase.latencyMs, 99), Phase.total(phase.callsPerRequest));
        if (!phase.complete) {
            dropBacklog(phase, tag, ids);
        }
        decisions(phase, tag, messages, cutoff);
        return phase;
    }

    /**
     * When the guard took each request and when it decided it, from its audit: the RECEIVED row's time, and the
     * REJECTED row's event time (the row is written once the event is published, so this is read after the phase).
     * Only decisions made by {@code cutoff} count, as for the answers.
     */
    private void decisions(Phase phase, String tag, List<Message> messages, long cutoff) throws SQLException {
        Map<String, Instant> received = new HashMap<>();
        Map<String, Instant> decided = new HashMap<>();
        try (Connection c = jobs.getConnection();
             PreparedStatement s = c.prepareStatement("select request_id, entry_type, occurred_at from audit_entry"
                     + " where request_id like ? and entry_type in ('RECEIVED', 'REJECTED')")) {
            s.setString(1, "bench-" + tag + "-%");
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    (r.getString(2).equals("RECEIVED") ? received : decided)
                            .putIfAbsent(r.getString(1), r.getTimestamp(3).toInstant());
                }
            }
        }
        long first = firstSend(messages);
        List<Double> takenMs = new ArrayList<>();
        List<Double> decidedMs = new ArrayList<>();
        long last = Long.MIN_VALUE;
        for (Message m : messages) {
            long sent = sender.sentAt(m.id());
            Instant at = decided.get(m.id());
            long nanos = at == null ? Long.MAX_VALUE : NANO_BASE + Duration.between(WALL_BASE, at).toNanos();
            if (nanos <= cutoff) {
                decidedMs.add((nanos - sent) / 1e6);
                last = Math.max(last, nanos);
                Instant taken = received.get(m.id());
                if (taken != null) {
                    takenMs.add((NANO_BASE + Duration.between(WALL_BASE, taken).toNanos() - sent) / 1e6);
                }
            }
        }
        phase.decidedMs = Phase.sorted(decidedMs);
        phase.takenMs = Phase.sorted(takenMs);
        phase.decidedSeconds = decidedMs.isEmpty() ? Double.NaN : (last - first) / 1e9;
        System.out.printf("  decided (audit): %d in %.1f s, %.0f/s; send to taken p50 %.0f ms, p99 %.0f ms; send to "
                        + "decided p50 %.0f ms, p99 %.0f ms%n", decidedMs.size(), phase.decidedSeconds,
                Phase.rate(decidedMs.size(), phase.decidedSeconds), Phase.percentile(phase.takenMs, 50),
                Phase.percentile(phase.takenMs, 99), Phase.percentile(phase.decidedMs, 50),
                Phase.percentile(phase.decidedMs, 99));
    }

    private Phase stoppedPhase(String name, String tag, List<Integer> vms, boolean paced) throws Exception {
        List<Message> messages = requests(tag, vms, true);
        List<String> ids = ids(messages);
        Map<String, Double> before = counters();
        Machine.Cpu cpu = Machine.cpu(guard.pid());
        long t0 = System.nanoTime();
        send(messages, paced);
        Phase phase = new Phase(name, messages.size());
        phase.answered = tracker.await(ids, STARTED_OR_ENDED, Duration.ofSeconds(settings.phaseTimeout()));
        phase.complete = phase.answered == messages.size();
        long cutoff = measured(phase, cpu, t0);
        Map<String, Double> afterStarts = counters();
        answers(phase, before, afterStarts);
        if (!paced) {
            report.rssAfterStoppedBurst = guard.residentMemory();
        }

        // STARTED: the image is created and the copy runs
        long firstSend = firstSend(messages);
        List<Double> startMs = new ArrayList<>();
        long lastStart = Long.MIN_VALUE;
        long firstStart = Long.MAX_VALUE;
        for (Message m : messages) {
            Long at = tracker.seen(m.id(), "STARTED");
            if (at != null && at <= cutoff) {
                startMs.add((at - sender.sentAt(m.id())) / 1e6);
                lastStart = Math.max(lastStart, at);
                firstStart = Math.min(firstStart, at);
            }
        }
        phase.firstStartSeconds = startMs.isEmpty() ? Double.NaN : (firstStart - firstSend) / 1e9;
        phase.started = startMs.size();
        phase.startMs = Phase.sorted(startMs);
        phase.startSeconds = phase.started == 0 ? Double.NaN : (lastStart - firstSend) / 1e9;
        phase.latencyMs = phase.startMs;
        phase.seconds = phase.startSeconds;
        // the decisions and the starts of every request of the phase: only a phase that got them all says how many
        // calls one start took
        phase.callsPerRequest = phase.complete ? Phase.perRequest(before, afterStarts, phase.started) : Map.of();

        // accepted: the export job recorded (there is no result event for it: the first one is STARTED)
        Map<String, Instant> accepted = acceptedAt(tag);
        List<Double> acceptMs = new ArrayList<>();
        long lastAccept = Long.MIN_VALUE;
        for (Message m : messages) {
            Instant at = accepted.get(m.id());
            long nanos = at == null ? Long.MAX_VALUE : NANO_BASE + Duration.between(WALL_BASE, at).toNanos();
            if (nanos <= cutoff) {
                acceptMs.add((nanos - sender.sentAt(m.id())) / 1e6);
                lastAccept = Math.max(lastAccept, nanos);
            }
        }
        phase.accepted = acceptMs.size();
        phase.acceptMs = Phase.sorted(acceptMs);
        phase.acceptSeconds = phase.accepted == 0 ? Double.NaN : (lastAccept - firstSend) / 1e9;
        System.out.printf("  %d/%d accepted in %.1f s (%.0f/s), %d started in %.1f s (%.0f/s); send to STARTED p50 %.0f ms,"
                        + " p99 %.0f ms; %.1f API calls per start%n", phase.accepted, phase.sent, phase.acceptSeconds,
                Phase.rate(phase.accepted, phase.acceptSeconds), phase.started, phase.startSeconds,
                Phase.rate(phase.started, phase.startSeconds), Phase.percentile(phase.startMs, 50),
                Phase.percentile(phase.startMs, 99), Phase.total(phase.callsPerRequest));

        Set<String> dropped = phase.complete ? Set.of() : dropBacklog(phase, tag, ids);
        if (!phase.complete && !paced) {
            // the last phase: no other phase needs its volumes
            outcomes(phase, messages, Long.MAX_VALUE, dropped);
            return phase;
        }
        // the exports' ends: their volumes are free again for the next phase
        System.out.println("  waiting for the exports to complete (images imported " + settings.copySeconds()
                + " s after they are created)...");
        List<String> taken = ids.stream().filter(id -> !dropped.contains(id)).toList();
        phase.ended = tracker.await(taken, ENDED, Duration.ofSeconds(settings.phaseTimeout()));
        long lastEnd = Long.MIN_VALUE;
        long firstEnd = Long.MAX_VALUE;
        for (String id : taken) {
            Long at = tracker.seenAny(id, ENDED);
            if (at != null) {
                lastEnd = Math.max(lastEnd, at);
                firstEnd = Math.min(firstEnd, at);
            }
        }
        phase.endSeconds = phase.ended == 0 ? Double.NaN : (lastEnd - firstSend) / 1e9;
        phase.firstEndSeconds = phase.ended == 0 ? Double.NaN : (firstEnd - firstSend) / 1e9;
        if (phase.complete && phase.ended == phase.sent) {
            phase.callsPerExport = Phase.perRequest(before, counters(), phase.ended);
        }
        outcomes(phase, messages, Long.MAX_VALUE, dropped);
        System.out.printf("  %d/%d ended %.1f s after the first send; %.1f API calls per export in all; %s%n",
                phase.ended, taken.size(), phase.endSeconds, Phase.total(phase.callsPerExport), phase.outcomes);
        return phase;
    }

    /**
     * A phase the guard did not answer within the limit leaves requests on the topic that would be served during the
     * next phase: those it has not taken yet are deleted from the request topic, and it is given time to answer (or
     * accept) those it took, until that count has not moved for 5 s, so that the next phase starts on a guard that
     * serves no older request. The requests deleted unread.
     */
    private Set<String> dropBacklog(Phase phase, String tag, List<String> ids) throws Exception {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (var info : admin.describeTopics(List.of(REQUESTS)).allTopicNames().get(30, TimeUnit.SECONDS)
                .get(REQUESTS).partitions()) {
            latest.put(new TopicPartition(REQUESTS, info.partition()), OffsetSpec.latest());
        }
        Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
        admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).forEach((tp, offset) ->
                delete.put(tp, RecordsToDelete.beforeOffset(offset.offset())));
        admin.deleteRecords(delete).all().get(30, TimeUnit.SECONDS);
        Set<String> taken = new HashSet<>();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(settings.phaseTimeout());
        long changedAt = System.nanoTime();
        while (System.nanoTime() < until && System.nanoTime() - changedAt < TimeUnit.SECONDS.toNanos(5)) {
            Thread.sleep(500);
            Set<String> now = new HashSet<>(acceptedAt(tag).keySet());
            for (String id : ids) {
                if (tracker.seenAny(id, FIRST_ANSWER) != null) {
                    now.add(id);
                }
            }
            if (now.size() != taken.size()) {
                changedAt = System.nanoTime();
            }
            taken = now;
        }
        Set<String> dropped = new HashSet<>(ids);
        dropped.removeAll(taken);
        String note = String.format("%s: %d of %d requests were not answered within the %d s limit; the guard had "
                        + "taken %d of them (answered or accepted since), and %d were deleted from the request topic "
                        + "unread, so that the next phase found no older request waiting.", phase.name,
                phase.sent - phase.answered, phase.sent, settings.phaseTimeout(),
                phase.sent - phase.answered - dropped.size(), dropped.size());
        report.notes.add(note);
        System.out.println("  " + note);
        return dropped;
    }

    private static void answers(Phase phase, Map<String, Double> before, Map<String, Double> after) {
        phase.decided = after.getOrDefault(GuardJvm.DECIDED, 0.0) - before.getOrDefault(GuardJvm.DECIDED, 0.0);
        phase.published = after.getOrDefault(GuardJvm.PUBLISHED, 0.0) - before.getOrDefault(GuardJvm.PUBLISHED, 0.0);
        System.out.printf("  the guard decided %.0f requests and published %.0f result events meanwhile%n",
                phase.decided, phase.published);
    }

    /** The CPU time used since {@code before}, and the wall time since {@code t0}; the time it is taken at. */
    private long measured(Phase phase, Machine.Cpu before, long t0) {
        long now = System.nanoTime();
        phase.cpu = Machine.cpu(guard.pid()).minus(before);
        phase.cpuWallSeconds = (now - t0) / 1e9;
        System.out.printf("  CPU over %.1f s: guard %.1f s, API server %.1f s, PostgreSQL %.1f s, broker and benchmark"
                        + " %.1f s, others %.1f s (of %.0f core·s)%n", phase.cpuWallSeconds, phase.cpu.guard(),
                phase.cpu.apiServer(), phase.cpu.postgres(), phase.cpu.benchOther(), phase.cpu.others(),
                phase.cpu.machineTotal());
        return now;
    }

    private void send(List<Message> messages, boolean paced) {
        if (paced) {
            sender.paced(REQUESTS, messages, settings.rate());
        } else {
            sender.burst(REQUESTS, messages);
        }
    }

    /**
     * From the first send to the last event of {@code types} seen by {@code cutoff}; the latency of each record to
     * its first such event.
     */
    private void timing(Phase phase, List<Message> messages, Set<String> types, long cutoff) {
        long first = firstSend(messages);
        long last = Long.MIN_VALUE;
        List<Double> latencies = new ArrayList<>();
        for (Message m : messages) {
            Long at = tracker.seenAny(m.id(), types);
            if (at != null && at <= cutoff) {
                latencies.add((at - sender.sentAt(m.id())) / 1e6);
                last = Math.max(last, at);
            }
        }
        phase.latencyMs = Phase.sorted(latencies);
        phase.seconds = latencies.isEmpty() ? Double.NaN : (last - first) / 1e9;
    }

    /** How each request was answered by {@code cutoff}, those deleted unread named so. */
    private void outcomes(Phase phase, List<Message> messages, long cutoff, Set<String> dropped) {
        phase.outcomes.clear();
        for (Message m : messages) {
            String reason = tracker.reason(m.id());
            Long rejected = tracker.seenAny(m.id(), Set.of("REJECTED", "FAILED"));
            Long completed = tracker.seen(m.id(), "COMPLETED");
            Long started = tracker.seen(m.id(), "STARTED");
            Long queued = tracker.seen(m.id(), "QUEUED");
            String outcome = reason != null && rejected <= cutoff ? reason
                    : completed != null && completed <= cutoff ? "COMPLETED"
                    : started != null && started <= cutoff ? "STARTED (not ended)"
                    : queued != null && queued <= cutoff ? "QUEUED"
                    : dropped.contains(m.id()) ? "deleted from the topic unread"
                    : "no answer within the limit";
            phase.outcomes.merge(outcome, 1, Integer::sum);
        }
    }

    private long firstSend(List<Message> messages) {
        long first = Long.MAX_VALUE;
        for (Message m : messages) {
            Long at = sender.sentAt(m.id());
            if (at != null) {
                first = Math.min(first, at);
            }
        }
        return first;
    }

    private List<Message> requests(String tag, List<Integer> vms, boolean export) {
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < vms.size(); i++) {
            String id = "bench-" + tag + "-" + i;
            messages.add(new Message(id, request(id, vms.get(i), export ? id : null)));
        }
        return messages;
    }

    /** A request as a trusted producer sends it: no token, {@code requestedBy} believed; onRunning REJECT. */
    private String request(String id, int vm, String imageDisplayName) {
        return "{\"requestId\":\"" + id + "\",\"namespace\":\"" + BenchCluster.namespace(vm, settings.namespaces())
                + "\",\"vmName\":\"" + BenchCluster.vmName(vm) + "\",\"requestedBy\":\"" + REQUESTER
                + "\",\"onRunning\":\"REJECT\"" + (imageDisplayName == null ? ""
                : ",\"imageDisplayName\":\"" + imageDisplayName + "\"") + ",\"reason\":\"benchmark\"}";
    }

    private static List<String> ids(List<Message> messages) {
        return messages.stream().map(Message::id).toList();
    }

    /** When the guard accepted each request of the phase ({@code export_job.accepted_at}), by requestId. */
    private Map<String, Instant> acceptedAt(String tag) throws SQLException {
        Map<String, Instant> accepted = new HashMap<>();
        try (Connection c = jobs.getConnection();
             PreparedStatement s = c.prepareStatement(
                     "select request_id, accepted_at from export_job where request_id like ?")) {
            s.setString(1, "bench-" + tag + "-%");
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    Timestamp at = r.getTimestamp(2);
                    accepted.put(r.getString(1), at.toInstant());
                }
            }
        }
        return accepted;
    }

    /**
     * The guard's API calls by kind ({@link GuardJvm#clusterCalls}), with the guard database's commits and rows
     * written ({@code pg_stat_database}; PostgreSQL publishes a busy backend's counts within about a second) as
     * {@value Phase#DB_COMMITS} and {@value Phase#DB_ROWS}.
     */
    private Map<String, Double> counters() throws Exception {
        Map<String, Double> counters = new HashMap<>(guard.clusterCalls());
        cluster.guardRequests().forEach((kind, n) -> counters.put(Phase.SERVER + kind, n));
        try (Connection c = jobs.getConnection();
             PreparedStatement s = c.prepareStatement("select xact_commit, tup_inserted + tup_updated + tup_deleted"
                     + " from pg_stat_database where datname = ?")) {
            s.setString(1, PostgresResource.DATABASE);
            try (ResultSet r = s.executeQuery()) {
                if (r.next()) {
                    counters.put(Phase.DB_COMMITS, (double) r.getLong(1));
                    counters.put(Phase.DB_ROWS, (double) r.getLong(2));
                }
            }
        }
        return counters;
    }

    /** {@code namespace/volume} of every export not ended. */
    private Set<String> activeVolumes() throws SQLException {
        Set<String> busy = new HashSet<>();
        try (Connection c = jobs.getConnection();
             PreparedStatement s = c.prepareStatement(
                     "select namespace, volume_name from export_job where state <> 'ENDED'");
             ResultSet r = s.executeQuery()) {
            while (r.next()) {
                busy.add(r.getString(1) + "/" + r.getString(2));
            }
        }
        return busy;
    }

    private static void createTopics(Admin admin) throws Exception {
        // as the README creates them for a cluster: three partitions for requests and results
        admin.createTopics(List.of(new NewTopic(REQUESTS, 3, (short) 1), new NewTopic(RESULTS, 3, (short) 1),
                new NewTopic(DEAD_LETTER, 1, (short) 1), new NewTopic(Traffic.RELAY_IN, 3, (short) 1),
                new NewTopic(Traffic.RELAY_OUT, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    private static synchronized void stopAll() {
        while (!STARTED.isEmpty()) {
            try {
                STARTED.pop().close();
            } catch (Exception e) {
                System.err.println("while stopping: " + e.getMessage());
            }
        }
    }
}
