package dev.vmexportguard.support;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real Kafka broker (KRaft, one combined node) inside the test JVM: PLAINTEXT, or {@link #withSaslAndAcls()}.
 */
public class KafkaBrokerResource implements QuarkusTestResourceLifecycleManager {
    /** The principals a SASL broker knows (PLAIN): its super user, and a user with no rights but its ACLs. */
    public static final String SASL_ADMIN = "plain-admin";
    public static final String SASL_ADMIN_PASSWORD = "plain-admin-secret";
    public static final String SASL_USER = "plain-user1";
    public static final String SASL_USER_PASSWORD = "plain-user1-secret";

    private static volatile String bootstrapServers;
    private final SecurityProtocol protocol;
    private KafkaClusterTestKit cluster;

    public KafkaBrokerResource() {
        this(SecurityProtocol.PLAINTEXT);
    }

    private KafkaBrokerResource(SecurityProtocol protocol) {
        this.protocol = protocol;
    }

    /**
     * A broker that takes SASL_PLAINTEXT (mechanism PLAIN) only, with Kafka's StandardAuthorizer and no access where
     * no ACL allows it: {@value #SASL_ADMIN} is its super user, {@value #SASL_USER} may do what ACLs grant.
     */
    public static KafkaBrokerResource withSaslAndAcls() {
        return new KafkaBrokerResource(SecurityProtocol.SASL_PLAINTEXT);
    }

    /** Client settings of the super user (bootstrap, and for a SASL broker its protocol, mechanism and JAAS). */
    public Properties adminProperties() {
        Properties p = new Properties();
        p.put("bootstrap.servers", cluster.bootstrapServers());
        if (protocol == SecurityProtocol.SASL_PLAINTEXT) {
            p.putAll(sasl(SASL_ADMIN, SASL_ADMIN_PASSWORD));
        }
        return p;
    }

    /** The client settings of a SASL PLAIN user. */
    public static Map<String, String> sasl(String user, String password) {
        return Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN", "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
                        + "\" password=\"" + password + "\";");
    }

    @Override
    public Map<String, String> start() {
        try {
            Path dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "kafka-testkit");
            cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                    .setBrokerSecurityProtocol(protocol)
                    .setControllerSecurityProtocol(protocol)
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
            if (protocol == SecurityProtocol.PLAINTEXT) {
                bootstrapServers = cluster.bootstrapServers();
            }
            return Map.of("kafka.bootstrap.servers", cluster.bootstrapServers());
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
