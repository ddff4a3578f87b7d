package dev.vmexportguard.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The order a request's events must keep, on the result topic and in the audit: the decision first (or, in the
 * audit, RECEIVED before it), the steps of an export in their order, exactly one final event, and after it nothing
 * but VM_RESTARTED and RESTART_FAILED. An event published again (same eventId) is the same event: it must have the
 * same type, and only its first appearance counts for the order.
 */
public final class EventOrder {
    private static final Set<String> FINAL = Set.of("REJECTED", "COMPLETED", "FAILED");
    private static final Map<String, Integer> RANK = Map.ofEntries(
            Map.entry("QUEUED", 0), Map.entry("STOPPING_VM", 1), Map.entry("VM_STOPPED", 2),
            Map.entry("BACKUP_READY", 3), Map.entry("STARTED", 4), Map.entry("PROGRESS", 5),
            Map.entry("REJECTED", 6), Map.entry("COMPLETED", 6), Map.entry("FAILED", 6),
            Map.entry("VM_RESTARTED", 7), Map.entry("RESTART_FAILED", 7));
    /** What a request's first event may be: its decision, or the first step of an export that starts at once. */
    private static final Set<String> FIRST = Set.of("REJECTED", "QUEUED", "STOPPING_VM", "BACKUP_READY", "STARTED",
            "FAILED");

    private EventOrder() {
    }

    /** One event as published or audited: its id and type. */
    public record Seen(String eventId, String type) {
    }

    /** The request's events on the result topic, checked; their distinct ids in order of first appearance. */
    public static List<String> checkTopic(String requestId, List<GuardTopics.Event> events) {
        return check(requestId + " on the topic", events.stream()
                .map(e -> new Seen(e.body().path("eventId").asText(), e.type())).toList());
    }

    /**
     * The request's audit history (oldest first), checked: RECEIVED first, then the events as on the topic. Their
     * distinct ids (RECEIVED left out) in order of first appearance.
     */
    public static List<String> checkAudit(String requestId, List<Seen> history) {
        assertThat(history).as("audit of %s", requestId).isNotEmpty();
        assertThat(history.get(0).type()).as("first audit row of %s in %s", requestId, history).isEqualTo("RECEIVED");
        return check(requestId + " in the audit", history.stream().filter(s -> !s.type().equals("RECEIVED")).toList());
    }

    private static List<String> check(String what, List<Seen> events) {
        Map<String, String> typeOfId = new LinkedHashMap<>();
        List<Seen> distinct = new ArrayList<>();
        for (Seen e : events) {
            String before = typeOfId.putIfAbsent(e.eventId(), e.type());
            if (before == null) {
                distinct.add(e);
            } else {
                assertThat(e.type()).as("event %s of %s published again with another type: %s", e.eventId(), what,
                        events).isEqualTo(before);
            }
        }
        List<String> types = distinct.stream().map(Seen::type).toList();
        assertThat(types).as("events of %s", what).isNotEmpty();
        assertThat(FIRST).as("first event of %s: %s", what, types).contains(types.get(0));
        assertThat(types.stream().filter(FINAL::contains)).as("final events of %s: %s", what, types).hasSize(1);
        for (int i = 1; i < types.size(); i++) {
            assertThat(RANK.get(types.get(i))).as("%s after %s, events of %s: %s", types.get(i), types.get(i - 1), what,
                    types).isGreaterThanOrEqualTo(RANK.get(types.get(i - 1)));
        }
        return distinct.stream().map(Seen::eventId).toList();
    }
}
