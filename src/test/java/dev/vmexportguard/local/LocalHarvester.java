package dev.vmexportguard.local;

import dev.vmexportguard.decision.Authority;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.HarvesterApiSetup;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.HarvesterSimulator;
import dev.vmexportguard.support.HarvesterSimulator.Power;
import dev.vmexportguard.support.KafkaBrokerResource;
import dev.vmexportguard.support.PostgresResource;
import dev.vmexportguard.support.AdmittingApiServer;
import dev.vmexportguard.support.ScriptedAuthenticator;
import dev.vmexportguard.support.WebhookCertificate;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The guard on one machine with nothing but Java: a Kafka broker, a PostgreSQL server and a simulated Harvester
 * cluster (an API server seeded with demo VMs, and controllers that stop and start VMs and copy images), then the
 * built guard itself as a child process. A part the user configures is used instead of its stand-in:
 * {@code KAFKA_BOOTSTRAP_SERVERS}, {@code QUARKUS_DATASOURCE_JDBC_URL} (with _USERNAME, _PASSWORD: the runtime role,
 * and {@code QUARKUS_FLYWAY_USERNAME}, _PASSWORD: the owner), and {@code KUBERNETES_MASTER} or {@code KUBECONFIG}.
 * The simulated cluster accepts only the demo users' tokens it makes and prints ({@link DemoUsers}). Lines typed on
 * standard input are sent to the request topic, with the operator's token. Ctrl-C (or SIGTERM) stops everything it
 * started.
 */
public final class LocalHarvester {
    static final String NS = "demo";
    /** The demo's people are named {@code someone@demo}: the chat-ops bot may act for them. */
    static final String PEOPLE = "@demo";
    static final String OPERATOR = "operator" + PEOPLE;
    static final String AUDITOR = "auditor" + PEOPLE;
    static final String BOT = "system:serviceaccount:" + NS + ":chatops-bot";
    private static final Deque<AutoCloseable> STARTED = new ArrayDeque<>();

    private LocalHarvester() {
    }

    public static void main(String[] args) throws Exception {
        Runtime.getRuntime().addShutdownHook(new Thread(LocalHarvester::stopAll, "local-stop"));
        Map<String, String> env = System.getenv();
        Map<String, String> guard = new HashMap<>();
        String kafka = env.get("KAFKA_BOOTSTRAP_SERVERS");
        if (kafka == null) {
            KafkaBrokerResource broker = new KafkaBrokerResource();
            kafka = broker.start().get("kafka.bootstrap.servers");
            STARTED.push(broker::stop);
        }
        createTopics(kafka);
        guard.put("KAFKA_BOOTSTRAP_SERVERS", kafka);

        String jdbc = env.get("QUARKUS_DATASOURCE_JDBC_URL");
        if (jdbc == null) {
            PostgresResource postgres = new PostgresResource();
            Map<String, String> database = postgres.start();
            STARTED.push(postgres::stop);
            // the guard as the runtime role, Flyway as the owner
            guard.putAll(PostgresResource.environment(database));
            jdbc = database.get("quarkus.datasource.jdbc.url") + "  (guard as " + PostgresResource.RUNTIME
                    + ", migrations as " + PostgresResource.OWNER + ")";
        }

        String apiServer;
        DemoUsers users = null;
        KubernetesServer api = null;
        if (env.get("KUBERNETES_MASTER") == null && env.get("KUBECONFIG") == null) {
            api = new KubernetesServer(false, true, InetAddress.getLoopbackAddress(), 0, List.of());
            api.before();
            STARTED.push(api::after);
            new HarvesterApiSetup().accept(api);
            users = DemoUsers.create();
            simulate(api);
            apiServer = api.getClient().getMasterUrl().toString();
            guard.put("KUBERNETES_MASTER", apiServer);
            guard.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
            guard.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
            guard.put("KUBERNETES_NAMESPACE", NS);
        } else {
            apiServer = env.getOrDefault("KUBERNETES_MASTER", "from " + env.get("KUBECONFIG"));
        }

        // local mode shows the API: its OpenAPI document and Swagger UI, off by default
        guard.put("QUARKUS_SMALLRYE_OPENAPI_ENABLED", "true");
        guard.put("QUARKUS_SWAGGER_UI_ENABLED", "true");

        // the admission webhook's HTTPS, with a certificate made now (as cert-manager would write it)
        Path tls = Path.of("target", "local-tls").toAbsolutePath();
        WebhookCertificate.Issued certificate = WebhookCertificate.issue(tls);
        int httpsPort = env.containsKey("GUARD_HTTPS_PORT") ? Integer.parseInt(env.get("GUARD_HTTPS_PORT"))
                : GuardProcess.freePort();
        guard.put("QUARKUS_HTTP_SSL_PORT", Integer.toString(httpsPort));
        guard.put("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_CERT", tls.resolve("tls.crt").toString());
        guard.put("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_KEY", tls.resolve("tls.key").toString());

        int port = Integer.parseInt(env.getOrDefault("GUARD_HTTP_PORT", "8080"));
        GuardProcess process = GuardProcess.start("local", guard, port);
        STARTED.push(() -> {
            if (!process.terminate(Duration.ofSeconds(30))) {
                process.kill();
            }
        });
        process.awaitReady(Duration.ofSeconds(90));
        URI kubectl = null;
        if (api != null) {
            // what people's kubectl and Harvester's UI reach: image creations go through the guard's webhook
            AdmittingApiServer front = AdmittingApiServer.start(api,
                    URI.create("https://localhost:" + httpsPort + "/admission/virtualmachineimages"),
                    certificate::certificate, Integer.parseInt(env.getOrDefault("GUARD_KUBERNETES_PORT", "0")),
                    certificate.serving());
            STARTED.push(front::close);
            kubectl = front.url();
        }
        banner(port, kafka, jdbc, apiServer, process, users, kubectl, tls.resolve("tls.crt"));
        forwardStandardInput(kafka, users == null ? null : users.operator());
        Thread.currentThread().join();
    }

    /**
     * The demo's users, each with a token the simulated API server accepts (TokenReview) and rights it answers
     * (SubjectAccessReview); the tests' fixed tokens are not accepted. The operator, in {@value
     * ScriptedAuthorizer#ADMIN_GROUP}, may do everything; the chat-ops bot's ServiceAccount may only impersonate the
     * demo's people (users named {@code someone@demo}; no groups, so it cannot name the admins' group); the auditor may
     * only list the audit of namespace {@value #NS}. The operator's and the bot's tokens are valid for the API server
     * and for the guard's Kafka audience; the auditor's for the API server only (HTTP).
     */
    record DemoUsers(String operator, String bot, String auditor) {
        static DemoUsers create() {
            ScriptedAuthenticator.forgetAll();
            String operator = ScriptedAuthenticator.token(OPERATOR, List.of(ScriptedAuthorizer.ADMIN_GROUP),
                    ScriptedAuthenticator.API_SERVER, ScriptedAuthenticator.GUARD);
            String bot = ScriptedAuthenticator.token(BOT, List.of("system:serviceaccounts",
                    "system:serviceaccounts:" + NS), ScriptedAuthenticator.API_SERVER, ScriptedAuthenticator.GUARD);
            ScriptedAuthorizer.allowOnly(BOT, r -> r.is("impersonate", "users") && r.group() == null
                    && r.name() != null && r.name().endsWith(PEOPLE));
            String auditor = ScriptedAuthenticator.token(AUDITOR, List.of(), ScriptedAuthenticator.API_SERVER);
            ScriptedAuthorizer.allowOnly(AUDITOR, r -> r.is("list", Authority.AUDIT_RESOURCE)
                    && Authority.AUDIT_GROUP.equals(r.group()) && NS.equals(r.namespace()));
            return new DemoUsers(operator, bot, auditor);
        }

        /** Lines a shell takes as they are: {@code NAME=token  # who}. */
        String banner() {
            return line("OPERATOR", operator, OPERATOR + ", " + ScriptedAuthorizer.ADMIN_GROUP
                    + ": may do everything (HTTP, Kafka)")
                    + line("BOT", bot, BOT + ": acts for someone" + PEOPLE + " (HTTP, Kafka)")
                    + line("AUDITOR", auditor, AUDITOR + ": reads the audit of namespace " + NS + " (HTTP)");
        }

        private static String line(String name, String token, String who) {
            return String.format("  %-51s # %s%n", name + "=" + token, who);
        }
    }

    /** The demo: every case the guard tells apart, and controllers that make them move. */
    static void simulate(KubernetesServer api) {
        HarvesterCluster cluster = new HarvesterCluster(api.getClient());
        HarvesterSimulator simulator = new HarvesterSimulator(api.getClient());
        cluster.volume(NS, "web-disk-0");
        simulator.runningVm(NS, "web", "RerunOnFailure", "web-disk-0");
        cluster.volume(NS, "db-disk-0");
        cluster.vm(NS, "db", "Stopped", "db-disk-0");
        cluster.volume(NS, "app-disk-0");
        cluster.volume(NS, "app-disk-1");
        cluster.vm(NS, "app", "Stopped", "app-disk-0", "app-disk-1");
        cluster.volume(NS, "shared-data");
        cluster.vm(NS, "shared-a", "Stopped", "shared-data");
        simulator.runningVm(NS, "shared-b", "RerunOnFailure", "shared-data");
        cluster.volume(NS, "batch-disk-0");
        cluster.vm(NS, "batch", "Stopped", "batch-disk-0");
        cluster.launcherPod(NS, "batch", "Running", "batch-disk-0");
        for (String vm : List.of("web", "db", "app", "shared-a", "shared-b", "batch")) {
            simulator.servePower(api, NS, vm, Duration.ofSeconds(3), Power.WORKS);
        }
        ScheduledExecutorService controllers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "harvester-controllers");
            t.setDaemon(true);
            return t;
        });
        controllers.scheduleWithFixedDelay(() -> {
            simulator.advanceImages(NS, 20);
            simulator.readyBackups(NS);
        }, 1, 1, TimeUnit.SECONDS);
        STARTED.push(controllers::shutdownNow);
    }

    private static void createTopics(String bootstrap) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            var existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = List.of("vm-export-requests", "vm-export-results", "vm-export-requests-dlq").stream()
                    .filter(t -> !existing.contains(t)).map(t -> new NewTopic(t, 1, (short) 1)).toList();
            admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static void banner(int port, String kafka, String jdbc, String apiServer, GuardProcess process,
                               DemoUsers users, URI kubectl, Path ca) {
        String id = "demo-" + UUID.randomUUID().toString().substring(0, 8);
        String tokens = users == null ? """
                Every /api call needs 'Authorization: Bearer <token>' with a token your cluster accepts (TokenReview),
                and on Kafka an 'authorization' header with one minted for the audience vm-export-guard; lines typed
                here are sent without one.
                """ : "Demo tokens (Authorization: Bearer ...); paste these three lines into your shell:\n"
                + users.banner();
        String token = users == null ? "$TOKEN" : "$OPERATOR";
        String requester = users == null ? "you" : OPERATOR;
        System.out.printf("""

                VM Export Guard is ready (local mode)
                  Dashboard                http://localhost:%1$d/  (sign in with %13$s)
                  REST API and Swagger UI  http://localhost:%1$d/q/swagger-ui
                  Kafka                    %2$s  (topics vm-export-requests, vm-export-results, vm-export-requests-dlq)
                  PostgreSQL (audit)       %3$s
                  Kubernetes API           %4$s  (namespace %5$s: VMs web running, db stopped, app with two
                                           disks, shared-a and shared-b sharing shared-data, batch stopped with
                                           its launcher pod still terminating)
                  guard log                %6$s

                %8$s
                First request, for the stopped VM db:
                  curl -i -H "Authorization: Bearer %9$s" -H 'Content-Type: application/json' \\
                    http://localhost:%1$d/api/exports \\
                    -d '{"requestId":"%7$s","namespace":"%5$s","vmName":"db","requestedBy":"%10$s"}'
                  curl -H "Authorization: Bearer %9$s" http://localhost:%1$d/api/exports/%7$s
                Or type a request as one line of JSON here: it is sent to the request topic%11$s.
                %12$sCtrl-C stops everything.
                """, port, kafka, jdbc, apiServer, NS, process.log().toAbsolutePath(), id, tokens, token, requester,
                users == null ? "" : " with the operator's token", kubectl == null ? "" : exportButton(kubectl, ca),
                users == null ? "a token your cluster accepts" : "the demo token " + users.operator()
                        + " (the operator's; the auditor's shows namespace " + NS + " only)");
        System.out.flush();
    }

    /**
     * How to export as Harvester's "Export Image" action does, through the simulated API server that calls the guard's
     * admission webhook: refused for the running VM web, admitted for the stopped db.
     */
    private static String exportButton(URI kubectl, Path ca) {
        return String.format("""
                Harvester's Export Image, guarded by the admission webhook (API server %1$s, with the tokens above):
                  IMAGE='{"apiVersion":"harvesterhci.io/v1beta1","kind":"VirtualMachineImage","metadata":{"generateName":"web-export-","namespace":"%2$s"},"spec":{"displayName":"web-export","sourceType":"export-from-volume","pvcNamespace":"%2$s","pvcName":"web-disk-0","storageClassName":"harvester-longhorn"}}'
                  echo "$IMAGE" | kubectl --server %1$s --certificate-authority %3$s --token "$OPERATOR" \\
                    create --validate=false -f -
                  curl -i --cacert %3$s -H "Authorization: Bearer $OPERATOR" -H 'Content-Type: application/json' \\
                    %1$s/apis/harvesterhci.io/v1beta1/namespaces/%2$s/virtualmachineimages -d "$IMAGE"
                Either is refused with the guard's message (web runs); for db and db-disk-0 the image is created.
                """, kubectl, NS, ca);
    }

    /** Sends each line typed to the request topic, with {@code token} (if any) in an {@code authorization} header. */
    private static void forwardStandardInput(String bootstrap, String token) {
        Thread reader = new Thread(() -> {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(p);
                 BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (!line.isBlank()) {
                        ProducerRecord<String, String> record = new ProducerRecord<>("vm-export-requests", line.trim());
                        if (token != null) {
                            record.headers().add("authorization",
                                    ("Bearer " + token).getBytes(StandardCharsets.UTF_8));
                        }
                        var sent = producer.send(record).get();
                        System.out.println("sent to vm-export-requests at offset " + sent.offset());
                    }
                }
            } catch (Exception e) {
                System.out.println("standard input is no longer forwarded: " + e.getMessage());
            }
        }, "stdin-to-kafka");
        reader.setDaemon(true);
        reader.start();
    }

    private static void stopAll() {
        while (!STARTED.isEmpty()) {
            try {
                STARTED.pop().close();
            } catch (Exception e) {
                System.err.println("while stopping: " + e.getMessage());
            }
        }
    }
}
