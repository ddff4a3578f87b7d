package dev.vmexportguard.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertAll;

import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.CelType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.NamedRuleWithOperations;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Validation;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Variable;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Evaluates the policy's CEL with cel-java the way the API server does: variables first (in order, each seeing the
 * earlier ones), then every validation in order, and a validation's messageExpression only when it is false; the API
 * server reports the first refusal. Every evaluation carries a {@code request} with the userInfo of who makes the
 * change.
 */
class AdmissionPolicyTest {

    private static final Path POLICY = Path.of("k8s/admission/validating-admission-policy.yaml");
    private static final Path BINDING = Path.of("k8s/admission/validating-admission-policy-binding.yaml");
    private static final String LOCK = "vm-export-guard.dev/export-in-progress";
    private static final String GUARD_SA = "system:serviceaccount:vm-export-guard:vm-export-guard";
    private static final String BREAK_GLASS_GROUP = "vm-export-guard:break-glass";

    /** Who makes the change: {@code request.userInfo}. */
    record Who(String username, List<String> groups) {
        Map<String, Object> userInfo() {
            return map("username", username, "groups", groups);
        }

        @Override
        public String toString() {
            return username + (groups.contains(BREAK_GLASS_GROUP) ? " (break-glass)" : "");
        }
    }

    private static final Who ALICE = new Who("alice", List.of("tenant-a-devs", "system:authenticated"));
    private static final Who GUARD = new Who(GUARD_SA,
            List.of("system:serviceaccounts", "system:serviceaccounts:vm-export-guard", "system:authenticated"));
    private static final Who BREAK_GLASS = new Who("bob", List.of("ops", BREAK_GLASS_GROUP, "system:authenticated"));
    private static final Who KUBEVIRT = new Who("system:serviceaccount:kubevirt:kubevirt-controller",
            List.of("system:serviceaccounts", "system:serviceaccounts:kubevirt", "system:authenticated"));
    private static final Who CLUSTER_ADMIN = new Who("kubernetes-admin", List.of("system:masters", "system:authenticated"));
    private static final Who SAME_NAME_OTHER_NAMESPACE = new Who("system:serviceaccount:tenant-a:vm-export-guard",
            List.of("system:serviceaccounts", "system:serviceaccounts:tenant-a", "system:authenticated"));
    private static final Who LOOKALIKE_GROUP = new Who("carol", List.of("vm-export-guard:break-glass-requests",
            "system:authenticated"));

    private static final Cel CEL = CelFactory.standardCelBuilder()
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addCompilerLibraries(CelExtensions.strings())
            .addRuntimeLibraries(CelExtensions.strings())
            .addVar("object", SimpleType.DYN)
            .addVar("oldObject", SimpleType.DYN)
            .addVar("request", SimpleType.DYN)
            .addVar("variables", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .build();

    private static ValidatingAdmissionPolicy policy;
    private static Map<String, CelRuntime.Program> variables;
    private static List<Rule> rules;

    /** One validation: its expression and its messageExpression. */
    record Rule(CelRuntime.Program validation, CelRuntime.Program message) {}

    @BeforeAll
    static void compile() throws Exception {
        policy = load(POLICY, ValidatingAdmissionPolicy.class);
        variables = new LinkedHashMap<>();
        for (Variable v : policy.getSpec().getVariables()) {
            variables.put(v.getName(), program(v.getExpression(), null));
        }
        rules = new ArrayList<>();
        for (Validation rule : policy.getSpec().getValidations()) {
            rules.add(new Rule(program(rule.getExpression(), SimpleType.BOOL),
                    program(rule.getMessageExpression(), SimpleType.STRING)));
        }
    }

    private static CelRuntime.Program program(String expression, CelType required) throws Exception {
        var result = CEL.compile(expression);
        assertThat(result.hasError()).as("%s%n%s", expression, result.getErrorString()).isFalse();
        CelAbstractSyntaxTree ast = result.getAst();
        if (required != null) {
            assertThat(ast.getResultType()).as("static type of %s", expression).isEqualTo(required);
        }
        return CEL.createProgram(ast);
    }

    private static <T> T load(Path file, Class<T> type) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Serialization.unmarshal(in, type);
        }
    }

    /** The messages of the validations that refused, in order; the API server shows the first. */
    record Outcome(List<String> refusals) {
        boolean allowed() {
            return refusals.isEmpty();
        }

        String message() {
            return refusals.isEmpty() ? null : refusals.get(0);
        }
    }

    /** An update of the VirtualMachine itself by {@code who}. */
    private static Outcome admit(Who who, Map<String, Object> oldObject, Map<String, Object> object) throws Exception {
        return admit(map("operation", "UPDATE", "subResource", "", "userInfo", who.userInfo()), oldObject, object);
    }

    /** An update of the status subresource by {@code who}. */
    private static Outcome admitStatus(Who who, Map<String, Object> oldObject, Map<String, Object> object)
            throws Exception {
        return admit(map("operation", "UPDATE", "subResource", "status", "userInfo", who.userInfo()), oldObject, object);
    }

    private static Outcome admit(Map<String, Object> request, Map<String, Object> oldObject, Map<String, Object> object)
            throws Exception {
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("object", object);
        input.put("oldObject", oldObject);
        input.put("request", request);
        Map<String, Object> vars = new LinkedHashMap<>();
        input.put("variables", vars);
        for (var v : variables.entrySet()) {
            vars.put(v.getKey(), v.getValue().eval(input));
        }
        List<String> refusals = new ArrayList<>();
        for (Rule rule : rules) {
            if (!(Boolean) rule.validation().eval(input)) {
                refusals.add((String) rule.message().eval(input));
            }
        }
        return new Outcome(refusals);
    }

    private static Map<String, Object> vm() {
        return map(
                "apiVersion", "kubevirt.io/v1",
                "kind", "VirtualMachine",
                "metadata", map(
                        "name", "web-01",
                        "namespace", "tenant-a",
                        "uid", "6f1c1f9e-0b7e-4c43-9a8e-1d1f0f1e2a3b",
                        "resourceVersion", "4242",
                        "generation", 3L,
                        "labels", map("app", "web"),
                        "annotations", map("harvesterhci.io/volumeClaimTemplates", "[]")),
                "spec", map(
                        "runStrategy", "Halted",
                        "template", map(
                                "metadata", map("labels", map("app", "web")),
                                "spec", map(
                                        "domain", map(
                                                "cpu", map("cores", 2L),
                                                "devices", map("disks", List.of(map("name", "disk-0", "disk", map("bus", "virtio"))))),
                                        "volumes", List.of(map("name", "disk-0",
                                                "persistentVolumeClaim", map("claimName", "web-01-disk-0")))))),
                "status", map("printableStatus", "Stopped", "ready", false));
    }

    private static Map<String, Object> locked(String ids) {
        return with(vm(), "metadata.annotations." + LOCK, ids);
    }

    private static Map<String, Object> locked() {
        return locked("exp-42");
    }

    /** A deep copy of {@code vm} with the value at a dotted path set, or removed if null; an annotation key may contain dots. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> with(Map<String, Object> vm, String path, Object value) {
        Map<String, Object> copy = (Map<String, Object>) deepCopy(vm);
        String[] parts = path.startsWith("metadata.annotations.")
                ? new String[] {"metadata", "annotations", path.substring("metadata.annotations.".length())}
                : path.split("\\.");
        Map<String, Object> node = copy;
        for (int i = 0; i < parts.length - 1; i++) {
            node = (Map<String, Object>) node.computeIfAbsent(parts[i], k -> new LinkedHashMap<>());
        }
        if (value == null) {
            node.remove(parts[parts.length - 1]);
        } else {
            node.put(parts[parts.length - 1], value);
        }
        return copy;
    }

    private static Object deepCopy(Object value) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> copy = new LinkedHashMap<>();
            m.forEach((k, v) -> copy.put((String) k, deepCopy(v)));
            return copy;
        }
        if (value instanceof List<?> l) {
            List<Object> copy = new ArrayList<>();
            l.forEach(v -> copy.add(deepCopy(v)));
            return copy;
        }
        return value;
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static Map<String, Object> runStrategy(Map<String, Object> vm, String strategy) {
        return with(vm, "spec.runStrategy", strategy);
    }

    private static Map<String, Object> runningFlag(Map<String, Object> vm, Boolean running) {
        return with(with(vm, "spec.runStrategy", null), "spec.running", running);
    }

    private static Map<String, Object> requests(Map<String, Object> vm, Map<?, ?>... requests) {
        return with(vm, "status.stateChangeRequests", List.of(requests));
    }

    private static Map<String, Object> start() {
        return map("action", "Start", "uid", "6f1c1f9e-0b7e-4c43-9a8e-1d1f0f1e2a3b");
    }

    private static Map<String, Object> stop() {
        return map("action", "Stop", "uid", "6f1c1f9e-0b7e-4c43-9a8e-1d1f0f1e2a3b");
    }

    /** Updates that start a locked VM: refused whoever makes them. */
    static Stream<Arguments> refused() {
        var manual = runStrategy(locked(), "Manual");
        var rerun = runStrategy(locked(), "RerunOnFailure");
        return Stream.of(
                update("runStrategy Halted -> Always", locked(), runStrategy(locked(), "Always")),
                update("runStrategy Halted -> RerunOnFailure", locked(), rerun),
                update("runStrategy Halted -> Once", locked(), runStrategy(locked(), "Once")),
                update("runStrategy Halted -> WaitAsReceiver", locked(), runStrategy(locked(), "WaitAsReceiver")),
                update("runStrategy RerunOnFailure -> Always", rerun, runStrategy(locked(), "Always")),
                update("runStrategy Manual -> Always", manual, runStrategy(locked(), "Always")),
                update("runStrategy absent -> Always", with(locked(), "spec.runStrategy", null),
                        runStrategy(locked(), "Always")),
                update("running false -> runStrategy Always", runningFlag(locked(), false), runStrategy(locked(), "Always")),
                update("running false -> true", runningFlag(locked(), false), runningFlag(locked(), true)),
                update("running absent -> true", runningFlag(locked(), null), runningFlag(locked(), true)),
                update("status: Start request added (Manual)", manual, requests(manual, start())),
                update("status: Start request added (RerunOnFailure, old status absent)",
                        with(rerun, "status", null), requests(rerun, start())),
                update("status: Start request without uid", manual, requests(manual, map("action", "Start"))),
                update("status: Start added to an empty list", requests(manual), requests(manual, start())),
                update("status: Stop and Start (restart) added", manual, requests(manual, stop(), start())),
                update("start in the same update that removes the lock", locked(),
                        runStrategy(with(locked(), "metadata.annotations", null), "Always")),
                update("two requests hold the lock", locked("exp-1, exp-2"), runStrategy(locked("exp-1, exp-2"), "Always")));
    }

    /** The start rules are the same for everyone, the guard and break-glass operators included. */
    static Stream<Arguments> refusedForEveryone() {
        return refused().flatMap(c -> Stream.of(ALICE, GUARD, BREAK_GLASS, KUBEVIRT, CLUSTER_ADMIN)
                .map(who -> as(who, c)));
    }

    /** Updates that neither start a locked VM nor touch the lock: allowed for an ordinary user. */
    static Stream<Arguments> allowed() {
        var plain = vm();
        var unannotated = with(vm(), "metadata.annotations", null);
        var bare = with(with(locked(), "spec.runStrategy", null), "status", null);
        var manual = runStrategy(locked(), "Manual");
        var running = with(runStrategy(locked(), "Always"), "status.printableStatus", "Running");
        return Stream.of(
                update("unlocked: Halted -> Always", plain, runStrategy(plain, "Always")),
                update("unlocked: running false -> true", runningFlag(plain, false), runningFlag(plain, true)),
                update("unlocked: Start request added", runStrategy(plain, "Manual"),
                        requests(runStrategy(plain, "Manual"), start())),
                update("unlocked, no annotations: Halted -> Always", unannotated, runStrategy(unannotated, "Always")),
                update("unlocked, no annotations: Start request added", runStrategy(unannotated, "Manual"),
                        requests(runStrategy(unannotated, "Manual"), start())),
                update("unlocked, empty lock value: Halted -> Always", locked(""), runStrategy(locked(""), "Always")),
                update("unlocked, no annotations: annotation added", unannotated,
                        with(unannotated, "metadata.annotations.note", "db")),
                update("stop: Always -> Halted", running, runStrategy(running, "Halted")),
                update("stop: running true -> false", runningFlag(locked(), true), runningFlag(locked(), false)),
                update("stop: Stop request added", runStrategy(running, "Manual"),
                        requests(runStrategy(running, "Manual"), stop())),
                update("keeps stopped: Halted -> Manual", locked(), manual),
                update("keeps stopped: RerunOnFailure -> Halted", runStrategy(locked(), "RerunOnFailure"), locked()),
                update("keeps stopped: runStrategy removed", locked(), with(locked(), "spec.runStrategy", null)),
                update("same runStrategy is no change", runStrategy(locked(), "RerunOnFailure"),
                        with(runStrategy(locked(), "RerunOnFailure"), "metadata.labels.tier", "frontend")),
                update("same running true is no change", runningFlag(locked(), true),
                        with(runningFlag(locked(), true), "metadata.labels.tier", "frontend")),
                update("label added", locked(), with(locked(), "metadata.labels.tier", "frontend")),
                update("label removed", locked(), with(locked(), "metadata.labels.app", null)),
                update("all labels removed", locked(), with(locked(), "metadata.labels", null)),
                update("other annotation added", locked(), with(locked(), "metadata.annotations.note", "db")),
                update("other annotation changed", locked(),
                        with(locked(), "metadata.annotations.harvesterhci.io/volumeClaimTemplates", "[{}]")),
                update("other annotation removed", locked(),
                        with(locked(), "metadata.annotations.harvesterhci.io/volumeClaimTemplates", null)),
                update("annotations replaced, lock kept", locked(),
                        with(locked(), "metadata.annotations", map(LOCK, "exp-42", "note", "db"))),
                update("template edited", locked(), with(locked(), "spec.template.spec.domain.cpu.cores", 4L)),
                update("status: printableStatus changed", locked(), with(locked(), "status.printableStatus", "Provisioning")),
                update("status: Start request already there", requests(manual, start()),
                        with(requests(manual, start()), "status.printableStatus", "Starting")),
                update("no runStrategy, no running, no status", bare,
                        with(bare, "metadata.labels.tier", "frontend")),
                update("status without stateChangeRequests added", with(locked(), "status", null), locked()),
                update("request entry without action", manual, requests(manual, map("uid", "x"))));
    }

    /** Updates that add, change or remove the lock annotation (and start nothing). */
    static Stream<Arguments> lockChanges() {
        var unannotated = with(vm(), "metadata.annotations", null);
        return Stream.of(
                update("lock removed (annotation key)", locked(), with(locked(), "metadata.annotations." + LOCK, null)),
                update("lock removed (all annotations)", locked(), with(locked(), "metadata.annotations", null)),
                update("lock removed with a label edit", locked(),
                        with(with(locked(), "metadata.annotations." + LOCK, null), "metadata.labels.tier", "frontend")),
                update("lock removed (empty value)", locked(""), vm()),
                update("one of two requests releases the lock", locked("exp-1,exp-2"), locked("exp-2")),
                update("a second request joins the lock", locked(), locked("exp-42,exp-43")),
                update("lock value changed", locked(), locked("exp-99")),
                update("lock value emptied", locked(), locked("")),
                update("lock value reformatted", locked("exp-1,exp-2"), locked("exp-1, exp-2")),
                update("lock added to an unlocked VM", vm(), locked()),
                update("lock added to a VM without annotations", unannotated, with(unannotated, "metadata.annotations",
                        map(LOCK, "exp-42"))),
                update("lock added with an empty value", vm(), locked("")));
    }

    private static Arguments update(String name, Map<String, Object> oldObject, Map<String, Object> object) {
        return Arguments.of(name, oldObject, object);
    }

    private static Arguments as(Who who, Arguments update) {
        Object[] a = update.get();
        return Arguments.of(a[0], who, a[1], a[2]);
    }

    static Stream<Arguments> lockChangesByTheGuardOrBreakGlass() {
        return lockChanges().flatMap(c -> Stream.of(GUARD, BREAK_GLASS).map(who -> as(who, c)));
    }

    static Stream<Arguments> lockChangesByAnyoneElse() {
        return lockChanges().flatMap(c -> Stream.of(ALICE, KUBEVIRT, CLUSTER_ADMIN, SAME_NAME_OTHER_NAMESPACE,
                LOOKALIKE_GROUP).map(who -> as(who, c)));
    }

    @ParameterizedTest(name = "{0} by {1}")
    @MethodSource("refusedForEveryone")
    void refusesStartingALockedVm(String name, Who who, Map<String, Object> oldObject, Map<String, Object> object)
            throws Exception {
        Outcome outcome = admit(who, oldObject, object);

        assertThat(outcome.allowed()).as(name).isFalse();
        @SuppressWarnings("unchecked")
        var annotations = (Map<String, String>) ((Map<String, Object>) oldObject.get("metadata")).get("annotations");
        assertThat(outcome.message()).contains("VirtualMachine tenant-a/web-01 is locked by VM Export Guard");
        for (String id : annotations.get(LOCK).split(",")) {
            assertThat(outcome.message()).contains(id.trim());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allowed")
    void allowsEverythingElse(String name, Map<String, Object> oldObject, Map<String, Object> object) throws Exception {
        assertThat(admit(ALICE, oldObject, object).refusals()).as(name).isEmpty();
    }

    @ParameterizedTest(name = "{0} by {1}")
    @MethodSource("lockChangesByTheGuardOrBreakGlass")
    void theGuardAndBreakGlassMayChangeTheLock(String name, Who who, Map<String, Object> oldObject,
            Map<String, Object> object) throws Exception {
        assertThat(admit(who, oldObject, object).refusals()).as(name).isEmpty();
    }

    @ParameterizedTest(name = "{0} by {1}")
    @MethodSource("lockChangesByAnyoneElse")
    void refusesLockChangesByAnyoneElse(String name, Who who, Map<String, Object> oldObject,
            Map<String, Object> object) throws Exception {
        Outcome outcome = admit(who, oldObject, object);

        assertThat(outcome.refusals()).as(name).singleElement().asString()
                .startsWith("VirtualMachine tenant-a/web-01: the annotation " + LOCK + " is the lock of VM Export Guard")
                .contains("only " + GUARD_SA + " or members of the group " + BREAK_GLASS_GROUP)
                .contains("not " + who.username() + ".")
                .contains("break-glass operator");
    }

    @Test
    void refusedLockRemovalSaysWhoMayAndHowToWait() throws Exception {
        assertThat(admit(ALICE, locked(), with(locked(), "metadata.annotations." + LOCK, null)).message()).isEqualTo(
                "VirtualMachine tenant-a/web-01: the annotation vm-export-guard.dev/export-in-progress is the lock of"
                        + " VM Export Guard; only system:serviceaccount:vm-export-guard:vm-export-guard or members of the"
                        + " group vm-export-guard:break-glass may add, change or remove it, not alice. Wait for export"
                        + " request(s) exp-42 to end (the guard removes the lock then; see the result topic or GET"
                        + " /api/exports/exp-42), or ask a break-glass operator (group vm-export-guard:break-glass) to"
                        + " remove it");
        assertThat(admit(ALICE, locked("exp-1,exp-2"), locked("exp-2")).message())
                .contains("Wait for export request(s) exp-1, exp-2 to end")
                .contains("GET /api/exports/{requestId}");
    }

    @Test
    void refusedLockChangeNamesTheRequestsHoldingIt() throws Exception {
        assertThat(admit(ALICE, locked(), locked("exp-99")).message())
                .contains("not alice. Wait for export request(s) exp-42 to end")
                .doesNotContain("exp-99");
    }

    @Test
    void refusedLockAdditionSaysTheGuardSetsIt() throws Exception {
        assertThat(admit(ALICE, vm(), locked()).message()).isEqualTo(
                "VirtualMachine tenant-a/web-01: the annotation vm-export-guard.dev/export-in-progress is the lock of"
                        + " VM Export Guard; only system:serviceaccount:vm-export-guard:vm-export-guard or members of the"
                        + " group vm-export-guard:break-glass may add, change or remove it, not alice. The guard sets and"
                        + " removes it itself while it exports a disk of this VM; if it must be changed by hand, ask a"
                        + " break-glass operator (group vm-export-guard:break-glass)");
    }

    @Test
    void startingWhileRemovingTheLockReportsTheStartFirst() throws Exception {
        var old = locked();
        var startedAndUnlocked = runStrategy(with(locked(), "metadata.annotations", null), "Always");

        assertThat(admit(ALICE, old, startedAndUnlocked).refusals()).satisfiesExactly(
                start -> assertThat(start).contains("is locked by VM Export Guard while export request(s) exp-42"),
                lock -> assertThat(lock).contains("is the lock of VM Export Guard"));
        assertThat(admit(GUARD, old, startedAndUnlocked).refusals()).singleElement().asString()
                .contains("is locked by VM Export Guard while export request(s) exp-42");
    }

    /** What KubeVirt's controller writes on a locked VM: status through the subresource, its own annotations. */
    static Stream<Arguments> kubevirtUpdates() {
        var manual = runStrategy(locked(), "Manual");
        return Stream.of(
                update("status: printableStatus changed", locked(), with(locked(), "status.printableStatus", "Stopping")),
                update("status: condition added", locked(), with(locked(), "status.conditions",
                        List.of(map("type", "Ready", "status", "False", "reason", "VMINotExists")))),
                update("status: processed Stop request cleared", requests(manual, stop()), requests(manual)),
                update("status: volume snapshot statuses set", locked(), with(locked(), "status.volumeSnapshotStatuses",
                        List.of(map("name", "disk-0", "enabled", true)))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kubevirtUpdates")
    void kubevirtStatusUpdatesOfALockedVmPass(String name, Map<String, Object> oldObject, Map<String, Object> object)
            throws Exception {
        assertThat(admitStatus(KUBEVIRT, oldObject, object).refusals()).as(name).isEmpty();
    }

    @Test
    void kubevirtMayUpdateItsOwnAnnotationsAndFinalizersOnALockedVm() throws Exception {
        var observed = with(locked(), "metadata.annotations.kubevirt.io/latest-observed-api-version", "v1");
        assertThat(admit(KUBEVIRT, locked(), observed).refusals()).isEmpty();
        assertThat(admit(KUBEVIRT, observed,
                with(observed, "metadata.finalizers", List.of("kubevirt.io/virtualMachineControllerFinalize")))
                .refusals()).isEmpty();
    }

    @Test
    void identitiesAreTheGuardsServiceAccountAndTheBreakGlassGroup() throws Exception {
        Map<String, Object> input = Map.of("object", vm(), "oldObject", vm(), "request", map("userInfo",
                ALICE.userInfo()), "variables", Map.of());
        assertThat(variables.get("guardServiceAccount").eval(input)).isEqualTo(GUARD_SA);
        assertThat(variables.get("breakGlassGroup").eval(input)).isEqualTo(BREAK_GLASS_GROUP);
    }

    @Test
    void messageNamesTheRequestToWatch() throws Exception {
        assertThat(admit(ALICE, locked(), runStrategy(locked(), "Always")).message()).isEqualTo(
                "VirtualMachine tenant-a/web-01 is locked by VM Export Guard while export request(s) exp-42 read its"
                        + " disk; start it once the export has ended (see the result topic or GET /api/exports/exp-42)");
        assertThat(admit(ALICE, locked("a.1:x,b-2"), runStrategy(locked("a.1:x,b-2"), "Once")).message())
                .contains("request(s) a.1:x, b-2 read its disk").contains("GET /api/exports/{requestId}");
    }

    @Test
    void policyShapeMatchesTheBrief() {
        var spec = policy.getSpec();
        assertAll(
                () -> assertThat(policy.getApiVersion()).isEqualTo("admissionregistration.k8s.io/v1"),
                () -> assertThat(policy.getMetadata().getName()).isEqualTo("vm-export-guard-lock"),
                () -> assertThat(spec.getFailurePolicy()).isEqualTo("Fail"),
                () -> assertThat(spec.getParamKind()).isNull(),
                () -> assertThat(spec.getVariables()).extracting(Variable::getName)
                        .containsExactly("guardServiceAccount", "breakGlassGroup", "lock", "startsBySpec",
                                "startsByRequest", "lockAnnotationChanged", "mayChangeLock"),
                () -> assertThat(spec.getValidations()).hasSize(2).allSatisfy(v -> {
                    assertThat(v.getReason()).isEqualTo("Forbidden");
                    assertThat(v.getMessage()).isNotBlank().doesNotContain("\n");
                    assertThat(v.getMessageExpression()).isNotBlank();
                }));
    }

    @Test
    void matchesOnlyUpdatesOfVirtualMachinesAndTheirStatus() {
        List<NamedRuleWithOperations> rules = policy.getSpec().getMatchConstraints().getResourceRules();
        assertThat(rules).isNotEmpty().allSatisfy(rule -> {
            assertThat(rule.getOperations()).containsExactly("UPDATE");
            assertThat(rule.getApiGroups()).containsExactly("kubevirt.io");
            assertThat(rule.getApiVersions()).containsExactly("*");
        });
        assertThat(rules).flatExtracting(NamedRuleWithOperations::getResources)
                .containsExactlyInAnyOrder("virtualmachines", "virtualmachines/status");
    }

    @Test
    void bindingDeniesWithThePolicy() throws IOException {
        var binding = load(BINDING, ValidatingAdmissionPolicyBinding.class);
        assertThat(binding.getApiVersion()).isEqualTo("admissionregistration.k8s.io/v1");
        assertThat(binding.getMetadata().getName()).isEqualTo("vm-export-guard-lock");
        assertThat(binding.getSpec().getPolicyName()).isEqualTo(policy.getMetadata().getName());
        assertThat(binding.getSpec().getValidationActions()).containsExactly("Deny");
        assertThat(binding.getSpec().getParamRef()).isNull();
    }
}
