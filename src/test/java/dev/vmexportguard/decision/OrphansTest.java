package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.decision.Orphans.GuardObject;
import dev.vmexportguard.decision.Orphans.Job;
import dev.vmexportguard.decision.Orphans.Kind;
import dev.vmexportguard.decision.Orphans.Orphan;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which labelled objects belong to no active export, and which of them may be deleted. */
class OrphansTest {

    static GuardObject image(String name, String requestId, boolean imported) {
        return new GuardObject(Kind.IMAGE, "team-a", name, requestId, imported);
    }

    static GuardObject backup(String name, String requestId, boolean ready) {
        return new GuardObject(Kind.BACKUP, "team-a", name, requestId, ready);
    }

    static Job ended(String requestId, String outcome, String image, List<String> backups, boolean backupsReady) {
        return new Job(requestId, "team-a", true, outcome, image, backups, backupsReady);
    }

    static Job active(String requestId) {
        return new Job(requestId, "team-a", false, null, null, List.of(), false);
    }

    @Test
    void aCompletedExportsImageIsItsResult() {
        GuardObject image = image("vmexport-1", "r1", true);

        assertThat(Orphans.find(List.of(image), Map.of("r1", ended("r1", "COMPLETED", "vmexport-1", List.of(), false)),
                true)).isEmpty();
    }

    @Test
    void anActiveExportsObjectsAreItsOwn() {
        List<GuardObject> objects = List.of(image("vmexport-1", "r1", false), backup("vmexport-b-vm1", "r1", false));

        assertThat(Orphans.find(objects, Map.of("r1", active("r1")), true)).isEmpty();
    }

    @Test
    void anImageWithoutAJobIsAnOrphanDeletedOnlyWhenUnfinishedAndAsked() {
        GuardObject copying = image("vmexport-1", "gone", false);
        GuardObject imported = image("vmexport-2", "gone", true);

        List<Orphan> kept = Orphans.find(List.of(copying, imported), Map.of(), false);
        List<Orphan> deleted = Orphans.find(List.of(copying, imported), Map.of(), true);

        assertThat(kept).extracting(Orphan::delete).containsExactly(false, false);
        assertThat(kept.get(0).why()).contains("no export of request gone");
        assertThat(deleted).extracting(Orphan::delete).containsExactly(true, false);
    }

    @Test
    void anImageOfAnExportThatEndedOtherwiseIsAnOrphan() {
        // REJECTED after its create's answer was lost: the image was never followed
        GuardObject lost = image("vmexport-1", "r1", false);
        // FAILED EXPORT_FAILED: the image was followed, but is no result
        GuardObject failed = image("vmexport-2", "r2", false);

        List<Orphan> orphans = Orphans.find(List.of(lost, failed), Map.of(
                "r1", ended("r1", "REJECTED", null, List.of(), false),
                "r2", ended("r2", "FAILED", "vmexport-2", List.of(), false)), true);

        assertThat(orphans).extracting(o -> o.object().name()).containsExactly("vmexport-1", "vmexport-2");
        assertThat(orphans.get(0).why()).contains("ended REJECTED without following this image");
        assertThat(orphans.get(1).why()).contains("ended FAILED without completing this image");
    }

    @Test
    void anImageOfAnotherNameOrNamespaceThanTheResultIsAnOrphan() {
        GuardObject other = new GuardObject(Kind.IMAGE, "team-b", "vmexport-1", "r1", true);

        assertThat(Orphans.find(List.of(other), Map.of("r1", ended("r1", "COMPLETED", "vmexport-1", List.of(), false)),
                true)).hasSize(1).allMatch(o -> !o.delete());
    }

    @Test
    void anEndedExportWhoseOutcomeIsUnknownKeepsItsImage() {
        assertThat(Orphans.find(List.of(image("vmexport-1", "r1", false)),
                Map.of("r1", ended("r1", null, "vmexport-1", List.of(), false)), true)).isEmpty();
    }

    @Test
    void backupsReportedReadyAreResultsOthersAreOrphans() {
        GuardObject ready = backup("vmexport-b-vm1", "r1", true);
        GuardObject unready = backup("vmexport-c-vm1", "r2", false);
        GuardObject notTaken = backup("vmexport-d-vm1", "r3", false);

        List<Orphan> orphans = Orphans.find(List.of(ready, unready, notTaken), Map.of(
                "r1", ended("r1", "REJECTED", null, List.of("vmexport-b-vm1"), true),
                "r2", ended("r2", "FAILED", null, List.of("vmexport-c-vm1"), false),
                "r3", ended("r3", "REJECTED", null, List.of(), false)), true);

        assertThat(orphans).extracting(o -> o.object().name()).containsExactly("vmexport-c-vm1", "vmexport-d-vm1");
        assertThat(orphans.get(0).why()).contains("before its backups were ready");
        assertThat(orphans).allMatch(Orphan::delete);
    }

    @Test
    void anObjectNamingNoRequestIsAnOrphan() {
        assertThat(Orphans.find(List.of(image("vmexport-1", null, false)), Map.of(), false))
                .extracting(Orphan::why).containsExactly("it names no request");
    }
}
