package dev.vmexportguard.messaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.vmexportguard.decision.EventType;
import dev.vmexportguard.decision.Evidence;
import dev.vmexportguard.decision.ReasonCode;
import dev.vmexportguard.decision.RequestValidator;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.support.Contracts;
import dev.vmexportguard.support.GuardTopics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The published JSON Schemas against the README's examples, the request validator's verdicts and the events the
 * guard builds; and the check every test reading the result topic makes ({@link GuardTopics#event}).
 */
class ContractSchemaTest {
    private static final ObjectMapper JSON = JsonMapper.builder().addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).build();
    private static final Pattern JSON_BLOCK = Pattern.compile("```json\\n(.*?)```", Pattern.DOTALL);
    private static final Instant NOW = Instant.parse("2026-11-26T18:20:31.530Z");

    static List<String> readmeBlocks(String heading) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int start = readme.indexOf("\n" + heading + "\n");
        assertThat(start).as("README section %s", heading).isPositive();
        int end = readme.indexOf("\n## ", start + heading.length() + 2);
        Matcher m = JSON_BLOCK.matcher(readme.substring(start, end < 0 ? readme.length() : end));
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(1));
        }
        return blocks;
    }

    @Test
    void everyRequestExampleOfTheReadmeIsValid() throws Exception {
        List<String> examples = readmeBlocks("## The request (contract v1)");
        assertThat(examples).isNotEmpty();
        for (String example : examples) {
            assertThat(Contracts.requestProblems(example)).as(example).isEmpty();
            assertThat(RequestValidator.validate(JSON.readValue(example, Object.class)).valid()).as(example).isTrue();
        }
    }

    @Test
    void everyResultExampleOfTheReadmeIsValid() throws Exception {
        List<String> examples = readmeBlocks("## Result events");
        assertThat(examples).isNotEmpty();
        examples.forEach(e -> assertThat(Contracts.resultProblems(e)).as(e).isEmpty());
    }

    /** A change to the README's request example, and whether the guard takes the result. */
    record Variant(String name, boolean valid, Consumer<ObjectNode> change) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Variant> variants() {
        return List.of(
                new Variant("as in the README", true, n -> { }),
                new Variant("only the required fields and a VM", true, n -> n.retain("requestId", "namespace", "vmName", "requestedBy")),
                new Variant("only a volume", true, n -> n.retain("requestId", "namespace", "volumeName", "requestedBy")),
                new Variant("optional fields null", true, n -> n.putNull("reason").putNull("notAfter").putNull("replyTo")
                        .putNull("imageDisplayName").putNull("storageClassName").putNull("requestedByGroups")),
                new Variant("unknown field", true, n -> n.put("colour", "blue")),
                new Variant("onRunning in lower case", true, n -> n.put("onRunning", "stop")),
                new Variant("notAfter in UTC", true, n -> n.put("notAfter", "2026-11-26T18:30:00Z")),
                new Variant("no requestId", false, n -> n.remove("requestId")),
                new Variant("requestId null", false, n -> n.putNull("requestId")),
                new Variant("requestId with a space", false, n -> n.put("requestId", "a b")),
                new Variant("requestId of 129", false, n -> n.put("requestId", "a".repeat(129))),
                new Variant("namespace upper case", false, n -> n.put("namespace", "Default")),
                new Variant("neither VM nor volume", false, n -> n.remove(List.of("vmName", "volumeName"))),
                new Variant("VM and volume null", false, n -> n.putNull("vmName").putNull("volumeName")),
                new Variant("vmName with _", false, n -> n.put("vmName", "vm_1")),
                new Variant("requestedBy blank", false, n -> n.put("requestedBy", "   ")),
                new Variant("requestedBy with a tab", false, n -> n.put("requestedBy", "alice\t")),
                new Variant("requestedBy of 257", false, n -> n.put("requestedBy", "a".repeat(257))),
                new Variant("imageDisplayName ending in -", false, n -> n.put("imageDisplayName", "image-")),
                new Variant("onRunning MAYBE", false, n -> n.put("onRunning", "MAYBE")),
                new Variant("restartAfter without STOP", false, n -> n.remove("onRunning")),
                new Variant("grace period over 3600", false, n -> n.put("stopGracePeriodSeconds", 3601)),
                new Variant("grace period as text", false, n -> n.put("stopGracePeriodSeconds", "120")),
                new Variant("grace period without STOP", false, n -> n.put("onRunning", "REJECT").put("restartAfter", false)),
                new Variant("backupType without backupFirst", false, n -> n.put("backupFirst", false)),
                new Variant("backupType other", false, n -> n.put("backupType", "copy")),
                new Variant("backupFirst as text", false, n -> n.put("backupFirst", "yes")),
                new Variant("a system: group", false, n -> n.putArray("requestedByGroups").add("system:masters")),
                new Variant("33 groups", false, n -> {
                    var groups = n.putArray("requestedByGroups");
                    for (int i = 0; i < 33; i++) {
                        groups.add("g" + i);
                    }
                }),
                new Variant("reason of 1025", false, n -> n.put("reason", "r".repeat(1025))),
                new Variant("replyTo of 513", false, n -> n.put("replyTo", "r".repeat(513))),
                new Variant("empty replyTo", false, n -> n.put("replyTo", "")),
                new Variant("notAfter without offset", false, n -> n.put("notAfter", "2026-11-26T19:30:00")),
                new Variant("notAfter a date", false, n -> n.put("notAfter", "2026-11-26")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void theRequestSchemaAndTheGuardAgree(Variant variant) throws Exception {
        ObjectNode request = (ObjectNode) JSON.readTree(readmeBlocks("## The request (contract v1)").get(0));
        variant.change().accept(request);
        String json = JSON.writeValueAsString(request);
        boolean guardTakesIt = RequestValidator.validate(JSON.readValue(json, Object.class)).valid();
        assertThat(guardTakesIt).as("the guard's verdict on %s", json).isEqualTo(variant.valid());
        assertThat(Contracts.requestProblems(json)).as("the schema's verdict on %s", json)
                .matches(problems -> problems.isEmpty() == variant.valid());
    }

    private static final ResultEvent.Subject SUBJECT = new ResultEvent.Subject("r-1", "default", "vm1", "vm1-disk-0",
            "alice@example.com", null, "alice@example.com");
    private static final Evidence OBSERVED = new Evidence(NOW,
            new Evidence.VolumeSeen("vm1-disk-0", "Bound", "harvester-longhorn", "12"),
            List.of(new Evidence.VmSeen("vm1", "Running", "RerunOnFailure", "13", "Running", "14"),
                    new Evidence.VmSeen("vmi-only", null, null, null, "Running", "15")),
            List.of(new Evidence.PodSeen("virt-launcher-vm1-x", "Running", "virt-launcher", "vm1")));
    private static final ResultEvent.ImageRef IMAGE = ResultEvent.ImageRef.of("default", "vmexport-1", "vm1-img");
    private static final ResultEvent.ImageRef READY = new ResultEvent.ImageRef("default", "vmexport-1", "vm1-img", 100,
            10L, 20L, "longhorn-image");

    static List<ResultEvent> builtEvents() {
        return List.of(
                ResultEvent.refusal(ReasonCode.VM_RUNNING, "refused", "t:0:1").observed(OBSERVED).build(SUBJECT, NOW),
                ResultEvent.refusal(ReasonCode.INVALID_REQUEST, "invalid", "t:0:2")
                        .build(ResultEvent.Subject.NONE.withRequestIdOr("kafka:t:0:2"), NOW),
                ResultEvent.refusal(ReasonCode.CLUSTER_UNAVAILABLE, "down", "t:0:3")
                        .observed(Evidence.none(NOW)).build(SUBJECT, NOW),
                ResultEvent.of(EventType.QUEUED, "queued").message("queued").queuePosition(3).build(SUBJECT, NOW),
                ResultEvent.of(EventType.STOPPING_VM, "s").message("stopping").observed(OBSERVED).build(SUBJECT, NOW),
                ResultEvent.of(EventType.VM_STOPPED, "s").message("stopped").build(SUBJECT, NOW),
                ResultEvent.of(EventType.BACKUP_READY, "b").message("ready").build(SUBJECT, NOW),
                ResultEvent.of(EventType.STARTED, "i").message("started").observed(OBSERVED).image(IMAGE).build(SUBJECT, NOW),
                ResultEvent.of(EventType.PROGRESS, "p").message("40%").image(new ResultEvent.ImageRef("default",
                        "vmexport-1", "vm1-img", 40, null, null, null)).build(SUBJECT, NOW),
                ResultEvent.of(EventType.COMPLETED, "final").message("done").image(READY).build(SUBJECT, NOW),
                ResultEvent.of(EventType.FAILED, "final").reason(ReasonCode.EXPORT_TIMEOUT).message("late")
                        .image(IMAGE).build(SUBJECT, NOW),
                ResultEvent.of(EventType.FAILED, "final").reason(ReasonCode.GUARD_NOT_AUTHORIZED).message("403")
                        .build(SUBJECT, NOW),
                ResultEvent.of(EventType.VM_RESTARTED, "r").message("restarted").build(SUBJECT, NOW),
                ResultEvent.of(EventType.RESTART_FAILED, "rf").reason(ReasonCode.RESTART_FAILED).message("no")
                        .build(SUBJECT, NOW),
                ResultEvent.of(EventType.ADMITTED, "admission:1").message("admitted").observed(OBSERVED)
                        .image(ResultEvent.ImageRef.of("default", "export-x7k2p", "vm1-img")).build(SUBJECT, NOW));
    }

    @Test
    void everyKindOfEventTheGuardBuildsIsValid() throws Exception {
        for (ResultEvent event : builtEvents()) {
            String json = JSON.writeValueAsString(event);
            assertThat(Contracts.resultProblems(json)).as(json).isEmpty();
        }
    }

    static List<Variant> brokenEvents() {
        return List.of(
                new Variant("unknown type", false, n -> n.put("type", "DONE")),
                new Variant("no eventId", false, n -> n.remove("eventId")),
                new Variant("reason missing, not null", false, n -> n.remove("reason")),
                new Variant("unknown reason", false, n -> n.put("reason", "BAD_LUCK")),
                new Variant("REJECTED without reason", false, n -> n.putNull("reason")),
                new Variant("REJECTED with a failure's reason", false, n -> n.put("reason", "EXPORT_TIMEOUT")),
                new Variant("QUEUED without position", false, n -> n.put("type", "QUEUED").putNull("reason")),
                new Variant("STARTED without image", false, n -> n.put("type", "STARTED").putNull("reason")),
                new Variant("COMPLETED below 100", false, n -> {
                    n.put("type", "COMPLETED").putNull("reason");
                    n.set("image", JSON.valueToTree(new ResultEvent.ImageRef("d", "n", "x", 90, 1L, 1L, "s")));
                }),
                new Variant("FAILED with a refusal's reason", false, n -> n.put("type", "FAILED").put("reason", "VM_RUNNING")),
                new Variant("message a number", false, n -> n.put("message", 5)),
                new Variant("occurredAt a number", false, n -> n.put("occurredAt", 1764181231)),
                new Variant("evidence without vms", false, n -> ((ObjectNode) n.get("observed")).remove("vms")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenEvents")
    void theCheckOfEveryResultReadFailsOnABrokenEvent(Variant broken) throws Exception {
        ObjectNode event = JSON.valueToTree(builtEvents().get(0));
        assertThat(GuardTopics.event(record(JSON.writeValueAsString(event), true)).type()).isEqualTo("REJECTED");
        broken.change().accept(event);
        String json = JSON.writeValueAsString(event);
        assertThatThrownBy(() -> GuardTopics.event(record(json, true))).isInstanceOf(AssertionError.class)
                .hasMessageContaining(Contracts.RESULT_SCHEMA);
    }

    @Test
    void theCheckOfEveryResultReadFailsWithoutTheDataschemaHeader() throws Exception {
        String json = JSON.writeValueAsString(builtEvents().get(0));
        assertThatThrownBy(() -> GuardTopics.event(record(json, false))).isInstanceOf(AssertionError.class)
                .hasMessageContaining("ce_dataschema");
    }

    @Test
    void theDataschemaIsTheBaseAndTheVersionedSchemaName() {
        assertThat(ResultPublisher.dataschema("https://vm-export-guard.dev/schemas/"))
                .isEqualTo("https://vm-export-guard.dev/schemas/export-result-v1.json");
        assertThat(ResultPublisher.dataschema("https://guard.example/schemas"))
                .isEqualTo("https://guard.example/schemas/export-result-v1.json");
        assertThat(ResultPublisher.SCHEMA).isEqualTo(Contracts.RESULT_SCHEMA);
    }

    private static ConsumerRecord<String, byte[]> record(String value, boolean dataschema) {
        ConsumerRecord<String, byte[]> record = new ConsumerRecord<>(GuardTopics.RESULTS, 0, 7L, "r-1",
                value.getBytes(StandardCharsets.UTF_8));
        if (dataschema) {
            record.headers().add("ce_dataschema",
                    ("https://vm-export-guard.dev/schemas/" + Contracts.RESULT_SCHEMA).getBytes(StandardCharsets.UTF_8));
        }
        return record;
    }
}
