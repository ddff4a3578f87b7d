package dev.vmexportguard.support;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.utils.ResponseProvider;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Plays the controllers the test API server does not have: Harvester's image controller (progress, import,
 * retries that give up) and KubeVirt starting a VM. It writes what those controllers write, nothing more.
 */
public final class HarvesterSimulator {
    private static final ScheduledExecutorService KUBEVIRT = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "kubevirt-simulator");
        t.setDaemon(true);
        return t;
    });
    private final HarvesterCluster cluster;
    private final List<String> subresourceCalls = new CopyOnWriteArrayList<>();

    public HarvesterSimulator(KubernetesClient client) {
        this.cluster = new HarvesterCluster(client);
    }

    /**
     * How KubeVirt answers the stop and start subresources of one VM. {@code STOPS_LATE}: as KubeVirt does, the stop
     * turns Always and Once into Halted at once and the VM shows Stopping until, after the delay, it is Stopped; a
     * start then makes it Running within a moment.
     */
    public enum Power { WORKS, STOP_NEVER_COMPLETES, START_FAILS, STOPS_LATE }

    private static final Duration QUICK_START = Duration.ofMillis(100);

    /**
     * Serves {@code PUT .../virtualmachines/{vm}/stop} and {@code /start} like virt-api and virt-controller: a stop
     * turns Always/Once into Halted, and after {@code delay} the VMI and launcher pod are gone and the VM shows
     * Stopped; a start makes it Running again.
     */
    public void servePower(KubernetesServer server, String ns, String vm, Duration delay, Power power) {
        String base = "/apis/subresources.kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm;
        Duration startDelay = power == Power.STOPS_LATE ? QUICK_START : delay;
        server.expect().put().withPath(base + "/stop").andReply(202, request -> {
            subresourceCalls.add(vm + " stop " + request.getUtf8Body());
            if (power == Power.STOPS_LATE) {
                KUBEVIRT.execute(() -> stopping(ns, vm));
            }
            if (power != Power.STOP_NEVER_COMPLETES) {
                KUBEVIRT.schedule(() -> stopped(ns, vm), delay.toMillis(), TimeUnit.MILLISECONDS);
            }
            return "";
        }).always();
        server.expect().put().withPath(base + "/start").andReply(new ResponseProvider<>() {
            private Headers headers = new Headers.Builder().build();

            @Override
            public Object getBody(RecordedRequest request) {
                subresourceCalls.add(vm + " start " + request.getUtf8Body());
                if (power == Power.START_FAILS) {
                    return "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"virt-api: cannot reach the VM's node\",\"code\":500}";
                }
                KUBEVIRT.schedule(() -> running(ns, vm), startDelay.toMillis(), TimeUnit.MILLISECONDS);
                return "";
            }

            @Override
            public int getStatusCode(RecordedRequest request) {
                return power == Power.START_FAILS ? 500 : 202;
            }

            @Override
            public Headers getHeaders() {
                return headers;
            }

            @Override
            public void setHeaders(Headers headers) {
                this.headers = headers;
            }
        }).always();
    }

    /** {@code "<vm> stop <body>"}, {@code "<vm> start <body>"}, in the order KubeVirt received them. */
    public List<String> subresourceCalls() {
        return subresourceCalls;
    }

    /** A running VM: RerunOnFailure (Harvester's default) or the given strategy, a Running VMI and launcher pod. */
    public void runningVm(String ns, String vm, String runStrategy, String claim) {
        cluster.vm(ns, vm, "Running", claim);
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> spec = new LinkedHashMap<>(current.get("spec"));
        spec.put("runStrategy", runStrategy);
        current.setAdditionalProperty("spec", spec);
        cluster.vms(ns).resource(current).update();
        cluster.vmi(ns, vm, "Running", claim);
        cluster.launcherPod(ns, vm, "Running", claim);
    }

    /** Sets Harvester's {@code harvesterhci.io/vmRunStrategy} annotation on a VM, as Harvester's UI and controller do. */
    public void runStrategyAnnotation(String ns, String vm, String runStrategy) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, String> annotations = current.getMetadata().getAnnotations() == null
                ? new LinkedHashMap<>() : new LinkedHashMap<>(current.getMetadata().getAnnotations());
        annotations.put(HARVESTER_RUN_STRATEGY, runStrategy);
        current.getMetadata().setAnnotations(annotations);
        cluster.vms(ns).resource(current).update();
    }

    private static final String HARVESTER_RUN_STRATEGY = "harvesterhci.io/vmRunStrategy";

    /**
     * Plays, for the VMs of a namespace, what acts on a VM whose run strategy leaves Halted: Harvester's VM webhook
     * (the run strategy becomes the one in {@code harvesterhci.io/vmRunStrategy}, RerunOnFailure without it; the
     * test server has no admission, so this is done right after the change is stored) and KubeVirt's VM controller
     * (a Stopped VM whose strategy runs it is started). Call it before the VMs are created; close it at the end.
     */
    public Watch playVmControllers(String ns) {
        Map<String, String> strategies = new ConcurrentHashMap<>();
        return cluster.vms(ns).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, GenericKubernetesResource vm) {
                if (action != Action.ADDED && action != Action.MODIFIED) {
                    return;
                }
                String name = vm.getMetadata().getName();
                Object strategy = vm.get("spec", "runStrategy");
                String now = strategy instanceof String text ? text : "";
                String before = strategies.put(name, now);
                if (!"Halted".equals(before) || "Halted".equals(now)) {
                    return;
                }
                Map<String, String> annotations = vm.getMetadata().getAnnotations();
                String wanted = annotations == null || annotations.get(HARVESTER_RUN_STRATEGY) == null
                        ? "RerunOnFailure" : annotations.get(HARVESTER_RUN_STRATEGY);
                KUBEVIRT.execute(() -> {
                    try {
                        if (!wanted.equals(now)) {
                            GenericKubernetesResource current = cluster.vms(ns).withName(name).get();
                            Map<String, Object> spec = new LinkedHashMap<>(current.get("spec"));
                            spec.put("runStrategy", wanted);
                            current.setAdditionalProperty("spec", spec);
                            cluster.vms(ns).resource(current).update();
                        }
                        if (!"Manual".equals(wanted) && "Stopped".equals(vm.get("status", "printableStatus"))) {
                            KUBEVIRT.schedule(() -> running(ns, name), QUICK_START.toMillis(), TimeUnit.MILLISECONDS);
                        }
                    } catch (RuntimeException e) {
                        throw new IllegalStateException("simulated VM webhook for " + name + " failed", e);
                    }
                });
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
    }

    /** KubeVirt acting on a stop: Always and Once become Halted at once; the VM shows Stopping. */
    private void stopping(String ns, String vm) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> spec = new LinkedHashMap<>(current.get("spec"));
        if ("Always".equals(spec.get("runStrategy")) || "Once".equals(spec.get("runStrategy"))) {
            spec.put("runStrategy", "Halted");
            current.setAdditionalProperty("spec", spec);
            cluster.vms(ns).resource(current).update();
        }
        setVmStatus(ns, vm, "Stopping");
    }

    private void stopped(String ns, String vm) {
        try {
            GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
            Map<String, Object> spec = new LinkedHashMap<>(current.get("spec"));
            if ("Always".equals(spec.get("runStrategy")) || "Once".equals(spec.get("runStrategy"))) {
                spec.put("runStrategy", "Halted");
                current.setAdditionalProperty("spec", spec);
                current = cluster.vms(ns).resource(current).update();
            }
            cluster.vmis(ns).withName(vm).delete();
            cluster.client().pods().inNamespace(ns).withLabel("vm.kubevirt.io/name", vm).delete();
            setVmStatus(ns, vm, "Stopped");
        } catch (RuntimeException e) {
            throw new IllegalStateException("simulated stop of " + vm + " failed", e);
        }
    }

    private void running(String ns, String vm) {
        setVmStatus(ns, vm, "Running");
    }

    private void setVmStatus(String ns, String vm, String printableStatus) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> status = new LinkedHashMap<>(current.get("status"));
        status.put("printableStatus", printableStatus);
        status.put("created", !"Stopped".equals(printableStatus));
        status.put("ready", "Running".equals(printableStatus));
        current.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(current).updateStatus();
    }

    /** Harvester's backup controller: the backup is ready to use. */
    public void backupReady(String ns, String backup) {
        setBackupStatus(ns, backup, Map.of("readyToUse", true, "progress", 100));
    }

    /** Harvester's backup controller: the backup failed. */
    public void backupFails(String ns, String backup, String message) {
        setBackupStatus(ns, backup, Map.of("readyToUse", false, "error", Map.of("message", message)));
    }

    private void setBackupStatus(String ns, String backup, Map<String, Object> status) {
        var backups = cluster.client().genericKubernetesResources(
                dev.vmexportguard.cluster.KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(ns);
        GenericKubernetesResource current = backups.withName(backup).get();
        current.setAdditionalProperty("status", status);
        backups.resource(current).update();
    }

    /**
     * One tick of the image controller for every image of the namespace: {@code step} points more, Imported at 100.
     * An image whose display name contains {@code fail} gives up at 50, as after its retries.
     */
    public void advanceImages(String ns, int step) {
        for (GenericKubernetesResource image : cluster.images(ns).list().getItems()) {
            try {
                Map<String, Object> status = image.get("status") == null ? Map.of() : image.get("status");
                int progress = status.get("progress") instanceof Number n ? n.intValue() : 0;
                String name = image.getMetadata().getName();
                Object displayName = image.get("spec", "displayName");
                boolean done = progress >= 100 || "True".equals(condition(status, "RetryLimitExceeded"));
                if (done) {
                    continue;
                }
                int next = Math.min(100, progress + step);
                if (String.valueOf(displayName).contains("fail") && next >= 50) {
                    failAfterRetries(ns, name, "retry attempted 3/3 failed: backing image " + name + " copy failed");
                } else if (next == 100) {
                    complete(ns, name, 10_737_418_240L);
                } else {
                    progress(ns, name, next);
                }
            } catch (RuntimeException e) {
                // the image changed or went away under us: next tick
            }
        }
    }

    /** Harvester's backup controller: every backup of the namespace not ready yet becomes ready. */
    public void readyBackups(String ns) {
        var backups = cluster.client().genericKubernetesResources(
                dev.vmexportguard.cluster.KubernetesResources.VIRTUAL_MACHINE_BACKUP).inNamespace(ns);
        for (GenericKubernetesResource backup : backups.list().getItems()) {
            if (!Boolean.TRUE.equals(backup.get("status", "readyToUse"))) {
                backupReady(ns, backup.getMetadata().getName());
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static String condition(Map<String, Object> status, String type) {
        if (!(status.get("conditions") instanceof List<?> conditions)) {
            return null;
        }
        return conditions.stream().map(c -> (Map<String, Object>) c).filter(c -> type.equals(c.get("type")))
                .map(c -> String.valueOf(c.get("status"))).findFirst().orElse(null);
    }

    /** The image controller copying: Initialized, Imported Unknown, {@code status.progress} at the given value. */
    public void progress(String ns, String image, int progress) {
        setStatus(ns, image, progress, List.of(
                condition("Initialized", "True", "Initialized", ""),
                condition("Imported", "Unknown", "Importing", "")), Map.of());
    }

    /** The image is ready: Imported True, progress 100, sizes set. */
    public void complete(String ns, String image, long size) {
        setStatus(ns, image, 100, List.of(
                condition("Initialized", "True", "Initialized", ""),
                condition("Imported", "True", "Imported", ""),
                condition("RetryLimitExceeded", "False", "", "")),
                Map.of("size", size, "virtualSize", size, "storageClassName", "lh-" + image));
    }

    /** The controller gave up after its retries. */
    public void failAfterRetries(String ns, String image, String message) {
        setStatus(ns, image, 47, List.of(
                condition("Initialized", "True", "Initialized", ""),
                condition("Imported", "False", "ImportFailed", message),
                condition("RetryLimitExceeded", "True", "RetryLimitExceeded", message)), Map.of("failed", 3));
    }

    public void delete(String ns, String image) {
        cluster.images(ns).withName(image).delete();
    }

    /** KubeVirt starting a VM: a VMI is scheduled and the VM shows Starting. */
    public void startVm(String ns, String vm, String... claims) {
        cluster.vmi(ns, vm, "Scheduling", claims);
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> status = new LinkedHashMap<>(current.get("status"));
        status.put("printableStatus", "Starting");
        status.put("created", true);
        current.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(current).updateStatus();
    }

    private void setStatus(String ns, String image, int progress, List<Map<String, Object>> conditions,
                           Map<String, Object> extra) {
        GenericKubernetesResource current = cluster.images(ns).withName(image).get();
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("progress", progress);
        status.put("conditions", new ArrayList<>(conditions));
        status.putAll(extra);
        current.setAdditionalProperty("status", status);
        cluster.images(ns).resource(current).update();
    }

    private static Map<String, Object> condition(String type, String status, String reason, String message) {
        String now = Instant.now().toString();
        return Map.of("type", type, "status", status, "reason", reason, "message", message,
                "lastUpdateTime", now, "lastTransitionTime", now);
    }
}
