package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.KafkaBrokerResource;
import dev.vmexportguard.support.ProcessBackingServices;
import dev.vmexportguard.support.Requests;
import dev.vmexportguard.support.ScriptedAuthenticator;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built guard against a broker that takes SASL only and authorizes by ACL, with no access where none is granted:
 * the guard's principal gets exactly the ACLs the README lists, and its settings come as the README's environment
 * variables. Every one of its Kafka clients works with them (the request consumer and its group, the result producer,
 * the dead-letter producer, the HTTP intake's producer); a wrong password keeps it from being ready.
 */
class KafkaSaslIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NS = "sasl";
    private static final String GROUP = "vm-export-guard";
    private static final String LIVE_GROUPS = "vm-export-guard-live-";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static ProcessBackingServices services;
    static KafkaBrokerResource kafka;

    @BeforeAll
    static void startBackingServices() throws Exception {
        services = ProcessBackingServices.start("default", KafkaBrokerResource.withSaslAndAcls());
        kafka = services.kafka();
        try (Admin admin = Admin.create(kafka.adminProperties())) {
            admin.createTopics(List.of(new NewTopic(GuardTopics.REQUESTS, 1, (short) 1),
                    new NewTopic(GuardTopics.RESULTS, 1, (short) 1),
                    new NewTopic(GuardTopics.DEAD_LETTER, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            // the README's ACLs for the guard's principal, and nothing else
            String guard = "User:" + KafkaBrokerResource.SASL_USER;
            admin.createAcls(List.of(
                    allow(guard, ResourceType.TOPIC, GuardTopics.REQUESTS, AclOperation.READ),
                    allow(guard, ResourceType.TOPIC, GuardTopics.REQUESTS, AclOperation.DESCRIBE),
                    allow(guard, ResourceType.TOPIC, GuardTopics.REQUESTS, AclOperation.WRITE),
                    allow(guard, ResourceType.GROUP, GROUP, AclOperation.READ),
                    allow(guard, ResourceType.TOPIC, GuardTopics.RESULTS, AclOperation.WRITE),
                    allow(guard, ResourceType.TOPIC, GuardTopics.RESULTS, AclOperation.DESCRIBE),
                    // the dashboard's live view: each replica reads the results in a group of its own
                    allow(guard, ResourceType.TOPIC, GuardTopics.RESULTS, AclOperation.READ),
                    new AclBinding(new ResourcePattern(ResourceType.GROUP, LIVE_GROUPS, PatternType.PREFIXED),
                            new AccessControlEntry(guard, "*", AclOperation.READ, AclPermissionType.ALLOW)),
                    allow(guard, ResourceType.TOPIC, GuardTopics.DEAD_LETTER, AclOperation.WRITE),
                    allow(guard, ResourceType.TOPIC, GuardTopics.DEAD_LETTER, AclOperation.DESCRIBE)))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stopBackingServices() {
        if (services != null) {
            services.stop();
        }
    }

    private static AclBinding allow(String principal, ResourceType type, String name, AclOperation operation) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
    }

    /** The guard's environment with its SASL settings as the README gives them, for the given password. */
    private static Map<String, String> environment(String password) {
        Map<String, String> env = new HashMap<>(services.environment());
        Map<String, String> sasl = KafkaBrokerResource.sasl(KafkaBrokerResource.SASL_USER, password);
        env.put("KAFKA_SECURITY_PROTOCOL", sasl.get("security.protocol"));
        env.put("KAFKA_SASL_MECHANISM", sasl.get("sasl.mechanism"));
        env.put("KAFKA_SASL_JAAS_CONFIG", sasl.get("sasl.jaas.config"));
        return env;
    }

    @Test
    void withTheReadmeAclsEveryKafkaClientOfTheGuardWorks() throws Exception {
        HarvesterCluster cluster = new HarvesterCluster(services.api().getClient());
        cluster.volume(NS, "vm1-disk-0-aaaaa");
        cluster.vm(NS, "vm1", "Running", "vm1-disk-0-aaaaa");
        cluster.vmi(NS, "vm1", "Running", "vm1-disk-0-aaaaa");
        String overKafka = Requests.newRequestId();
        String overHttp = Requests.newRequestId();

        try (GuardProcess guard = GuardProcess.start("sasl", environment(KafkaBrokerResource.SASL_USER_PASSWORD))) {
            guard.awaitReady(Duration.ofSeconds(90));
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(clientProperties(), new StringSerializer(),
                    new StringSerializer())) {
                ProducerRecord<String, String> request = new ProducerRecord<>(GuardTopics.REQUESTS, overKafka,
                        Requests.request(overKafka, NS, "vm1", null));
                // as the chat-ops bot sends it: with its token
                request.headers().add("authorization", ("Bearer " + ScriptedAuthenticator.BOT_TOKEN)
                        .getBytes(StandardCharsets.UTF_8));
                producer.send(request).get(30, TimeUnit.SECONDS);
                producer.send(new ProducerRecord<>(GuardTopics.REQUESTS, "not-json", "{not json"))
                        .get(30, TimeUnit.SECONDS);
            }
            HttpResponse<String> posted = HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://localhost:" + guard.port() + "/api/exports"))
                    .header("Authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(Requests.request(overHttp, NS, "vm1", null)
                            .replace("\"requestedBy\":\"alice@example.com\"", "\"requestedBy\":\""
                                    + ScriptedAuthenticator.OPERATOR + "\"")))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(posted.statusCode()).as("HTTP intake: %s", posted.body()).isEqualTo(202);

            // results written by the guard's result producer: the Kafka request, the HTTP one, the bad record
            List<ConsumerRecord<String, String>> results = new ArrayList<>();
            List<ConsumerRecord<String, String>> deadLetters = new ArrayList<>();
            try (KafkaConsumer<String, String> consumer = consumer()) {
                consumer.subscribe(List.of(GuardTopics.RESULTS, GuardTopics.DEAD_LETTER));
                await().atMost(Duration.ofSeconds(60)).until(() -> {
                    consumer.poll(Duration.ofMillis(500)).forEach(r ->
                            (r.topic().equals(GuardTopics.RESULTS) ? results : deadLetters).add(r));
                    return types(results, overKafka).contains("REJECTED") && types(results, overHttp).contains("REJECTED")
                            && !deadLetters.isEmpty();
                });
            }
            assertThat(reasons(results, overKafka)).containsExactly("VM_RUNNING");
            assertThat(reasons(results, overHttp)).containsExactly("VM_RUNNING");
            assertThat(results.stream().map(r -> reasonOf(r.value()))).contains("INVALID_REQUEST");
            assertThat(deadLetters).singleElement().satisfies(r -> assertThat(r.value()).isEqualTo("{not json"));

            // the consumer group's offsets committed under the guard's principal (group Read)
            try (Admin admin = Admin.create(kafka.adminProperties())) {
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(GROUP)
                            .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
                    assertThat(committed.get(new TopicPartition(GuardTopics.REQUESTS, 0))).isNotNull()
                            .satisfies(o -> assertThat(o.offset()).isEqualTo(3));
                });
            }
            String log = Files.readString(guard.log(), StandardCharsets.UTF_8);
            assertThat(log).doesNotContain("TopicAuthorizationException").doesNotContain("GroupAuthorizationException")
                    .doesNotContain("SaslAuthenticationException");
            assertThat(guard.terminate(Duration.ofSeconds(30))).isTrue();
        }
    }

    @Test
    void aWrongPasswordKeepsTheGuardFromBeingReady() throws Exception {
        try (GuardProcess guard = GuardProcess.start("sasl-wrong", environment("not-the-password"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(guard.log(), StandardCharsets.UTF_8)
                    .contains("Authentication failed"));
            // it runs and answers, and is not ready
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> guard.status("/q/health/live") == 200);
            await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(10))
                    .until(() -> guard.status("/q/health/ready") == 503);
            assertThat(guard.terminate(Duration.ofSeconds(30))).isTrue();
        }
    }

    private static Properties clientProperties() {
        return kafka.adminProperties();
    }

    private static KafkaConsumer<String, String> consumer() {
        Properties p = clientProperties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "sasl-it-reader");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    private static List<String> types(List<ConsumerRecord<String, String>> records, String id) {
        return records.stream().filter(r -> id.equals(r.key())).map(r -> field(r.value(), "type")).toList();
    }

    private static List<String> reasons(List<ConsumerRecord<String, String>> records, String id) {
        return records.stream().filter(r -> id.equals(r.key())).map(r -> reasonOf(r.value())).toList();
    }

    private static String reasonOf(String value) {
        return field(value, "reason");
    }

    private static String field(String value, String name) {
        try {
            JsonNode node = JSON.readTree(value);
            return node.path(name).asText(null);
        } catch (Exception e) {
            return null;
        }
    }
}
