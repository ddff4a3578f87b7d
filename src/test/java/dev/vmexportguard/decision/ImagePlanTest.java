package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ImagePlanTest {
    static final Instant NOW = Instant.parse("2024-05-01T10:00:05.987Z");
    static final String STAMP = "-20240501-100005";

    static ExportRequest request(String requestId, String displayName, String storageClass) {
        return new ExportRequest(requestId, "team-a", "vm1", null, "alice", displayName, storageClass,
                ExportRequest.OnRunning.REJECT, false, null, null, null, false, ExportRequest.BackupType.SNAPSHOT, java.util.List.of(), null);
    }

    static ClusterSnapshot.Volume volume(String name) {
        return new ClusterSnapshot.Volume(name, "Bound", "longhorn", "42");
    }

    static Stream<String> requestIds() {
        return Stream.of("a", "req-1", "REQ:2024-05-01T10:00:00Z", "x.y_z", "r".repeat(128));
    }

    @ParameterizedTest
    @MethodSource("requestIds")
    void imageNameIsAValidKubernetesName(String requestId) {
        String name = ImagePlan.imageName(requestId);

        assertThat(name).matches("vmexport-[0-9a-f]{20}");
        assertThat(KubernetesNames.isDns1123Label(name)).isTrue();
        assertThat(KubernetesNames.isDns1123Subdomain(name)).isTrue();
    }

    @Test
    void imageNameIsDeterministicAndDistinctPerRequest() {
        assertThat(ImagePlan.imageName("req-1")).isEqualTo(ImagePlan.imageName(new String("req-1")))
                .isNotEqualTo(ImagePlan.imageName("req-2"))
                .isNotEqualTo(ImagePlan.imageName("REQ-1"));
    }

    @Test
    void imageNameIsTheSha256OfTheRequestId() {
        assertThat(ImagePlan.imageName("abc")).isEqualTo("vmexport-ba7816bf8f01cfea4141");
        assertThat(ImagePlan.requestHash("abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a3");
    }

    @ParameterizedTest
    @MethodSource("requestIds")
    void requestHashIsAValidLabelValue(String requestId) {
        String hash = ImagePlan.requestHash(requestId);

        assertThat(hash).matches("[0-9a-f]{40}");
        assertThat(KubernetesNames.isLabelValue(hash)).isTrue();
    }

    @Test
    void requestHashIsDeterministicAndDistinctPerRequest() {
        assertThat(ImagePlan.requestHash("req-1")).isEqualTo(ImagePlan.requestHash("req-1"))
                .isNotEqualTo(ImagePlan.requestHash("req-2"));
    }

    @Test
    void defaultDisplayNameIsVolumeAndUtcTimestamp() {
        assertThat(ImagePlan.defaultDisplayName("vm1-disk-0", NOW)).isEqualTo("vm1-disk-0" + STAMP);
        assertThat(ImagePlan.defaultDisplayName("d", Instant.parse("2024-12-31T23:59:59Z")))
                .isEqualTo("d-20241231-235959");
    }

    @Test
    void volumeNameOf47CharactersIsKeptWhole() {
        String name = "v".repeat(47);

        String displayName = ImagePlan.defaultDisplayName(name, NOW);

        assertThat(displayName).isEqualTo(name + STAMP).hasSize(63);
        assertThat(KubernetesNames.isLabelValue(displayName)).isTrue();
    }

    @Test
    void longVolumeNameIsCutTo63Characters() {
        String displayName = ImagePlan.defaultDisplayName("v".repeat(48), NOW);

        assertThat(displayName).isEqualTo("v".repeat(47) + STAMP).hasSize(63);
    }

    static Stream<String> awkwardVolumeNames() {
        return Stream.of(
                "a".repeat(46) + "-" + "b".repeat(206),
                "a".repeat(46) + "." + "b".repeat(206),
                "a".repeat(45) + "--" + "b".repeat(206),
                "a".repeat(45) + ".b" + "c".repeat(205),
                "a-".repeat(126) + "a",
                "a.".repeat(126) + "a",
                "x",
                "x".repeat(253));
    }

    @ParameterizedTest
    @MethodSource("awkwardVolumeNames")
    void defaultDisplayNameIsAValidLabelValueForAnyVolumeName(String volumeName) {
        assertThat(KubernetesNames.isDns1123Subdomain(volumeName)).as("test input").isTrue();

        String displayName = ImagePlan.defaultDisplayName(volumeName, NOW);

        assertThat(displayName).hasSizeLessThanOrEqualTo(63).endsWith(STAMP);
        assertThat(KubernetesNames.isLabelValue(displayName)).as(displayName).isTrue();
        String base = displayName.substring(0, displayName.length() - STAMP.length());
        assertThat(volumeName).startsWith(base);
        assertThat(base).isNotEmpty().matches(".*[a-z0-9]");
    }

    @Test
    void cutEndingInDashOrDotIsTrimmed() {
        assertThat(ImagePlan.defaultDisplayName("a".repeat(46) + "-" + "b".repeat(206), NOW))
                .isEqualTo("a".repeat(46) + STAMP);
        assertThat(ImagePlan.defaultDisplayName("a".repeat(45) + "--" + "b".repeat(206), NOW))
                .isEqualTo("a".repeat(45) + STAMP);
    }

    @Test
    void planTakesDefaultsFromTheVolume() {
        ImagePlan plan = ImagePlan.of(request("req-1", null, null), volume("vm1-disk-0"), NOW);

        assertThat(plan).isEqualTo(new ImagePlan("team-a", ImagePlan.imageName("req-1"), "vm1-disk-0" + STAMP,
                "vm1-disk-0", "longhorn", "req-1", ImagePlan.requestHash("req-1"), "alice"));
    }

    @Test
    void explicitDisplayNameAndStorageClassWin() {
        ImagePlan plan = ImagePlan.of(request("req-1", "golden", "fast"), volume("vm1-disk-0"), NOW);

        assertThat(plan.displayName()).isEqualTo("golden");
        assertThat(plan.storageClassName()).isEqualTo("fast");
        assertThat(plan.pvcName()).isEqualTo("vm1-disk-0");
    }

    @Test
    void sameRequestGivesTheSameImageNameAtAnotherTime() {
        ImagePlan first = ImagePlan.of(request("req-1", null, null), volume("d"), NOW);
        ImagePlan later = ImagePlan.of(request("req-1", null, null), volume("d"), NOW.plusSeconds(3600));

        assertThat(later.name()).isEqualTo(first.name());
        assertThat(later.requestHash()).isEqualTo(first.requestHash());
        assertThat(later.displayName()).isNotEqualTo(first.displayName());
    }
}
