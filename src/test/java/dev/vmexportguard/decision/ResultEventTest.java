package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ResultEventTest {
    static final Instant T1 = Instant.parse("2024-05-01T10:00:00Z");
    static final Instant T2 = Instant.parse("2024-05-01T11:00:00Z");
    static final Evidence EVIDENCE = Evidence.none(T1);

    static ExportRequest request(String requestId) {
        return new ExportRequest(requestId, "team-a", "vm1", "vm1-disk-0", "alice", null, null,
                ExportRequest.OnRunning.REJECT, false, null, "chat:#ops", null, false, ExportRequest.BackupType.SNAPSHOT, java.util.List.of(), null);
    }

    static Decision.Rejected rejection() {
        return new Decision.Rejected(ReasonCode.VM_RUNNING, "Refused: VM team-a/vm1 is running", EVIDENCE, "vm1",
                "vm1-disk-0");
    }

    @Test
    void eventIdIsDeterministicNameBasedUuid() {
        String id = ResultEvent.eventId("req-1", EventType.REJECTED, "requests-0@17");

        assertThat(ResultEvent.eventId(new String("req-1"), EventType.REJECTED, new String("requests-0@17")))
                .isEqualTo(id);
        assertThat(UUID.fromString(id).version()).isEqualTo(3);
    }

    @Test
    void eventIdDiffersPerRequestTypeAndDiscriminator() {
        Set<String> ids = Stream.of(
                        ResultEvent.eventId("req-1", EventType.REJECTED, "p0@1"),
                        ResultEvent.eventId("req-1", EventType.REJECTED, "p0@2"),
                        ResultEvent.eventId("req-1", EventType.REJECTED, "p1@1"),
                        ResultEvent.eventId("req-1", EventType.STARTED, "p0@1"),
                        ResultEvent.eventId("req-2", EventType.REJECTED, "p0@1"),
                        ResultEvent.eventId("req-2", EventType.STARTED, "p0@1"),
                        ResultEvent.eventId("req-1", EventType.REJECTED, null),
                        ResultEvent.eventId("req-1", EventType.STARTED, null))
                .collect(Collectors.toSet());

        assertThat(ids).hasSize(8);
    }

    @Test
    void separatorKeepsFieldsApart() {
        assertThat(ResultEvent.eventId("req-1", EventType.REJECTED, "x"))
                .isNotEqualTo(ResultEvent.eventId("req-1x", EventType.REJECTED, ""))
                .isNotEqualTo(ResultEvent.eventId("req-", EventType.REJECTED, "1x"));
    }

    @Test
    void rejectedEventIsIdentifiedByTheSourceRecord() {
        ExportRequest request = request("req-1");

        ResultEvent first = ResultEvent.rejected(ResultEvent.Subject.of(request, null), rejection(), "requests-0@17", T1);
        ResultEvent replay = ResultEvent.rejected(ResultEvent.Subject.of(request, null), rejection(), "requests-0@17", T2);
        ResultEvent resent = ResultEvent.rejected(ResultEvent.Subject.of(request, null), rejection(), "requests-0@18", T1);

        assertThat(first.eventId()).isEqualTo(ResultEvent.eventId("req-1", EventType.REJECTED, "requests-0@17"))
                .isEqualTo(replay.eventId())
                .isNotEqualTo(resent.eventId());
    }

    @Test
    void rejectedEventCarriesTheDecision() {
        ResultEvent e = ResultEvent.rejected(ResultEvent.Subject.of(request("req-1"), null), rejection(), "requests-0@17", T1);

        assertThat(e.type()).isEqualTo(EventType.REJECTED);
        assertThat(e.reason()).isEqualTo(ReasonCode.VM_RUNNING);
        assertThat(e.message()).isEqualTo("Refused: VM team-a/vm1 is running");
        assertThat(List.of(e.requestId(), e.namespace(), e.vmName(), e.volumeName(), e.requestedBy(), e.replyTo()))
                .containsExactly("req-1", "team-a", "vm1", "vm1-disk-0", "alice", "chat:#ops");
        assertThat(e.observed()).isSameAs(EVIDENCE);
        assertThat(e.image()).isNull();
        assertThat(e.occurredAt()).isEqualTo(T1);
    }

    @Test
    void startIdIsTheSameForEveryDeliveryOfARequest() {
        String image = ImagePlan.imageName("req-1");

        assertThat(ResultEvent.eventId("req-1", EventType.STARTED, image))
                .isEqualTo(ResultEvent.eventId("req-1", EventType.STARTED, ImagePlan.imageName("req-1")))
                .isNotEqualTo(ResultEvent.eventId("req-2", EventType.STARTED, ImagePlan.imageName("req-2")))
                .isNotEqualTo(ResultEvent.eventId("req-1", EventType.REJECTED, image));
    }

    @Test
    void refusalWithoutRequestIdIsIdentifiedByTheSourceRecord() {
        ResultEvent.Subject unknown = ResultEvent.Subject.NONE;
        ResultEvent a = ResultEvent.refusal(ReasonCode.INVALID_REQUEST, "Refused: not valid", "requests-0@1")
                .build(unknown, T1);
        ResultEvent b = ResultEvent.refusal(ReasonCode.INVALID_REQUEST, "Refused: not valid", "requests-0@1")
                .build(unknown, T2);
        ResultEvent c = ResultEvent.refusal(ReasonCode.INVALID_REQUEST, "Refused: not valid", "requests-0@2")
                .build(unknown, T1);

        assertThat(a.eventId()).isEqualTo(b.eventId()).isNotEqualTo(c.eventId());
        assertThat(a.type()).isEqualTo(EventType.REJECTED);
        assertThat(a.reason()).isEqualTo(ReasonCode.INVALID_REQUEST);
    }

    @Test
    void refusedMatchesRejectedForTheSameRecord() {
        ResultEvent refused = ResultEvent.refusal(ReasonCode.CLUSTER_UNAVAILABLE, "Refused", "requests-0@17")
                .build(new ResultEvent.Subject("req-1", "team-a", "vm1", null, "alice", null, null), T1);

        assertThat(refused.eventId())
                .isEqualTo(ResultEvent.rejected(ResultEvent.Subject.of(request("req-1"), null), rejection(), "requests-0@17", T2).eventId());
    }

    @Test
    void builderCarriesEveryPartAndTheSubject() {
        ResultEvent.ImageRef image = ResultEvent.ImageRef.of("team-a", "vmexport-1", "vm1-root");
        ResultEvent e = ResultEvent.of(EventType.QUEUED, "queued").message("Queued").observed(EVIDENCE).image(image)
                .queuePosition(3).build(ResultEvent.Subject.of(request("req-1"), "chatops-bot"), T1);

        assertThat(e.eventId()).isEqualTo(ResultEvent.eventId("req-1", EventType.QUEUED, "queued"));
        assertThat(List.of(e.requestId(), e.namespace(), e.vmName(), e.volumeName(), e.requestedBy(), e.replyTo()))
                .containsExactly("req-1", "team-a", "vm1", "vm1-disk-0", "alice", "chat:#ops");
        assertThat(e.caller()).isEqualTo("chatops-bot");
        assertThat(e.reason()).isNull();
        assertThat(e.message()).isEqualTo("Queued");
        assertThat(e.observed()).isSameAs(EVIDENCE);
        assertThat(e.image()).isEqualTo(image);
        assertThat(e.queuePosition()).isEqualTo(3);
        assertThat(e.occurredAt()).isEqualTo(T1);
    }

    @Test
    void subjectFallsBackToTheRecordsRequestIdOnlyWhenItHasNone() {
        ResultEvent.Subject none = new ResultEvent.Subject(null, "team-a", null, null, "alice", null, null);

        assertThat(none.withRequestIdOr("kafka:t:0:1").requestId()).isEqualTo("kafka:t:0:1");
        assertThat(ResultEvent.Subject.of(request("req-1"), "chatops-bot").withRequestIdOr("kafka:t:0:1").requestId()).isEqualTo("req-1");
    }
}
