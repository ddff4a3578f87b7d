package dev.vmexportguard.support;

import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a guard started as a process ({@link GuardProcess}) runs against: a Kafka broker, PostgreSQL (the guard as the
 * runtime role, Flyway as the owner) and the Kubernetes API test server in CRUD mode that answers as Harvester's does,
 * with the environment that points a guard at them and makes its lifecycle look often.
 */
public final class ProcessBackingServices {
    private final KafkaBrokerResource kafka;
    private final PostgresResource postgres = new PostgresResource();
    private final KubernetesServer api = new KubernetesServer(false, true, InetAddress.getLoopbackAddress(), 0, List.of());
    private final Map<String, String> environment = new HashMap<>();

    /** Starts them; {@code podNamespace} is the guard's own namespace (its Lease's). */
    public static ProcessBackingServices start(String podNamespace) {
        return start(podNamespace, new KafkaBrokerResource());
    }

    /** Starts them with the given broker (not started yet); {@code podNamespace} is the guard's own namespace. */
    public static ProcessBackingServices start(String podNamespace, KafkaBrokerResource broker) {
        ProcessBackingServices services = new ProcessBackingServices(broker);
        Map<String, String> kafkaConfig = services.kafka.start();
        Map<String, String> database = services.postgres.start();
        services.api.before();
        new HarvesterApiSetup().accept(services.api);
        Map<String, String> env = services.environment;
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafkaConfig.get("kafka.bootstrap.servers"));
        env.putAll(PostgresResource.environment(database));
        env.put("KUBERNETES_MASTER", services.api.getClient().getMasterUrl().toString());
        env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
        env.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
        env.put("KUBERNETES_NAMESPACE", podNamespace);
        env.put("GUARD_EXPORTS_DISPATCH_INTERVAL", "200ms");
        env.put("GUARD_EXPORTS_RESYNC_INTERVAL", "1s");
        return services;
    }

    private ProcessBackingServices(KafkaBrokerResource kafka) {
        this.kafka = kafka;
    }

    public KafkaBrokerResource kafka() {
        return kafka;
    }

    public KubernetesServer api() {
        return api;
    }

    /** The environment of a guard process; callers add their own settings to it. */
    public Map<String, String> environment() {
        return environment;
    }

    public void stop() {
        api.after();
        postgres.stop();
        kafka.stop();
    }
}
