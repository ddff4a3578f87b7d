package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestValidatorTest {
    static final List<String> SUBDOMAIN_FIELDS = List.of("vmName", "volumeName", "storageClassName");
    static final List<String> STRING_FIELDS = List.of("requestId", "namespace", "vmName", "volumeName", "requestedBy",
            "imageDisplayName", "storageClassName", "onRunning", "reason", "replyTo");

    static Map<String, Object> valid() {
        Map<String, Object> m = new HashMap<>();
        m.put("requestId", "req-1");
        m.put("namespace", "team-a");
        m.put("vmName", "vm1");
        m.put("requestedBy", "alice@example.com");
        return m;
    }

    static Map<String, Object> with(String field, Object value) {
        Map<String, Object> m = valid();
        m.put(field, value);
        return m;
    }

    static Map<String, Object> without(String field) {
        Map<String, Object> m = valid();
        m.remove(field);
        return m;
    }

    static RequestValidator.Result validate(Object json) {
        return RequestValidator.validate(json);
    }

    static void assertOnlyViolation(RequestValidator.Result result, String field, String problemPart) {
        assertThat(result.valid()).isFalse();
        assertThat(result.request()).isNull();
        assertThat(result.violations()).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo(field);
            assertThat(v.problem()).contains(problemPart);
        });
    }

    static void assertValid(RequestValidator.Result result) {
        assertThat(result.violations()).isEmpty();
        assertThat(result.valid()).isTrue();
    }

    @Test
    void minimalRequestIsValidWithDefaults() {
        RequestValidator.Result result = validate(valid());

        assertValid(result);
        assertThat(result.usableRequestId()).isEqualTo("req-1");
        assertThat(result.request()).isEqualTo(new ExportRequest("req-1", "team-a", "vm1", null, "alice@example.com",
                null, null, ExportRequest.OnRunning.REJECT, false, null, null, null, false, ExportRequest.BackupType.SNAPSHOT, java.util.List.of(), null));
    }

    @Test
    void everyFieldIsCarriedIntoTheRequest() {
        Map<String, Object> m = valid();
        m.put("volumeName", "vm1-disk-0");
        m.put("imageDisplayName", "Golden_Image-1.0");
        m.put("storageClassName", "longhorn-ssd");
        m.put("onRunning", "REJECT");
        m.put("restartAfter", false);
        m.put("reason", "monthly backup");
        m.put("replyTo", "chat:#ops");

        RequestValidator.Result result = validate(m);

        assertValid(result);
        assertThat(result.request()).isEqualTo(new ExportRequest("req-1", "team-a", "vm1", "vm1-disk-0",
                "alice@example.com", "Golden_Image-1.0", "longhorn-ssd", ExportRequest.OnRunning.REJECT, false,
                "monthly backup", "chat:#ops", null, false, ExportRequest.BackupType.SNAPSHOT, java.util.List.of(), null));
    }

    static Stream<Arguments> notObjects() {
        return Stream.of(
                Arguments.of(null, "null"),
                Arguments.of(List.of(valid()), "an array"),
                Arguments.of("{\"requestId\":\"req-1\"}", "a string"),
                Arguments.of(42, "a number"),
                Arguments.of(true, "a boolean"));
    }

    @ParameterizedTest
    @MethodSource("notObjects")
    void nonObjectIsRefusedAsAWhole(Object json, String described) {
        RequestValidator.Result result = validate(json);

        assertOnlyViolation(result, "$", "must be a JSON object, not " + described);
        assertThat(result.usableRequestId()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"requestId", "namespace", "requestedBy"})
    void requiredFieldMissing(String field) {
        assertOnlyViolation(validate(without(field)), field, "is required");
    }

    @ParameterizedTest
    @ValueSource(strings = {"requestId", "namespace", "requestedBy"})
    void requiredFieldNullCountsAsMissing(String field) {
        assertOnlyViolation(validate(with(field, null)), field, "is required");
    }

    static Stream<Arguments> wrongTypes() {
        return STRING_FIELDS.stream().flatMap(field -> Stream.of(
                Arguments.of(field, 42, "a number"),
                Arguments.of(field, 1.5, "a number"),
                Arguments.of(field, true, "a boolean"),
                Arguments.of(field, List.of("x"), "an array"),
                Arguments.of(field, Map.of("x", "y"), "an object")));
    }

    @ParameterizedTest
    @MethodSource("wrongTypes")
    void stringFieldOfAnotherTypeIsRefused(String field, Object value, String described) {
        assertOnlyViolation(validate(with(field, value)), field, "must be a string, not " + described);
    }

    static Stream<String> stringFields() {
        return STRING_FIELDS.stream();
    }

    @ParameterizedTest
    @MethodSource("stringFields")
    void emptyStringIsRefused(String field) {
        assertOnlyViolation(validate(with(field, "")), field, "must not be empty");
    }

    @ParameterizedTest
    @ValueSource(strings = {"vmName", "volumeName", "imageDisplayName", "storageClassName", "onRunning",
            "restartAfter", "reason", "replyTo"})
    void optionalFieldNullCountsAsAbsent(String field) {
        Map<String, Object> m = with("volumeName", "vm1-disk-0");
        m.put(field, null);

        RequestValidator.Result result = validate(m);

        assertValid(result);
        assertThat(result.request().onRunning()).isEqualTo(ExportRequest.OnRunning.REJECT);
        assertThat(result.request().restartAfter()).isFalse();
    }

    static Stream<String> goodRequestIds() {
        return Stream.of("a", "0", "req-1", "A.b_c:d-9", "2024-05-01T10:00:00Z", "r".repeat(128));
    }

    static Stream<String> badRequestIds() {
        return Stream.of("has space", "a/b", "caf\u00e9", "a#b", "{x}", " req-1", "req-1 ", "r".repeat(129));
    }

    @ParameterizedTest
    @MethodSource("goodRequestIds")
    void requestIdAccepted(String requestId) {
        RequestValidator.Result result = validate(with("requestId", requestId));

        assertValid(result);
        assertThat(result.request().requestId()).isEqualTo(requestId);
        assertThat(result.usableRequestId()).isEqualTo(requestId);
        assertThat(RequestValidator.isUsableRequestId(requestId)).isTrue();
    }

    @ParameterizedTest
    @MethodSource("badRequestIds")
    void requestIdRefused(String requestId) {
        RequestValidator.Result result = validate(with("requestId", requestId));

        assertOnlyViolation(result, "requestId", "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
        assertThat(result.usableRequestId()).isNull();
        assertThat(RequestValidator.isUsableRequestId(requestId)).isFalse();
    }

    @Test
    void isUsableRequestIdRefusesNonStrings() {
        assertThat(RequestValidator.isUsableRequestId(null)).isFalse();
        assertThat(RequestValidator.isUsableRequestId(42)).isFalse();
        assertThat(RequestValidator.isUsableRequestId("")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "default", "team-a", "0abc9", "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefgh"})
    void namespaceAccepted(String namespace) {
        assertValid(validate(with("namespace", namespace)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Team-a", "-team", "team-", "team.a", "team_a", "team a", "t\u00e9am",
            "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghi"})
    void namespaceRefused(String namespace) {
        RequestValidator.Result result = validate(with("namespace", namespace));

        assertOnlyViolation(result, "namespace", "is not a Kubernetes namespace name");
        assertThat(result.violations().get(0).problem()).startsWith("'" + namespace + "'");
        assertThat(result.usableRequestId()).isEqualTo("req-1");
    }

    static Stream<Arguments> subdomainsAccepted() {
        return SUBDOMAIN_FIELDS.stream().flatMap(field -> Stream.of("a", "vm1", "vm1-disk-0-rlnlk", "a.b-c.d",
                        "0", "x".repeat(63) + "." + "y".repeat(63), "a".repeat(253))
                .map(value -> Arguments.of(field, value)));
    }

    @ParameterizedTest
    @MethodSource("subdomainsAccepted")
    void subdomainFieldAccepted(String field, String value) {
        RequestValidator.Result result = validate(with(field, value));

        assertValid(result);
        ExportRequest r = result.request();
        String carried = switch (field) {
            case "vmName" -> r.vmName();
            case "volumeName" -> r.volumeName();
            default -> r.storageClassName();
        };
        assertThat(carried).isEqualTo(value);
    }

    static Stream<Arguments> subdomainsRefused() {
        return SUBDOMAIN_FIELDS.stream().flatMap(field -> Stream.of("VM1", "-vm", "vm-", ".vm", "vm.", "a..b",
                        "a-.b", "vm_1", "vm 1", "vm/1", "a".repeat(254))
                .map(value -> Arguments.of(field, value)));
    }

    @ParameterizedTest
    @MethodSource("subdomainsRefused")
    void subdomainFieldRefused(String field, String value) {
        Map<String, Object> m = with(field, value);
        if (field.equals("vmName")) {
            m.put("volumeName", "vm1-disk-0");
        }

        assertOnlyViolation(validate(m), field, "is not a Kubernetes object name");
    }

    @Test
    void longValueIsClippedInTheViolation() {
        String value = "A".repeat(200);

        String problem = validate(with("vmName", value)).violations().get(0).problem();

        assertThat(problem).startsWith("'" + "A".repeat(77) + "...'").doesNotContain("A".repeat(78));
    }

    @Test
    void vmNameOrVolumeNameIsRequired() {
        assertOnlyViolation(validate(without("vmName")), "vmName", "vmName or volumeName (or both) must be given");
    }

    @Test
    void bothNamesNullCountsAsNeitherGiven() {
        Map<String, Object> m = with("vmName", null);
        m.put("volumeName", null);

        assertOnlyViolation(validate(m), "vmName", "vmName or volumeName (or both) must be given");
    }

    @Test
    void volumeNameAloneIsEnough() {
        Map<String, Object> m = without("vmName");
        m.put("volumeName", "vm1-disk-0");

        RequestValidator.Result result = validate(m);

        assertValid(result);
        assertThat(result.request().vmName()).isNull();
        assertThat(result.request().volumeName()).isEqualTo("vm1-disk-0");
    }

    @Test
    void bothNamesAreAccepted() {
        RequestValidator.Result result = validate(with("volumeName", "vm1-disk-0"));

        assertValid(result);
        assertThat(result.request().vmName()).isEqualTo("vm1");
        assertThat(result.request().volumeName()).isEqualTo("vm1-disk-0");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "Alice Example <alice@example.com>", "system:serviceaccount:ops:bot", "J\u00fcrgen"})
    void requestedByAccepted(String requestedBy) {
        assertThat(validate(with("requestedBy", requestedBy)).request().requestedBy()).isEqualTo(requestedBy);
    }

    @Test
    void requestedByOf256CharactersAccepted() {
        assertValid(validate(with("requestedBy", "x".repeat(256))));
    }

    @ParameterizedTest
    @ValueSource(strings = {" ", "   ", "\u2003"})
    void blankRequestedByRefused(String requestedBy) {
        assertOnlyViolation(validate(with("requestedBy", requestedBy)), "requestedBy",
                "must be 1-256 characters and not blank");
    }

    @Test
    void requestedByOf257CharactersRefused() {
        assertOnlyViolation(validate(with("requestedBy", "x".repeat(257))), "requestedBy",
                "must be 1-256 characters and not blank");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "Z", "9", "Golden_Image-1.0", "ubuntu-22.04", "a_b",
            "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-ABCDEFGH"})
    void imageDisplayNameAccepted(String displayName) {
        assertThat(validate(with("imageDisplayName", displayName)).request().imageDisplayName()).isEqualTo(displayName);
    }

    @ParameterizedTest
    @ValueSource(strings = {"-a", "a-", "_a", "a_", ".a", "a.", "a b", "a/b", "a:b", "caf\u00e9",
            "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-ABCDEFGHI"})
    void imageDisplayNameRefused(String displayName) {
        assertOnlyViolation(validate(with("imageDisplayName", displayName)), "imageDisplayName",
                "is not a valid label value");
    }

    @ParameterizedTest
    @ValueSource(strings = {"REJECT", "reject", "Reject"})
    void onRunningRejectAccepted(String value) {
        assertThat(validate(with("onRunning", value)).request().onRunning()).isEqualTo(ExportRequest.OnRunning.REJECT);
    }

    @Test
    void onRunningDefaultsToReject() {
        assertThat(validate(valid()).request().onRunning()).isEqualTo(ExportRequest.OnRunning.REJECT);
    }

    @ParameterizedTest
    @ValueSource(strings = {"STOP", "stop", "Stop"})
    void onRunningStopIsAccepted(String value) {
        assertThat(validate(with("onRunning", value)).request().onRunning()).isEqualTo(ExportRequest.OnRunning.STOP);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PAUSE", "REJECTED", " REJECT", "ignore"})
    void onRunningUnknownValueRefused(String value) {
        assertOnlyViolation(validate(with("onRunning", value)), "onRunning",
                "must be REJECT or STOP, not '" + value + "'");
    }

    @Test
    void restartAfterFalseAccepted() {
        assertThat(validate(with("restartAfter", false)).request().restartAfter()).isFalse();
    }

    @Test
    void restartAfterTrueNeedsStop() {
        assertOnlyViolation(validate(with("restartAfter", true)), "restartAfter", "true needs onRunning STOP");
    }

    @Test
    void guidedPathIsAccepted() {
        Map<String, Object> m = with("onRunning", "STOP");
        m.put("restartAfter", true);
        m.put("stopGracePeriodSeconds", 120);
        m.put("backupFirst", true);
        m.put("backupType", "backup");
        m.put("requestedByGroups", List.of("oidc:ops", "harvester-admins"));

        ExportRequest request = validate(m).request();

        assertThat(request.restartAfter()).isTrue();
        assertThat(request.stopGracePeriodSeconds()).isEqualTo(120);
        assertThat(request.backupFirst()).isTrue();
        assertThat(request.backupType()).isEqualTo(ExportRequest.BackupType.BACKUP);
        assertThat(request.requestedByGroups()).containsExactly("oidc:ops", "harvester-admins");
    }

    @Test
    void backupTypeDefaultsToSnapshot() {
        assertThat(validate(with("backupFirst", true)).request().backupType()).isEqualTo(ExportRequest.BackupType.SNAPSHOT);
    }

    @ParameterizedTest
    @MethodSource("badGuidedFields")
    void badGuidedFieldsAreRefused(String field, Object value, String problem) {
        Map<String, Object> m = with("onRunning", "STOP");
        m.put("backupFirst", true);
        m.put(field, value);
        assertOnlyViolation(validate(m), field, problem);
    }

    static Stream<Arguments> badGuidedFields() {
        return Stream.of(
                Arguments.of("stopGracePeriodSeconds", -1, "must be a whole number from 0 to 3600"),
                Arguments.of("stopGracePeriodSeconds", 3601, "must be a whole number from 0 to 3600"),
                Arguments.of("stopGracePeriodSeconds", 1.5, "must be a whole number"),
                Arguments.of("stopGracePeriodSeconds", "30", "must be a whole number"),
                Arguments.of("backupType", "full", "must be snapshot or backup"),
                Arguments.of("backupFirst", "yes", "must be a boolean"),
                Arguments.of("requestedByGroups", "ops", "must be an array"),
                Arguments.of("requestedByGroups", List.of("ops", 7), "must be an array"),
                Arguments.of("requestedByGroups", java.util.Collections.nCopies(33, "g"), "at most 32"),
                Arguments.of("requestedByGroups", List.of("ops", "system:masters"), "must not name system: groups"),
                Arguments.of("requestedByGroups", List.of("system:authenticated"), "(system:authenticated)"));
    }

    @Test
    void stopOptionsWithoutStopAreRefused() {
        Map<String, Object> m = with("stopGracePeriodSeconds", 10);
        m.put("backupType", "snapshot");
        assertThat(validate(m).violations()).extracting(Violation::field)
                .containsExactly("stopGracePeriodSeconds", "backupType");
    }

    @ParameterizedTest
    @MethodSource("nonBooleans")
    void restartAfterMustBeABoolean(Object value, String described) {
        assertOnlyViolation(validate(with("restartAfter", value)), "restartAfter",
                "must be a boolean, not " + described);
    }

    static Stream<Arguments> nonBooleans() {
        return Stream.of(Arguments.of("true", "a string"), Arguments.of(1, "a number"),
                Arguments.of(List.of(true), "an array"), Arguments.of(Map.of(), "an object"));
    }

    @Test
    void stopWithRestartAfterIsValid() {
        Map<String, Object> m = with("onRunning", "STOP");
        m.put("restartAfter", true);

        assertThat(validate(m).valid()).isTrue();
    }

    @Test
    void reasonOf1024CharactersAccepted() {
        assertThat(validate(with("reason", "r".repeat(1024))).request().reason()).hasSize(1024);
    }

    @Test
    void reasonOf1025CharactersRefused() {
        assertOnlyViolation(validate(with("reason", "r".repeat(1025))), "reason",
                "must be at most 1024 characters, has 1025");
    }

    @Test
    void replyToOf512CharactersAccepted() {
        assertThat(validate(with("replyTo", "t".repeat(512))).request().replyTo()).hasSize(512);
    }

    @Test
    void replyToOf513CharactersRefused() {
        assertOnlyViolation(validate(with("replyTo", "t".repeat(513))), "replyTo",
                "must be at most 512 characters, has 513");
    }

    @Test
    void unknownFieldsAreIgnored() {
        Map<String, Object> m = valid();
        m.put("priority", 5);
        m.put("labels", Map.of("team", "ops"));
        m.put("tags", List.of("a", "b"));
        m.put("specversion", "1.0");
        m.put("VMNAME", 42);

        RequestValidator.Result result = validate(m);

        assertValid(result);
        assertThat(result.request()).isEqualTo(validate(valid()).request());
    }

    @Test
    void everyViolationIsListedAtOnce() {
        Map<String, Object> m = new HashMap<>();
        m.put("requestId", "not valid!");
        m.put("namespace", "Team_A");
        m.put("vmName", "VM1");
        m.put("volumeName", 7);
        m.put("requestedBy", " ");
        m.put("imageDisplayName", "-bad-");
        m.put("storageClassName", "Fast_SSD");
        m.put("onRunning", "SOMETIMES");
        m.put("restartAfter", true);
        m.put("reason", "r".repeat(1025));
        m.put("replyTo", "t".repeat(513));

        RequestValidator.Result result = validate(m);

        assertThat(result.valid()).isFalse();
        assertThat(result.usableRequestId()).isNull();
        assertThat(result.violations()).extracting(Violation::field).containsExactly("requestId", "namespace",
                "vmName", "volumeName", "requestedBy", "imageDisplayName", "storageClassName", "onRunning",
                "restartAfter", "reason", "replyTo");
    }

    @Test
    void missingAndMistypedFieldsAreListedTogether() {
        Map<String, Object> m = new HashMap<>();
        m.put("namespace", 3);

        RequestValidator.Result result = validate(m);

        assertThat(result.violations()).extracting(Violation::toString).containsExactly(
                "requestId: is required",
                "namespace: must be a string, not a number",
                "vmName: vmName or volumeName (or both) must be given",
                "requestedBy: is required");
    }

    @Test
    void usableRequestIdIsReturnedWhenOnlyOtherFieldsAreInvalid() {
        Map<String, Object> m = with("namespace", "NOPE");
        m.put("onRunning", "MAYBE");

        RequestValidator.Result result = validate(m);

        assertThat(result.valid()).isFalse();
        assertThat(result.violations()).hasSize(2);
        assertThat(result.usableRequestId()).isEqualTo("req-1");
    }

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"bad id"})
    void noUsableRequestIdWhenRequestIdIsMissingOrInvalid(String requestId) {
        Map<String, Object> m = with("requestId", requestId);
        m.put("namespace", "NOPE");

        RequestValidator.Result result = validate(m);

        assertThat(result.violations()).extracting(Violation::field).containsExactly("requestId", "namespace");
        assertThat(result.usableRequestId()).isNull();
    }

    @Test
    void requestIdOfWrongTypeIsNotUsable() {
        Map<String, Object> m = with("requestId", 12345);
        m.put("namespace", "NOPE");

        assertThat(validate(m).usableRequestId()).isNull();
    }

    // ---- control characters ----

    /** Every text field, with a value it accepts; backupType with backupFirst, as it needs. */
    static final Map<String, String> TEXT_FIELDS = textFields();

    private static Map<String, String> textFields() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("requestId", "req-1");
        m.put("namespace", "team-a");
        m.put("vmName", "vm1");
        m.put("volumeName", "vm1-disk-0");
        m.put("requestedBy", "alice@example.com");
        m.put("imageDisplayName", "vm1-root");
        m.put("storageClassName", "longhorn-ssd");
        m.put("onRunning", "REJECT");
        m.put("backupType", "snapshot");
        m.put("reason", "monthly golden image");
        m.put("replyTo", "slack:C024BE91L/1712345.000100");
        m.put("notAfter", "2030-01-01T00:00:00Z");
        return m;
    }

    static final List<Character> CONTROLS = List.of('\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u001f', '\u007f');

    static String code(char c) {
        return String.format("U+%04X", (int) c);
    }

    /** The request with {@code field} set to {@code value} (and what that field needs to be valid otherwise). */
    static Map<String, Object> withText(String field, Object value) {
        Map<String, Object> m = with(field, value);
        if (field.equals("backupType")) {
            m.put("backupFirst", true);
        }
        return m;
    }

    @Test
    void everyTextFieldWithoutControlCharactersIsValid() {
        Map<String, Object> m = valid();
        m.putAll(TEXT_FIELDS);
        m.put("backupFirst", true);
        m.put("requestedByGroups", List.of("oidc:ops"));

        assertValid(validate(m));
    }

    static Stream<Arguments> controlCharacterInEveryField() {
        return TEXT_FIELDS.entrySet().stream().flatMap(field -> CONTROLS.stream().map(c -> Arguments.of(field.getKey(),
                field.getValue().charAt(0) + String.valueOf(c) + field.getValue().substring(1), code(c))));
    }

    @ParameterizedTest(name = "{0} with {2}")
    @MethodSource("controlCharacterInEveryField")
    void controlCharacterInATextFieldIsRefusedNamingTheFieldAndTheCharacter(String field, String value, String code) {
        RequestValidator.Result result = validate(withText(field, value));

        assertOnlyViolation(result, field, "must not contain control characters (" + code + " at position 2)");
        assertNoControlCharacterIn(result);
    }

    static Stream<Arguments> controlCharacterInAGroup() {
        return CONTROLS.stream().flatMap(c -> Stream.of(
                Arguments.of(List.of("o" + c + "ps"), "requestedByGroups[0]", code(c) + " at position 2"),
                Arguments.of(List.of("ops", "team" + c), "requestedByGroups[1]", code(c) + " at position 5")));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("controlCharacterInAGroup")
    void controlCharacterInAGroupIsRefusedNamingTheGroup(List<String> groups, String field, String which) {
        RequestValidator.Result result = validate(with("requestedByGroups", groups));

        assertOnlyViolation(result, field, "must not contain control characters (" + which + ")");
        assertNoControlCharacterIn(result);
    }

    @Test
    void aSystemGroupWithAControlCharacterIsNotQuoted() {
        RequestValidator.Result result = validate(with("requestedByGroups", List.of("system:masters\u0000")));

        assertOnlyViolation(result, "requestedByGroups[0]", "must not contain control characters (U+0000 at position 15)");
    }

    @Test
    void theFirstControlCharacterIsNamedAndItsPositionCountsCharactersFromOne() {
        assertOnlyViolation(validate(with("requestedBy", "\u0007alice\u0000")), "requestedBy",
                "must not contain control characters (U+0007 at position 1)");
        assertOnlyViolation(validate(with("reason", "\ud83d\ude00 x\u0000")), "reason",
                "must not contain control characters (U+0000 at position 4)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"J\u00fcrgen", "a b", "caf\u00e9 \u2603", "\u0080", "\u00a0x"})
    void charactersAboveTheControlsAreNotControlCharacters(String reason) {
        assertThat(validate(with("reason", reason)).request().reason()).isEqualTo(reason);
    }

    @ParameterizedTest
    @ValueSource(strings = {"namespace", "vmName", "imageDisplayName", "onRunning"})
    void aControlCharacterIsTheOnlyProblemNamedAndTheValueIsNotQuoted(String field) {
        // the value breaks the field's other rule too; that rule's violation would quote it
        RequestValidator.Result result = validate(withText(field, "NOT VALID\u0000"));

        assertOnlyViolation(result, field, "must not contain control characters (U+0000 at position 10)");
        assertNoControlCharacterIn(result);
    }

    static Stream<String> echoedFields() {
        return Stream.of("namespace", "vmName", "volumeName", "requestedBy", "replyTo");
    }

    @ParameterizedTest
    @MethodSource("echoedFields")
    void anInvalidRequestsAnswerLeavesOutAFieldWithAControlCharacter(String field) {
        Map<String, Object> m = with("volumeName", "vm1-disk-0");
        m.put("replyTo", "chat:#ops");
        m.put(field, "a\u0000");

        ResultEvent.Subject echo = validate(m).echo();

        assertThat(echo.requestId()).isEqualTo("req-1");
        Map<String, String> echoed = new HashMap<>();
        echoed.put("namespace", echo.namespace());
        echoed.put("vmName", echo.vmName());
        echoed.put("volumeName", echo.volumeName());
        echoed.put("requestedBy", echo.requestedBy());
        echoed.put("replyTo", echo.replyTo());
        assertThat(echoed.get(field)).isNull();
        echoed.remove(field);
        assertThat(echoed).doesNotContainValue(null);
    }

    @Test
    void anInvalidRequestsAnswerEchoesNoControlCharacterOfAFieldOtherwiseInvalid() {
        // namespace is invalid for another reason too; an unusable requestId is not echoed either
        Map<String, Object> m = with("namespace", "Team\u0000A");
        m.put("requestId", "req\u00001");

        RequestValidator.Result result = validate(m);

        assertThat(result.echo().namespace()).isNull();
        assertThat(result.usableRequestId()).isNull();
        assertThat(result.echo().requestedBy()).isEqualTo("alice@example.com");
        assertThat(result.violations()).extracting(Violation::field).containsExactly("requestId", "namespace");
    }

    static void assertNoControlCharacterIn(RequestValidator.Result result) {
        assertThat(result.violations()).allSatisfy(v -> assertThat(v.toString()).doesNotContainPattern("[\\x00-\\x1F\\x7F]"));
        assertThat(Messages.invalidRequest(result.violations())).doesNotContainPattern("[\\x00-\\x1F\\x7F]");
    }

    // ---- notAfter ----

    static Stream<Arguments> notAfterAccepted() {
        return Stream.of(
                Arguments.of("2026-11-26T18:00:00Z", "2026-11-26T18:00:00Z"),
                Arguments.of("2026-11-26T19:30:00+01:30", "2026-11-26T18:00:00Z"),
                Arguments.of("2026-11-26T13:00:00-05:00", "2026-11-26T18:00:00Z"),
                Arguments.of("2026-11-26T18:00:00-00:00", "2026-11-26T18:00:00Z"),
                Arguments.of("2026-11-26t18:00:00.5z", "2026-11-26T18:00:00.500Z"),
                Arguments.of("2026-11-26T18:00:00.123456789Z", "2026-11-26T18:00:00.123456789Z"),
                Arguments.of("2028-02-29T23:59:59Z", "2028-02-29T23:59:59Z"));
    }

    @ParameterizedTest
    @MethodSource("notAfterAccepted")
    void notAfterIsAnRfc3339TimeWithOffset(String value, String instant) {
        RequestValidator.Result result = validate(with("notAfter", value));

        assertValid(result);
        assertThat(result.request().notAfter()).isEqualTo(java.time.Instant.parse(instant));
    }

    @Test
    void notAfterIsOptional() {
        assertThat(validate(valid()).request().notAfter()).isNull();
        assertThat(validate(with("notAfter", null)).request().notAfter()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"2026-11-26", "2026-11-26T18:00:00", "2026-11-26T18:00Z", "2026-11-26 18:00:00Z",
            "2026-11-26T18:00:00+0100", "2026-11-26T18:00:00+01", "2026-02-30T00:00:00Z", "2026-11-26T24:00:00Z",
            "2026-11-26T18:00:00+19:00", "2026-11-26T18:00:00.Z", "26.11.2026 18:00", "tomorrow", "1764180000"})
    void notAfterThatIsNotAnRfc3339TimeWithOffsetIsRefused(String value) {
        assertOnlyViolation(validate(with("notAfter", value)), "notAfter",
                "must be an RFC 3339 time with an offset, e.g. 2026-11-26T18:00:00Z or 2026-11-26T19:00:00+01:00, not '"
                        + value + "'");
    }

    @Test
    void notAfterOfAnotherTypeIsRefused() {
        assertOnlyViolation(validate(with("notAfter", 1764180000)), "notAfter", "must be a string, not a number");
    }
}
