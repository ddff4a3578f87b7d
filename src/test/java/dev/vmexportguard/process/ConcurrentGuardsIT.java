package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.support.ApiServerRequests;
import dev.vmexportguard.support.EventOrder;
import dev.vmexportguard.support.GuardProcess;
import dev.vmexportguard.support.GuardProcessTest;
import dev.vmexportguard.support.GuardTopics;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.KafkaBrokerResource;
import dev.vmexportguard.support.Requests;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two built guards in one consumer group on a request topic of three partitions, a burst of requests for stopped
 * and running VMs, several for the same volume (keyed alike, as the contract says to keep their order): each
 * request gets exactly one final event, in order; no volume has two exports at once (seen in what reached the API
 * server: no image of a volume is created while another image of it is still copying); requests for one volume are
 * decided in the order they were sent.
 */
class ConcurrentGuardsIT extends GuardProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NS = "concurrent";
    private static final int STOPPED_VMS = 6;
    private static final int RUNNING_VMS = 3;
    private static final String SHARED = "shared-data";
    private static final int PER_SHARED_VOLUME = 3;


    @BeforeAll
    static void startBackingServices() throws Exception {
        startBackingServices("default", Map.of("GUARD_EXPORTS_MAX_CONCURRENT", "4"));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KafkaBrokerResource.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(GuardTopics.REQUESTS, 3, (short) 1),
                    new NewTopic(GuardTopics.RESULTS, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        every(300, () -> simulator.advanceImages(NS, 20));
    }

    /** One request to send: its id, the record's key, the request. */
    record Sent(String id, String key, String json, String volume) {
    }

    @Test
    void twoGuardsThreePartitionsOneExportPerVolumeAtATimeInOrderPerVolume() throws Exception {
        HarvesterCluster cluster = new HarvesterCluster(api.getClient());
        List<Sent> burst = new ArrayList<>();
        for (int i = 0; i < STOPPED_VMS; i++) {
            String disk = "s" + i + "-disk-0-aaaaa";
            cluster.volume(NS, disk);
            cluster.vm(NS, "s" + i, "Stopped", disk);
        }
        for (int i = 0; i < RUNNING_VMS; i++) {
            String disk = "r" + i + "-disk-0-aaaaa";
            cluster.volume(NS, disk);
            cluster.vm(NS, "r" + i, "Running", disk);
            cluster.vmi(NS, "r" + i, "Running", disk);
        }
        cluster.volume(NS, SHARED);
        cluster.vm(NS, "shared-a", "Stopped", SHARED);
        cluster.vm(NS, "shared-b", "Stopped", SHARED);
        // the burst, interleaved: each VM once, the shared volume and s0's volume several times, keyed by volume
        for (int round = 0; round < PER_SHARED_VOLUME; round++) {
            String id = Requests.newRequestId();
            burst.add(new Sent(id, NS + "/" + SHARED, Requests.request(id, NS, null, SHARED), SHARED));
            id = Requests.newRequestId();
            burst.add(new Sent(id, NS + "/s0-disk-0-aaaaa", Requests.request(id, NS, "s0", "s0-disk-0-aaaaa"),
                    "s0-disk-0-aaaaa"));
        }
        for (int i = 1; i < STOPPED_VMS; i++) {
            String id = Requests.newRequestId();
            burst.add(new Sent(id, id, Requests.request(id, NS, "s" + i, null), "s" + i + "-disk-0-aaaaa"));
        }
        for (int i = 0; i < RUNNING_VMS; i++) {
            String id = Requests.newRequestId();
            burst.add(new Sent(id, id, Requests.request(id, NS, "r" + i, null), "r" + i + "-disk-0-aaaaa"));
        }
        GuardTopics topics = GuardTopics.get();

        try (GuardProcess a = readyGuard("guard-a"); GuardProcess b = readyGuard("guard-b")) {
            // both guards consume: one group, two members, the three partitions shared between them
            await().atMost(Duration.ofSeconds(60)).until(() -> groupMembers().size() == 2
                    && groupMembers().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty()));
            assertThat(groupMembers().stream().mapToInt(m -> m.assignment().topicPartitions().size()).sum()).isEqualTo(3);

            List<String> sentOrder = new ArrayList<>();
            List<Integer> partitions = new ArrayList<>();
            for (Sent s : interleaved(burst)) {
                partitions.add(topics.send(s.key(), s.json().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        Map.of()).partition());
                sentOrder.add(s.id());
            }
            assertThat(Set.copyOf(partitions)).as("partitions the burst went to").hasSizeGreaterThan(1);
            await().atMost(Duration.ofSeconds(120)).until(() -> burst.stream()
                    .allMatch(s -> topics.results(s.id()).stream().anyMatch(e -> isFinal(e.type()))));
            Thread.sleep(GuardTopics.SETTLE.toMillis());

            for (Sent s : burst) {
                EventOrder.checkTopic(s.id(), topics.results(s.id()));
            }
            for (Sent s : burst) {
                if (s.volume().startsWith("r")) {
                    assertThat(finalEvent(topics, s.id()).type()).as("running VM's request %s", s.id()).isEqualTo("REJECTED");
                }
            }
            checkOneExportPerVolumeAtATime();
            // requests for one volume, keyed alike, are taken up in the order sent (their RECEIVED rows, written as
            // each is taken up, one at a time per volume), and a later one never starts before an earlier one
            for (String volume : List.of(SHARED, "s0-disk-0-aaaaa")) {
                List<Sent> same = burst.stream().filter(s -> s.volume().equals(volume))
                        .sorted((x, y) -> sentOrder.indexOf(x.id()) - sentOrder.indexOf(y.id())).toList();
                Instant takenBefore = Instant.MIN;
                Instant startedBefore = Instant.MIN;
                for (Sent s : same) {
                    Instant taken = receivedAt(a, s.id());
                    assertThat(taken).as("%s for %s taken up", s.id(), volume).isAfterOrEqualTo(takenBefore);
                    takenBefore = taken;
                    for (GuardTopics.Event e : topics.results(s.id())) {
                        if (e.type().equals("STARTED")) {
                            Instant started = Instant.parse(e.body().path("occurredAt").asText());
                            assertThat(started).as("%s for %s started", s.id(), volume).isAfterOrEqualTo(startedBefore);
                            startedBefore = started;
                        }
                    }
                }
                assertThat(finalEvent(topics, same.get(0).id()).type()).as("first request for %s", volume)
                        .isEqualTo("COMPLETED");
            }
            for (String id : sentOrder) {
                Map<String, Long> creates = imageCreatesPerRequest();
                boolean started = topics.results(id).stream().anyMatch(e -> e.type().equals("STARTED"));
                assertThat(creates.getOrDefault(id, 0L)).as("image creates of %s", id).isEqualTo(started ? 1L : 0L);
            }
            assertThat(a.terminate(Duration.ofSeconds(30))).isTrue();
            assertThat(b.terminate(Duration.ofSeconds(30))).isTrue();
        }
    }

    /** When the request was taken up: its RECEIVED audit row (the first, if it was delivered more than once). */
    private static Instant receivedAt(GuardProcess guard, String id) throws Exception {
        List<Instant> received = new ArrayList<>();
        JSON.readTree(guard.get("/api/audit?limit=500&requestId=" + id)).path("items").forEach(row -> {
            if (row.path("type").asText().equals("RECEIVED")) {
                received.add(Instant.parse(row.path("occurredAt").asText()));
            }
        });
        assertThat(received).as("RECEIVED rows of %s", id).isNotEmpty();
        return received.stream().min(Instant::compareTo).orElseThrow();
    }

    /** The burst in an order that mixes volumes: the shared ones' requests spread through it. */
    private static List<Sent> interleaved(List<Sent> burst) {
        List<Sent> order = new ArrayList<>();
        List<Sent> shared = burst.stream().filter(s -> !s.key().equals(s.id())).toList();
        List<Sent> others = burst.stream().filter(s -> s.key().equals(s.id())).toList();
        int o = 0;
        for (Sent s : shared) {
            order.add(s);
            if (o < others.size()) {
                order.add(others.get(o++));
            }
        }
        order.addAll(others.subList(o, others.size()));
        return order;
    }

    /**
     * In the order requests reached the API server: an image of a volume is created only when every earlier image
     * of that volume has been reported ready (the only way an export ends here), so two never copy at once.
     */
    private static void checkOneExportPerVolumeAtATime() throws Exception {
        Map<String, String> volumeOfImage = new HashMap<>();
        Map<String, List<String>> copying = new LinkedHashMap<>();
        String images = "/apis/harvesterhci.io/v1beta1/namespaces/" + NS + "/virtualmachineimages";
        for (ApiServerRequests.Request r : calls.all()) {
            if (r.method().equals("POST") && r.succeeded() && r.path().startsWith(images)) {
                JsonNode body = JSON.readTree(r.body());
                String name = body.path("metadata").path("name").asText();
                String volume = body.path("spec").path("pvcName").asText();
                List<String> active = copying.computeIfAbsent(volume, v -> new ArrayList<>());
                assertThat(active).as("images of %s still copying when %s was created", volume, name).isEmpty();
                active.add(name);
                volumeOfImage.put(name, volume);
            } else if ((r.method().equals("PUT") || r.method().equals("PATCH")) && r.succeeded()
                    && r.path().startsWith(images + "/")) {
                String name = nameIn(r.path(), images);
                JsonNode status = JSON.readTree(r.body()).path("status");
                if (status.path("progress").asInt() == 100 && volumeOfImage.containsKey(name)) {
                    copying.get(volumeOfImage.get(name)).remove(name);
                }
            } else if (r.method().equals("DELETE") && r.succeeded() && r.path().startsWith(images + "/")) {
                String name = nameIn(r.path(), images);
                if (volumeOfImage.containsKey(name)) {
                    copying.get(volumeOfImage.get(name)).remove(name);
                }
            }
        }
        assertThat(volumeOfImage).as("images created").isNotEmpty();
    }

    /** The image's name in {@code <images>/<name>[/status][?query]}. */
    private static String nameIn(String path, String images) {
        String rest = path.substring(images.length() + 1);
        int end = rest.indexOf('/') >= 0 ? rest.indexOf('/') : rest.indexOf('?');
        return end < 0 ? rest : rest.substring(0, end);
    }

    private static Map<String, Long> imageCreatesPerRequest() throws Exception {
        Map<String, Long> creates = new HashMap<>();
        String images = "/apis/harvesterhci.io/v1beta1/namespaces/" + NS + "/virtualmachineimages";
        for (ApiServerRequests.Request r : calls.all()) {
            if (r.method().equals("POST") && r.succeeded() && r.path().startsWith(images)) {
                String id = JSON.readTree(r.body()).path("metadata").path("annotations")
                        .path("vm-export-guard.dev/request-id").asText();
                creates.merge(id, 1L, Long::sum);
            }
        }
        return creates;
    }

    private static boolean isFinal(String type) {
        return type.equals("REJECTED") || type.equals("COMPLETED") || type.equals("FAILED");
    }

    private static GuardTopics.Event finalEvent(GuardTopics topics, String id) {
        return topics.results(id).stream().filter(e -> isFinal(e.type())).findFirst().orElseThrow();
    }

    private static List<MemberDescription> groupMembers() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KafkaBrokerResource.bootstrapServers()))) {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of("vm-export-guard"))
                    .describedGroups().get("vm-export-guard").get(10, TimeUnit.SECONDS);
            return List.copyOf(group.members());
        }
    }
}
