package dev.vmexportguard.decision;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Checks a request as parsed from JSON (maps, lists, strings, numbers, booleans) against contract v1 and lists
 * every violation, not only the first.
 */
public final class RequestValidator {
    public static final int MAX_REQUEST_ID = 128;
    public static final int MAX_REQUESTED_BY = 256;
    public static final int MAX_REASON = 1024;
    public static final int MAX_REPLY_TO = 512;
    public static final int MAX_GRACE_PERIOD = 3600;
    public static final int MAX_GROUPS = 32;
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1," + MAX_REQUEST_ID + "}");
    /** RFC 3339 {@code date-time}: seconds and an offset ({@code Z} or {@code ±hh:mm}) are required. */
    private static final Pattern RFC_3339 = Pattern.compile(
            "\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?([Zz]|[+-]\\d{2}:\\d{2})");

    /** Longest text of an invalid request that is echoed in its answer. */
    static final int MAX_ECHOED = 512;

    /**
     * The outcome: either a request or the violations; and, in both cases, what its answer can echo of it (the
     * requestId only when it is usable).
     */
    public record Result(ExportRequest request, List<Violation> violations, ResultEvent.Subject echo) {
        public boolean valid() {
            return request != null;
        }

        public String usableRequestId() {
            return echo.requestId();
        }
    }

    private RequestValidator() {
    }

    public static boolean isUsableRequestId(Object value) {
        return value instanceof String s && REQUEST_ID.matcher(s).matches();
    }

    public static Result validate(Object json) {
        List<Violation> v = new ArrayList<>();
        if (!(json instanceof Map<?, ?> map)) {
            v.add(new Violation("$", "must be a JSON object, not " + describe(json)));
            return new Result(null, v, ResultEvent.Subject.NONE);
        }
        String requestId = string(map, "requestId", v, true);
        if (requestId != null && !REQUEST_ID.matcher(requestId).matches()) {
            v.add(new Violation("requestId", "must be 1-" + MAX_REQUEST_ID + " characters of A-Z a-z 0-9 . _ : -"));
            requestId = null;
        }
        String namespace = string(map, "namespace", v, true);
        if (namespace != null && !KubernetesNames.isDns1123Label(namespace)) {
            v.add(new Violation("namespace", "'" + clip(namespace) + "' is not a Kubernetes namespace name"
                    + " (DNS-1123 label: lower-case letters, digits and '-', at most 63)"));
        }
        String vmName = subdomain(map, "vmName", v);
        String volumeName = subdomain(map, "volumeName", v);
        if (!present(map, "vmName") && !present(map, "volumeName")) {
            v.add(new Violation("vmName", "vmName or volumeName (or both) must be given"));
        }
        String requestedBy = string(map, "requestedBy", v, true);
        if (requestedBy != null && (requestedBy.isBlank() || requestedBy.length() > MAX_REQUESTED_BY)) {
            v.add(new Violation("requestedBy", "must be 1-" + MAX_REQUESTED_BY + " characters and not blank"));
        }
        String displayName = string(map, "imageDisplayName", v, false);
        if (displayName != null && !KubernetesNames.isLabelValue(displayName)) {
            v.add(new Violation("imageDisplayName", "'" + clip(displayName) + "' is not a valid label value"
                    + " (at most 63 of A-Z a-z 0-9 - _ ., starting and ending with a letter or digit)"));
        }
        String storageClassName = subdomain(map, "storageClassName", v);
        ExportRequest.OnRunning onRunning = onRunning(map, v);
        boolean restartAfter = bool(map, "restartAfter", v);
        if (restartAfter && onRunning == ExportRequest.OnRunning.REJECT) {
            v.add(new Violation("restartAfter", "true needs onRunning STOP: the guard only starts again VMs it stopped"));
        }
        Integer grace = integer(map, "stopGracePeriodSeconds", v, 0, MAX_GRACE_PERIOD);
        if (grace != null && onRunning == ExportRequest.OnRunning.REJECT) {
            v.add(new Violation("stopGracePeriodSeconds", "needs onRunning STOP"));
        }
        boolean backupFirst = bool(map, "backupFirst", v);
        ExportRequest.BackupType backupType = backupType(map, v);
        if (map.get("backupType") != null && !backupFirst) {
            v.add(new Violation("backupType", "needs backupFirst true"));
        }
        List<String> groups = groups(map, v);
        String reason = string(map, "reason", v, false);
        if (reason != null && reason.length() > MAX_REASON) {
            v.add(new Violation("reason", "must be at most " + MAX_REASON + " characters, has " + reason.length()));
        }
        String replyTo = string(map, "replyTo", v, false);
        if (replyTo != null && replyTo.length() > MAX_REPLY_TO) {
            v.add(new Violation("replyTo", "must be at most " + MAX_REPLY_TO + " characters, has " + replyTo.length()));
        }
        Instant notAfter = notAfter(map, v);
        if (!v.isEmpty()) {
            return new Result(null, v, new ResultEvent.Subject(requestId, echoed(map, "namespace"),
                    echoed(map, "vmName"), echoed(map, "volumeName"), echoed(map, "requestedBy"), echoed(map, "replyTo"),
                    null));
        }
        ExportRequest request = new ExportRequest(requestId, namespace, vmName, volumeName, requestedBy, displayName,
                storageClassName, onRunning, restartAfter, reason, replyTo, grace, backupFirst, backupType, groups,
                notAfter);
        return new Result(request, List.of(), ResultEvent.Subject.of(request, null));
    }

    /**
     * A field of an invalid request as its answer echoes it: a string that is not empty, not too long and holds no
     * control character (PostgreSQL refuses U+0000 in text; the others have no place in an answer either).
     */
    private static String echoed(Map<?, ?> map, String field) {
        return map.get(field) instanceof String s && !s.isEmpty() && s.length() <= MAX_ECHOED
                && controlCharacter(s) == null ? s : null;
    }

    /**
     * What is wrong with the first C0 control character (U+0000-U+001F) or DEL (U+007F) in {@code s}, e.g.
     * {@code must not contain control characters (U+0000 at position 2)}, the position counted in characters from
     * 1; null when there is none.
     */
    static String controlCharacter(String s) {
        int position = 0;
        for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) {
            int c = s.codePointAt(i);
            position++;
            if (c < 0x20 || c == 0x7F) {
                return String.format(Locale.ROOT, "must not contain control characters (U+%04X at position %d)", c,
                        position);
            }
        }
        return null;
    }

    private static Instant notAfter(Map<?, ?> map, List<Violation> v) {
        String value = string(map, "notAfter", v, false);
        if (value == null) {
            return null;
        }
        if (RFC_3339.matcher(value).matches()) {
            try {
                return OffsetDateTime.parse(value.toUpperCase(Locale.ROOT), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                        .toInstant();
            } catch (DateTimeParseException e) {
                // a date or time that does not exist (2026-02-30, 25:00), or an offset beyond ±18:00
            }
        }
        v.add(new Violation("notAfter", "must be an RFC 3339 time with an offset, e.g. 2026-11-26T18:00:00Z or"
                + " 2026-11-26T19:00:00+01:00, not '" + clip(value) + "'"));
        return null;
    }

    private static ExportRequest.OnRunning onRunning(Map<?, ?> map, List<Violation> v) {
        String value = string(map, "onRunning", v, false);
        if (value == null) {
            return ExportRequest.OnRunning.REJECT;
        }
        try {
            return ExportRequest.OnRunning.valueOf(value.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            v.add(new Violation("onRunning", "must be REJECT or STOP, not '" + clip(value) + "'"));
            return ExportRequest.OnRunning.REJECT;
        }
    }

    private static ExportRequest.BackupType backupType(Map<?, ?> map, List<Violation> v) {
        String value = string(map, "backupType", v, false);
        if (value == null) {
            return ExportRequest.BackupType.SNAPSHOT;
        }
        try {
            return ExportRequest.BackupType.valueOf(value.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            v.add(new Violation("backupType", "must be snapshot or backup, not '" + clip(value) + "'"));
            return ExportRequest.BackupType.SNAPSHOT;
        }
    }

    private static boolean bool(Map<?, ?> map, String field, List<Violation> v) {
        Object value = map.get(field);
        if (value == null) {
            return false;
        }
        if (!(value instanceof Boolean b)) {
            v.add(new Violation(field, "must be a boolean, not " + describe(value)));
            return false;
        }
        return b;
    }

    private static Integer integer(Map<?, ?> map, String field, List<Violation> v, int min, int max) {
        Object value = map.get(field);
        if (value == null) {
            return null;
        }
        if (!(value instanceof Integer || value instanceof Long) || ((Number) value).longValue() < min
                || ((Number) value).longValue() > max) {
            v.add(new Violation(field, "must be a whole number from " + min + " to " + max + ", not "
                    + (value instanceof Number ? value : describe(value))));
            return null;
        }
        return ((Number) value).intValue();
    }

    private static List<String> groups(Map<?, ?> map, List<Violation> v) {
        Object value = map.get("requestedByGroups");
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list) || list.size() > MAX_GROUPS
                || !list.stream().allMatch(g -> g instanceof String s && !s.isBlank() && s.length() <= MAX_REQUESTED_BY)) {
            v.add(new Violation("requestedByGroups", "must be an array of at most " + MAX_GROUPS
                    + " group names of 1-" + MAX_REQUESTED_BY + " characters"));
            return List.of();
        }
        for (int i = 0; i < list.size(); i++) {
            String problem = controlCharacter((String) list.get(i));
            if (problem != null) {
                v.add(new Violation("requestedByGroups[" + i + "]", problem));
                return List.of();
            }
        }
        List<String> system = list.stream().map(String.class::cast).filter(g -> g.startsWith("system:")).toList();
        if (!system.isEmpty()) {
            // the API server's own groups (system:masters, system:authenticated, ...) are never named by a request
            v.add(new Violation("requestedByGroups", "must not name system: groups (" + clip(String.join(", ", system))
                    + "); they are given by the API server, not by a request"));
            return List.of();
        }
        return list.stream().map(String.class::cast).toList();
    }

    private static String subdomain(Map<?, ?> map, String field, List<Violation> v) {
        String value = string(map, field, v, false);
        if (value != null && !KubernetesNames.isDns1123Subdomain(value)) {
            v.add(new Violation(field, "'" + clip(value) + "' is not a Kubernetes object name"
                    + " (DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253)"));
            return null;
        }
        return value;
    }

    private static boolean present(Map<?, ?> map, String field) {
        return map.get(field) != null;
    }

    private static String string(Map<?, ?> map, String field, List<Violation> v, boolean required) {
        Object value = map.get(field);
        if (value == null) {
            if (required) {
                v.add(new Violation(field, "is required"));
            }
            return null;
        }
        if (!(value instanceof String s)) {
            v.add(new Violation(field, "must be a string, not " + describe(value)));
            return null;
        }
        if (s.isEmpty()) {
            v.add(new Violation(field, "must not be empty"));
            return null;
        }
        // before any other rule: no other violation quotes a value holding one
        String control = controlCharacter(s);
        if (control != null) {
            v.add(new Violation(field, control));
            return null;
        }
        return s;
    }

    static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Map<?, ?>) {
            return "an object";
        }
        if (value instanceof List<?>) {
            return "an array";
        }
        if (value instanceof String) {
            return "a string";
        }
        if (value instanceof Boolean) {
            return "a boolean";
        }
        if (value instanceof Number) {
            return "a number";
        }
        return value.getClass().getSimpleName();
    }

    private static String clip(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
