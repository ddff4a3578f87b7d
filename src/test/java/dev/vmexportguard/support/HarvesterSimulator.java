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
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
     * An image whose display name contains {@code fail} fails each attempt at 50: Harvester tries it again (the
     * next tick), up to its {@code spec.retry}, then gives up.
     */
    public void advanceImages(String ns, int step) {
        for (GenericKubernetesResource image : cluster.images(ns).list().getItems()) {
            try {
                String name = image.getMetadata().getName();
                Map<String, Object> status = statusOf(image);
                if ("True".equals(conditionStatus(status, "Imported"))
                        || "True".equals(conditionStatus(status, "RetryLimitExceeded"))) {
                    continue;
                }
                if (retrying.remove(ns + "/" + name)) {
                    writeImageStatus(ns, name, (s, spec) -> initialized(s, name));
                    continue;
                }
                int progress = status.get("progress") instanceof Number n ? n.intValue() : 0;
                int next = Math.min(100, progress + step);
                if (String.valueOf(image.get("spec", "displayName")).contains("fail") && next >= 50) {
                    importFails(ns, name, "backing image " + name + " copy failed", next);
                    if (!"True".equals(conditionStatus(statusOf(cluster.images(ns).withName(name).get()),
                            "RetryLimitExceeded"))) {
                        retrying.add(ns + "/" + name);
                    }
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

    // --- Harvester's image controller (pkg/image/common/operator.go), writing through wrangler's condition helpers ---

    /** Images whose last attempt failed within their retries: the next tick of {@link #advanceImages} starts again. */
    private final Set<String> retrying = ConcurrentHashMap.newKeySet();

    /**
     * The image controller copying: {@code status.progress} at the given value (Harvester shows 100 as 99 until the
     * image is ready), {@code Imported} Unknown with reason Importing; the image is initialized first if it is not.
     */
    public void progress(String ns, String image, int progress) {
        writeImageStatus(ns, image, (status, spec) -> {
            initializedOnce(status, image);
            importing(status, "", progress);
        });
    }

    /** The image is ready: Imported True (reason Imported), progress 100, sizes set; RetryLimitExceeded False. */
    public void complete(String ns, String image, long size) {
        writeImageStatus(ns, image, (status, spec) -> {
            initializedOnce(status, image);
            imported(status, "", 100, size, size);
        });
    }

    /**
     * One attempt failed (the backing image failed with {@code cause}) at {@code progress}, as Harvester's
     * {@code FailImported} writes it: {@code status.failed} counted, {@code status.progress} back to the backing
     * image's, and, within {@code spec.retry}, RetryLimitExceeded False with the message ({@code failed due to
     * error: ...}, then {@code retry attempted n/N failed due to error: ...}) while Imported stays as it was; past
     * it, RetryLimitExceeded True and Imported False, both with the message.
     */
    public void importFails(String ns, String image, String cause, int progress) {
        writeImageStatus(ns, image, (status, spec) -> {
            initializedOnce(status, image);
            failImported(status, spec, cause, progress);
        });
    }

    /** Harvester tries a failed image again: the backing image made anew, progress from 0, Imported Unknown. */
    public void retry(String ns, String image) {
        retrying.remove(ns + "/" + image);
        writeImageStatus(ns, image, (status, spec) -> initialized(status, image));
    }

    /**
     * The controller gave up: every attempt failed with {@code cause} (the last at 47) until {@code spec.retry}
     * was exceeded; its message is {@code retry attempted N/N failed due to error: <cause>}.
     */
    public void failAfterRetries(String ns, String image, String cause) {
        writeImageStatus(ns, image, (status, spec) -> {
            initializedOnce(status, image);
            do {
                failImported(status, spec, cause, 47);
                if (!"True".equals(conditionStatus(status, "RetryLimitExceeded"))) {
                    initialized(status, image);
                    importing(status, "", 30);
                }
            } while (!"True".equals(conditionStatus(status, "RetryLimitExceeded")));
        });
    }

    /** The time of the image's condition as written ({@code lastUpdateTime}), or null. */
    public Instant conditionTime(String ns, String image, String type) {
        Map<String, Object> condition = findCondition(conditionsOf(statusOf(cluster.images(ns).withName(image).get())), type);
        return condition == null || !(condition.get("lastUpdateTime") instanceof String t) ? null : Instant.parse(t);
    }

    /** {@code Initialized}: the backing image and the storage class exist; Imported Unknown, reason Importing. */
    private static void initialized(Map<String, Object> status, String image) {
        status.put("storageClassName", "lh-" + image);
        putOrOmit(status, "progress", 0);
        List<Map<String, Object>> conditions = conditionsOf(status);
        setConditionStatus(conditions, "Imported", "Unknown");
        setReason(conditions, "Imported", "Importing");
        lastUpdated(conditions, "Imported", goNow());
        setConditionStatus(conditions, "Initialized", "True");
        setMessage(conditions, "Initialized", "");
        setReason(conditions, "Initialized", "Initialized");
        lastUpdated(conditions, "Initialized", goNow());
    }

    private static void initializedOnce(Map<String, Object> status, String image) {
        if (!"True".equals(conditionStatus(status, "Initialized"))) {
            initialized(status, image);
        }
    }

    private static void importing(Map<String, Object> status, String message, int progress) {
        putOrOmit(status, "progress", progress == 100 ? 99 : progress);
        List<Map<String, Object>> conditions = conditionsOf(status);
        setConditionStatus(conditions, "Imported", "Unknown");
        setReason(conditions, "Imported", "Importing");
        setMessage(conditions, "Imported", message);
    }

    private static void imported(Map<String, Object> status, String message, int progress, long size, long virtualSize) {
        putOrOmit(status, "progress", progress);
        putOrOmit(status, "size", size);
        putOrOmit(status, "virtualSize", virtualSize);
        List<Map<String, Object>> conditions = conditionsOf(status);
        setConditionStatus(conditions, "Imported", "True");
        setReason(conditions, "Imported", "Imported");
        setMessage(conditions, "Imported", message);
        setConditionStatus(conditions, "RetryLimitExceeded", "False");
        setReason(conditions, "RetryLimitExceeded", "");
        setMessage(conditions, "RetryLimitExceeded", "");
    }

    private static void failImported(Map<String, Object> status, Map<String, Object> spec, String cause, int progress) {
        int failed = (status.get("failed") instanceof Number n ? n.intValue() : 0) + 1;
        int retry = spec.get("retry") instanceof Number n ? n.intValue() : 3;   // Harvester's webhook's default
        status.put("failed", failed);
        status.put("lastFailedTime", goNow());
        putOrOmit(status, "progress", progress);
        String message = "failed due to error: " + cause;
        if (failed > 1) {
            message = "retry attempted " + (failed - 1) + "/" + retry + " " + message;
        }
        List<Map<String, Object>> conditions = conditionsOf(status);
        if (failed > retry) {
            setConditionStatus(conditions, "RetryLimitExceeded", "True");
            setMessage(conditions, "RetryLimitExceeded", message);
            setConditionStatus(conditions, "Imported", "False");
            setMessage(conditions, "Imported", message);
        } else {
            setConditionStatus(conditions, "RetryLimitExceeded", "False");
            setMessage(conditions, "RetryLimitExceeded", message);
        }
    }

    /** Reads the image, changes a copy of its status as the controller does in memory, and writes it back. */
    private void writeImageStatus(String ns, String image,
                                  java.util.function.BiConsumer<Map<String, Object>, Map<String, Object>> change) {
        GenericKubernetesResource current = cluster.images(ns).withName(image).get();
        Map<String, Object> status = statusOf(current);
        Map<String, Object> spec = current.get("spec") instanceof Map<?, ?> ? current.get("spec") : Map.of();
        change.accept(status, spec);
        current.setAdditionalProperty("status", status);
        cluster.images(ns).resource(current).update();
    }

    /** A deep, changeable copy of the image's status, its conditions included. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> statusOf(GenericKubernetesResource image) {
        Map<String, Object> status = image.get("status") instanceof Map<?, ?> m
                ? new LinkedHashMap<>((Map<String, Object>) m) : new LinkedHashMap<>();
        List<Map<String, Object>> conditions = new ArrayList<>();
        if (status.get("conditions") instanceof List<?> list) {
            for (Object c : list) {
                conditions.add(new LinkedHashMap<>((Map<String, Object>) c));
            }
        }
        status.put("conditions", conditions);
        return status;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> conditionsOf(Map<String, Object> status) {
        return (List<Map<String, Object>>) status.get("conditions");
    }

    private static String conditionStatus(Map<String, Object> status, String type) {
        Map<String, Object> condition = findCondition(conditionsOf(status), type);
        return condition == null ? null : String.valueOf(condition.get("status"));
    }

    private static Map<String, Object> findCondition(List<Map<String, Object>> conditions, String type) {
        return conditions.stream().filter(c -> type.equals(c.get("type"))).findFirst().orElse(null);
    }

    /** wrangler's findOrCreateCond: a new condition has only its type and status Unknown. */
    private static Map<String, Object> condition(List<Map<String, Object>> conditions, String type) {
        Map<String, Object> found = findCondition(conditions, type);
        if (found == null) {
            found = new LinkedHashMap<>();
            found.put("type", type);
            found.put("status", "Unknown");
            conditions.add(found);
        }
        return found;
    }

    /** wrangler's Cond.True/False/Unknown: {@code lastUpdateTime} moves only when the status changes. */
    private static void setConditionStatus(List<Map<String, Object>> conditions, String type, String value) {
        setValue(condition(conditions, type), "status", value);
    }

    /** wrangler's Cond.Message: {@code lastUpdateTime} moves only when the message changes. */
    private static void setMessage(List<Map<String, Object>> conditions, String type, String message) {
        setValue(condition(conditions, type), "message", message);
    }

    /** wrangler's Cond.Reason: never moves {@code lastUpdateTime}. */
    private static void setReason(List<Map<String, Object>> conditions, String type, String reason) {
        putOrOmit(condition(conditions, type), "reason", reason);
    }

    /** wrangler's Cond.LastUpdated: sets {@code lastUpdateTime} as given. */
    private static void lastUpdated(List<Map<String, Object>> conditions, String type, String time) {
        condition(conditions, type).put("lastUpdateTime", time);
    }

    /** wrangler's setValue: a changed value touches {@code lastUpdateTime}; {@code lastTransitionTime} never. */
    private static void setValue(Map<String, Object> condition, String field, String value) {
        if (!value.equals(condition.getOrDefault(field, ""))) {
            putOrOmit(condition, field, value);
            condition.put("lastUpdateTime", goNow());
        }
    }

    /** Go's {@code omitempty}: an empty string or a zero number is not written. */
    private static void putOrOmit(Map<String, Object> map, String key, Object value) {
        if ("".equals(value) || (value instanceof Number n && n.longValue() == 0)) {
            map.remove(key);
        } else {
            map.put(key, value);
        }
    }

    /** {@code time.Now().UTC().Format(time.RFC3339)}: whole seconds, UTC. */
    private static String goNow() {
        return DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(ChronoUnit.SECONDS));
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
}
