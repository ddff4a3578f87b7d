package dev.vmexportguard.support;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;

/** A real Kafka broker (KRaft, one combined node) inside the test JVM. */
public class KafkaBrokerResource implements QuarkusTestResourceLifecycleManager {
    private static volatile String bootstrapServers;
    private KafkaClusterTestKit cluster;

    @Override
    public Map<String, String> start() {
        try {
            Path dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "kafka-testkit");
            cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                    .setBaseDirectory(dir)
                    .build())
                    .setConfigProp("offsets.topic.replication.factor", "1")
                    .setConfigProp("transaction.state.log.replication.factor", "1")
                    .setConfigProp("transaction.state.log.min.isr", "1")
                    .setConfigProp("group.initial.rebalance.delay.ms", "0")
                    .setConfigProp("num.partitions", "1")
                    .build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            bootstrapServers = cluster.bootstrapServers();
            return Map.of("kafka.bootstrap.servers", bootstrapServers);
        } catch (Exception e) {
            throw new IllegalStateException("in-process Kafka broker did not start", e);
        }
    }

    public static String bootstrapServers() {
        return bootstrapServers;
    }

    @Override
    public void stop() {
        if (cluster != null) {
            try {
                cluster.close();
            } catch (Exception e) {
                throw new IllegalStateException("in-process Kafka broker did not stop", e);
            }
        }
    }
}
