package dev.vmexportguard.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.cluster.ProjectedCluster.Kind;
import dev.vmexportguard.decision.ClusterSnapshot;
import dev.vmexportguard.decision.ClusterSnapshot.ClaimRef;
import dev.vmexportguard.decision.ClusterSnapshot.ClaimSource;
import dev.vmexportguard.decision.ExportDecider;
import dev.vmexportguard.decision.ExportRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What the watches keep answers a decision exactly as the whole namespace read afresh does: for random namespaces
 * (shared disks, hot-plugged and template claims, bare VMIs, launcher and other pods, finished ones, images with
 * taken names) and random requests, the rules decide the same from {@link ProjectedCluster#scoped} as from the full
 * snapshot; and what is forgotten is forgotten.
 */
class ProjectedClusterTest {
    private static final String NS = "ns";
    private static final Instant NOW = Instant.parse("2026-05-01T10:00:00Z");

    @Test
    void theScopedViewDecidesEveryRequestAsTheWholeNamespaceDoes() {
        Random random = new Random(20261201);
        int compared = 0;
        for (int round = 0; round < 300; round++) {
            ClusterSnapshot full = randomNamespace(random);
            ProjectedCluster projected = new ProjectedCluster();
            load(projected, full);
            // unrelated namespaces do not leak in
            load(projected, new ClusterSnapshot("other", full.volumes(), full.vms(), full.vmis(), full.pods(),
                    full.images(), NOW));
            for (int r = 0; r < 20; r++) {
                ExportRequest request = randomRequest(random, full);
                ClusterSnapshot scoped = projected.scoped(NS, request.volumeName(), request.vmName(), NOW);
                assertThat(ExportDecider.decide(request, scoped, NOW))
                        .as("request %s on %s", request, full)
                        .isEqualTo(ExportDecider.decide(request, full, NOW));
                if (request.volumeName() != null) {
                    assertThat(ExportDecider.admit(NS, request.volumeName(), scoped))
                            .isEqualTo(ExportDecider.admit(NS, request.volumeName(), full));
                    assertThat(ExportDecider.recheck(NS, request.volumeName(), scoped))
                            .isEqualTo(ExportDecider.recheck(NS, request.volumeName(), full));
                }
                compared++;
            }
            assertThat(projected.namespace(NS, NOW)).isEqualTo(full);
        }
        assertThat(compared).isEqualTo(6000);
    }

    @Test
    void aScopedViewHoldsOnlyWhatUsesTheVolume() {
        ProjectedCluster projected = new ProjectedCluster();
        projected.put(Kind.VOLUME, NS, new ClusterSnapshot.Volume("disk", "Bound", "longhorn", "1"));
        projected.put(Kind.VM, NS, vm("web", "disk"));
        for (int i = 0; i < 1000; i++) {
            projected.put(Kind.VOLUME, NS, new ClusterSnapshot.Volume("other-" + i, "Bound", "longhorn", "1"));
            projected.put(Kind.VM, NS, vm("other-" + i, "other-" + i));
            projected.put(Kind.POD, NS, new ClusterSnapshot.Pod("virt-launcher-other-" + i, "Running", "virt-launcher",
                    "other-" + i, Set.of("other-" + i)));
        }
        projected.put(Kind.POD, NS, new ClusterSnapshot.Pod("virt-launcher-web", "Running", "virt-launcher", "web",
                Set.of("disk")));
        // a pod that mounts no claim is not kept at all
        projected.put(Kind.POD, NS, new ClusterSnapshot.Pod("nginx", "Running", null, null, Set.of()));

        ClusterSnapshot scoped = projected.scoped(NS, "disk", null, NOW);
        assertThat(scoped.volumes()).extracting(ClusterSnapshot.Volume::name).containsExactly("disk");
        assertThat(scoped.vms()).extracting(ClusterSnapshot.Vm::name).containsExactly("web");
        assertThat(scoped.pods()).extracting(ClusterSnapshot.Pod::name).containsExactly("virt-launcher-web");
        assertThat(projected.namespace(NS, NOW).pods()).hasSize(1001);

        projected.remove(Kind.POD, NS, "virt-launcher-web");
        projected.put(Kind.VM, NS, vm("web", "elsewhere"));
        ClusterSnapshot after = projected.scoped(NS, "disk", null, NOW);
        assertThat(after.vms()).isEmpty();
        assertThat(after.pods()).isEmpty();
        assertThat(projected.scoped(NS, "elsewhere", null, NOW).vms()).extracting(ClusterSnapshot.Vm::name)
                .containsExactly("web");
        assertThat(projected.scoped("nowhere", "disk", "web", NOW).vms()).isEmpty();
    }

    private static ClusterSnapshot.Vm vm(String name, String claim) {
        return new ClusterSnapshot.Vm(name, "Running", "Always", "1",
                List.of(new ClaimRef(claim, ClaimSource.PERSISTENT_VOLUME_CLAIM, false)));
    }

    private static void load(ProjectedCluster projected, ClusterSnapshot snapshot) {
        String ns = snapshot.namespace();
        snapshot.volumes().forEach(v -> projected.put(Kind.VOLUME, ns, v));
        snapshot.vms().forEach(v -> projected.put(Kind.VM, ns, v));
        snapshot.vmis().forEach(v -> projected.put(Kind.VMI, ns, v));
        snapshot.pods().forEach(p -> projected.put(Kind.POD, ns, p));
        snapshot.images().forEach(i -> projected.put(Kind.IMAGE, ns, i));
    }

    private static final String[] PHASES = {"Running", "Succeeded", "Failed", "Pending", "Scheduled", null};
    private static final String[] STATUSES = {"Running", "Stopped", "Stopping", "Starting", "Migrating", null};
    private static final String[] STRATEGIES = {"Always", "Halted", "Manual", "RerunOnFailure", null};

    private static ClusterSnapshot randomNamespace(Random random) {
        int disks = 1 + random.nextInt(6);
        List<ClusterSnapshot.Volume> volumes = new ArrayList<>();
        for (int d = 0; d < disks; d++) {
            if (random.nextInt(8) > 0) {
                volumes.add(new ClusterSnapshot.Volume("disk-" + d, random.nextInt(6) > 0 ? "Bound" : "Pending",
                        "longhorn", "rv" + random.nextInt(100)));
            }
        }
        List<ClusterSnapshot.Vm> vms = new ArrayList<>();
        List<ClusterSnapshot.Vmi> vmis = new ArrayList<>();
        List<ClusterSnapshot.Pod> pods = new ArrayList<>();
        int machines = random.nextInt(6);
        for (int m = 0; m < machines; m++) {
            String name = "vm-" + m;
            List<ClaimRef> claims = new ArrayList<>();
            int used = random.nextInt(3);
            for (int c = 0; c < used; c++) {
                claims.add(new ClaimRef("disk-" + random.nextInt(disks + 1),
                        ClaimSource.values()[random.nextInt(ClaimSource.values().length)], random.nextInt(5) == 0));
            }
            boolean bare = random.nextInt(6) == 0;
            if (!bare) {
                vms.add(new ClusterSnapshot.Vm(name, pick(random, STATUSES), pick(random, STRATEGIES),
                        "rv" + random.nextInt(100), List.copyOf(claims), random.nextInt(8) == 0));
            }
            Set<String> mounted = new LinkedHashSet<>();
            claims.forEach(c -> mounted.add(c.claimName()));
            if (random.nextInt(8) == 0) {
                mounted.add("disk-" + random.nextInt(disks + 1));
            }
            if (bare || random.nextBoolean()) {
                vmis.add(new ClusterSnapshot.Vmi(name, pick(random, PHASES), "rv" + random.nextInt(100),
                        Set.copyOf(mounted), NOW.minusSeconds(random.nextInt(1000))));
                if (!mounted.isEmpty() && random.nextBoolean()) {
                    pods.add(new ClusterSnapshot.Pod("virt-launcher-" + name + "-" + random.nextInt(100),
                            pick(random, PHASES), "virt-launcher", name, Set.copyOf(mounted),
                            NOW.minusSeconds(random.nextInt(1000))));
                }
            }
        }
        for (int p = random.nextInt(3); p > 0; p--) {
            pods.add(new ClusterSnapshot.Pod("backup-" + p, pick(random, PHASES), null, null,
                    Set.of("disk-" + random.nextInt(disks + 1)), NOW.minusSeconds(random.nextInt(1000))));
        }
        List<ClusterSnapshot.Image> images = new ArrayList<>();
        for (int i = random.nextInt(3); i > 0; i--) {
            images.add(new ClusterSnapshot.Image("image-" + i, random.nextBoolean() ? "taken" : "image-" + i, null));
        }
        return new ClusterSnapshot(NS, sorted(volumes, ClusterSnapshot.Volume::name),
                sorted(vms, ClusterSnapshot.Vm::name), sorted(vmis, ClusterSnapshot.Vmi::name),
                sorted(pods, ClusterSnapshot.Pod::name), sorted(images, ClusterSnapshot.Image::name), NOW);
    }

    private static ExportRequest randomRequest(Random random, ClusterSnapshot full) {
        String vm = random.nextInt(3) == 0 ? null : "vm-" + random.nextInt(6);
        String volume = vm != null && random.nextBoolean() ? null : "disk-" + random.nextInt(7);
        String displayName = random.nextInt(4) == 0 ? "taken" : null;
        return new ExportRequest("request-" + random.nextInt(1000), NS, vm, volume, "alice", displayName, null,
                random.nextBoolean() ? ExportRequest.OnRunning.REJECT : ExportRequest.OnRunning.STOP, false, null,
                null, null, false, null, List.of(), null);
    }

    private static <T> T pick(Random random, T[] values) {
        return values[random.nextInt(values.length)];
    }

    private static <T> List<T> sorted(List<T> values, java.util.function.Function<T, String> name) {
        return values.stream().sorted(Comparator.comparing(name)).toList();
    }
}
