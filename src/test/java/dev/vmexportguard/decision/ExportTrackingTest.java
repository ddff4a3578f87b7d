package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExportTrackingTest {
    static final Instant STARTED = Instant.parse("2026-11-26T10:00:00Z");
    static final Instant NOW = STARTED.plusSeconds(600);
    static final Duration TIMEOUT = Duration.ofHours(6);
    static final Decision.Rejected VM_RUNNING = new Decision.Rejected(ReasonCode.VM_RUNNING,
            "Refused: VM team-a/vm1 (Starting, VMI phase Scheduling) is not fully stopped and uses volume disk; why. What.",
            new Evidence(NOW, null, List.of(), List.of()), "vm1", "disk");

    static ExportTracking.RunningExport export(int lastStep) {
        return new ExportTracking.RunningExport("team-a", "disk", "vmexport-1", "golden", STARTED, lastStep, null);
    }

    static Optional<ImageStatus> copying(int progress) {
        return Optional.of(new ImageStatus(progress, null, null, null, false, null, false, null));
    }

    static Optional<ImageStatus> imported(Instant at) {
        return Optional.of(new ImageStatus(100, 10L, 10L, "lh-x", true, at, false, null));
    }

    static ExportTracking.Step next(int lastStep, Optional<ImageStatus> image, Optional<Decision.Rejected> unsafe,
                                    Optional<Instant> inUseSince, Instant now) {
        return ExportTracking.next(export(lastStep), image, unsafe, inUseSince, now, TIMEOUT, true);
    }

    @Test
    void imageGoneFailsWithImageDeleted() {
        ExportTracking.Step step = next(30, Optional.empty(), Optional.empty(), Optional.empty(), NOW);
        assertThat(step).isInstanceOfSatisfying(ExportTracking.Failed.class, f -> {
            assertThat(f.reason()).isEqualTo(ReasonCode.IMAGE_DELETED);
            assertThat(f.deleteImage()).isFalse();
            assertThat(f.message()).contains("vmexport-1").contains("golden");
        });
    }

    @Test
    void importedImageIsCompleted() {
        assertThat(next(90, imported(NOW), Optional.empty(), Optional.empty(), NOW))
                .isInstanceOf(ExportTracking.Completed.class);
    }

    @Test
    void vmStartedAfterTheImageWasReadyDoesNotSpoilIt() {
        Instant ready = NOW.minusSeconds(30);
        assertThat(next(90, imported(ready), Optional.of(VM_RUNNING), Optional.of(ready.plusSeconds(5)), NOW))
                .isInstanceOf(ExportTracking.Completed.class);
    }

    @Test
    void vmStartedBeforeTheImageWasReadyFailsIt() {
        Instant ready = NOW.minusSeconds(30);
        assertThat(next(90, imported(ready), Optional.of(VM_RUNNING), Optional.of(ready.minusSeconds(5)), NOW))
                .isInstanceOfSatisfying(ExportTracking.Failed.class, f -> {
                    assertThat(f.reason()).isEqualTo(ReasonCode.VM_STARTED_DURING_EXPORT);
                    assertThat(f.deleteImage()).isTrue();
                });
    }

    @Test
    void readyTimeUnknownWhileTheVolumeIsInUseFailsClosed() {
        assertThat(next(90, imported(null), Optional.of(VM_RUNNING), Optional.of(NOW), NOW))
                .isInstanceOf(ExportTracking.Failed.class);
    }

    @Test
    void vmStartedInTheSecondTheImageBecameReadyFailsIt() {
        // Harvester's lastUpdateTime is whole seconds: ready at 10:09:30 means some time in that second
        Instant ready = Instant.parse("2026-11-26T10:09:30Z");
        for (Instant use : List.of(ready, ready.plusMillis(1), ready.plusMillis(999))) {
            assertThat(next(90, imported(ready), Optional.of(VM_RUNNING), Optional.of(use), NOW))
                    .as("use at %s", use)
                    .isInstanceOfSatisfying(ExportTracking.Failed.class,
                            f -> assertThat(f.reason()).isEqualTo(ReasonCode.VM_STARTED_DURING_EXPORT));
        }
        assertThat(next(90, imported(ready), Optional.of(VM_RUNNING), Optional.of(ready.plusSeconds(1)), NOW))
                .isInstanceOf(ExportTracking.Completed.class);
    }

    @Test
    void aReadyTimeWithAFractionCountsItsWholeSecond() {
        Instant ready = Instant.parse("2026-11-26T10:09:30.250Z");
        assertThat(ExportTracking.usedAfterReady(Instant.parse("2026-11-26T10:09:30.900Z"), ready)).isFalse();
        assertThat(ExportTracking.usedAfterReady(Instant.parse("2026-11-26T10:09:31Z"), ready)).isTrue();
        assertThat(ExportTracking.usedAfterReady(Instant.MIN, ready)).isFalse();
    }

    @Test
    void withoutATimeOnTheConditionTheTimeTheGuardFirstSawItReadyIsUsed() {
        Instant seen = NOW.minusSeconds(30);
        ExportTracking.RunningExport export = new ExportTracking.RunningExport("team-a", "disk", "vmexport-1",
                "golden", STARTED, 90, seen);

        assertThat(ExportTracking.next(export, imported(null), Optional.of(VM_RUNNING), Optional.of(seen.plusSeconds(2)),
                NOW, TIMEOUT, true)).isInstanceOf(ExportTracking.Completed.class);
        assertThat(ExportTracking.next(export, imported(null), Optional.of(VM_RUNNING), Optional.of(seen.minusSeconds(2)),
                NOW, TIMEOUT, true)).isInstanceOf(ExportTracking.Failed.class);
        // the condition's own time comes first
        assertThat(ExportTracking.readyAt(imported(seen.minusSeconds(60)).orElseThrow(), seen))
                .isEqualTo(seen.minusSeconds(60));
        assertThat(ExportTracking.readyAt(imported(null).orElseThrow(), seen)).isEqualTo(seen);
        assertThat(ExportTracking.readyAt(imported(null).orElseThrow(), null)).isNull();
    }

    @Test
    void vmStartingWithNothingMountingTheVolumeYetDoesNotSpoilAReadyImage() {
        assertThat(next(90, imported(NOW), Optional.of(VM_RUNNING), Optional.empty(), NOW))
                .isInstanceOf(ExportTracking.Completed.class);
    }

    @Test
    void retryLimitExceededFailsWithHarvestersMessageAndKeepsTheImage() {
        Optional<ImageStatus> failed = Optional.of(new ImageStatus(47, null, null, null, false, null, true,
                "retry attempted 3/3 failed"));
        assertThat(next(40, failed, Optional.empty(), Optional.empty(), NOW))
                .isInstanceOfSatisfying(ExportTracking.Failed.class, f -> {
                    assertThat(f.reason()).isEqualTo(ReasonCode.EXPORT_FAILED);
                    assertThat(f.message()).contains("retry attempted 3/3 failed");
                    assertThat(f.deleteImage()).isFalse();
                });
    }

    @Test
    void vmStartedDuringTheCopyFailsAndDeletesTheImage() {
        assertThat(next(40, copying(45), Optional.of(VM_RUNNING), Optional.of(NOW), NOW))
                .isInstanceOfSatisfying(ExportTracking.Failed.class, f -> {
                    assertThat(f.reason()).isEqualTo(ReasonCode.VM_STARTED_DURING_EXPORT);
                    assertThat(f.message()).contains("team-a/vm1 (Starting, VMI phase Scheduling)").doesNotContain("Refused");
                    assertThat(f.deleteImage()).isTrue();
                    assertThat(f.observed()).isEqualTo(VM_RUNNING.observed());
                });
    }

    @Test
    void vmStartedBeatsTheTimeout() {
        Instant late = STARTED.plus(TIMEOUT).plusSeconds(1);
        assertThat(next(40, copying(45), Optional.of(VM_RUNNING), Optional.of(late), late))
                .isInstanceOfSatisfying(ExportTracking.Failed.class,
                        f -> assertThat(f.reason()).isEqualTo(ReasonCode.VM_STARTED_DURING_EXPORT));
    }

    @Test
    void runningTooLongTimesOutAndDeletesWhenConfigured() {
        Instant late = STARTED.plus(TIMEOUT).plusSeconds(1);
        ExportTracking.Step deleting = ExportTracking.next(export(40), copying(45), Optional.empty(), Optional.empty(),
                late, TIMEOUT, true);
        ExportTracking.Step keeping = ExportTracking.next(export(40), copying(45), Optional.empty(), Optional.empty(),
                late, TIMEOUT, false);

        assertThat(deleting).isInstanceOfSatisfying(ExportTracking.Failed.class, f -> {
            assertThat(f.reason()).isEqualTo(ReasonCode.EXPORT_TIMEOUT);
            assertThat(f.deleteImage()).isTrue();
            assertThat(f.message()).contains("longer than 6h").contains("deleted");
        });
        assertThat(keeping).isInstanceOfSatisfying(ExportTracking.Failed.class, f -> {
            assertThat(f.deleteImage()).isFalse();
            assertThat(f.message()).contains("left in place");
        });
    }

    @Test
    void exactlyAtTheLimitIsNotYetATimeout() {
        assertThat(next(40, copying(45), Optional.empty(), Optional.empty(), STARTED.plus(TIMEOUT)))
                .isInstanceOf(ExportTracking.Unchanged.class);
    }

    @ParameterizedTest(name = "last step {0}, progress {1} -> {2}")
    @CsvSource({
        "-1, 0, -1", "-1, 9, -1", "-1, 10, 10", "-1, 35, 30", "30, 38, -1", "30, 20, -1", "30, 72, 70",
        "70, 100, 90", "90, 100, -1", "-1, -5, -1", "40, 250, 90"})
    void progressIsPublishedOncePerTenPointStepAndNeverBackwards(int lastStep, int progress, int expected) {
        ExportTracking.Step step = next(lastStep, copying(progress), Optional.empty(), Optional.empty(), NOW);
        if (expected < 0) {
            assertThat(step).isInstanceOf(ExportTracking.Unchanged.class);
        } else {
            assertThat(step).isEqualTo(new ExportTracking.Progressed(expected));
        }
    }

    @Test
    void volumeIsInUseSinceItsEarliestLiveUser() {
        ClusterSnapshot.ClaimRef disk = new ClusterSnapshot.ClaimRef("disk", ClusterSnapshot.ClaimSource.PERSISTENT_VOLUME_CLAIM, false);
        ClusterSnapshot cluster = new ClusterSnapshot("team-a", List.of(),
                List.of(new ClusterSnapshot.Vm("vm1", "Running", "Always", "1", List.of(disk)),
                        new ClusterSnapshot.Vm("vm2", "Stopped", "Halted", "1", List.of(disk))),
                List.of(new ClusterSnapshot.Vmi("vm1", "Running", "2", java.util.Set.of("disk"), NOW.minusSeconds(20)),
                        new ClusterSnapshot.Vmi("vm2", "Succeeded", "2", java.util.Set.of("disk"), NOW.minusSeconds(90))),
                List.of(new ClusterSnapshot.Pod("virt-launcher-vm1", "Running", "virt-launcher", "vm1",
                        java.util.Set.of("disk"), NOW.minusSeconds(25))),
                List.of(), NOW);

        assertThat(ExportDecider.inUseSince("disk", cluster)).contains(NOW.minusSeconds(25));
        assertThat(ExportDecider.inUseSince("other", cluster)).isEmpty();
    }

    @Test
    void unknownCreationTimeCountsAsUsedAllAlong() {
        ClusterSnapshot cluster = new ClusterSnapshot("team-a", List.of(), List.of(), List.of(),
                List.of(new ClusterSnapshot.Pod("backup-agent", "Running", null, null, java.util.Set.of("disk"))),
                List.of(), NOW);

        assertThat(ExportDecider.inUseSince("disk", cluster)).contains(Instant.MIN);
    }
}
