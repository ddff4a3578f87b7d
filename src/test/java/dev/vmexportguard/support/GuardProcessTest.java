package dev.vmexportguard.support;

import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;

/**
 * A test of built guards started as processes ({@link GuardProcess}), against backing services of its own
 * ({@link ProcessBackingServices}): the test class starts them in its {@code @BeforeAll} with
 * {@link #startBackingServices}, adds the simulated controllers that must run on their own ({@link #every}), and
 * starts guards with {@link #guard}. Every request the API server receives is recorded ({@link #calls}); the
 * controllers and the services stop after the class's last test.
 */
public abstract class GuardProcessTest {
    protected static ProcessBackingServices services;
    protected static KubernetesServer api;
    /** The environment every guard of the class starts with. */
    protected static Map<String, String> environment;
    protected static HarvesterSimulator simulator;
    /** What reached the API server, in order of arrival, since the services started. */
    protected static ApiServerRequests calls;
    private static ScheduledExecutorService controllers;
    /** Every guard a test started: those still running when it ends are killed, so none outlives its test. */
    private static final List<GuardProcess> STARTED = new CopyOnWriteArrayList<>();

    /**
     * Starts the broker, PostgreSQL and the API server; {@code podNamespace} is the guards' own namespace (their
     * Lease's), {@code settings} the environment variables that every guard of the class gets besides.
     */
    protected static void startBackingServices(String podNamespace, Map<String, String> settings) {
        services = ProcessBackingServices.start(podNamespace);
        api = services.api();
        environment = services.environment();
        environment.putAll(settings);
        calls = new ApiServerRequests(api).recordInBackground();
        simulator = new HarvesterSimulator(api.getClient());
        controllers = Executors.newSingleThreadScheduledExecutor();
    }

    /** Runs {@code controller} every {@code millis} until the services stop: a Harvester controller that acts alone. */
    protected static void every(long millis, Runnable controller) {
        controllers.scheduleWithFixedDelay(controller, millis, millis, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts a guard named {@code name}: its Lease identity and its database connections' {@code application_name}
     * (so that a test can end that guard's connections). It is not ready yet.
     */
    protected static GuardProcess guard(String name) throws Exception {
        Map<String, String> env = new HashMap<>(environment);
        String url = env.get("QUARKUS_DATASOURCE_JDBC_URL");
        env.put("QUARKUS_DATASOURCE_JDBC_URL", url + (url.contains("?") ? "&" : "?") + "ApplicationName=" + name);
        env.put("GUARD_LEADERSHIP_IDENTITY", name);
        GuardProcess guard = GuardProcess.start(name, env);
        STARTED.add(guard);
        return guard;
    }

    /**
     * A test that failed half-way leaves guards running; one left running would lead, and act in the next test of the
     * class.
     */
    @AfterEach
    void killGuardsLeftRunning() throws InterruptedException {
        for (GuardProcess guard : STARTED) {
            if (guard.alive()) {
                guard.kill();
            }
        }
        STARTED.clear();
    }

    /** {@link #guard}, once it is ready (within 90 s). */
    protected static GuardProcess readyGuard(String name) throws Exception {
        GuardProcess guard = guard(name);
        guard.awaitReady(Duration.ofSeconds(90));
        return guard;
    }

    @AfterAll
    static void stopBackingServices() {
        if (controllers != null) {
            controllers.shutdownNow();
        }
        if (calls != null) {
            calls.close();
        }
        if (services != null) {
            services.stop();
        }
        controllers = null;
        calls = null;
        services = null;
    }
}
