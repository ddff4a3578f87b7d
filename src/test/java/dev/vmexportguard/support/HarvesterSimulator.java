package dev.vmexportguard.support;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
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
 * retries that give up) and KubeVirt's virt-api and virt-controller stopping and starting VMs. It writes what those controllers write, nothing more.
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
     * How KubeVirt acts on one VM. {@code WORKS} and {@code STOPS_LATE}: a stop is carried out over the delay (the VM
     * shows Stopping meanwhile); a start makes it Running within the delay ({@code WORKS}) or a moment
     * ({@code STOPS_LATE}). {@code STOP_NEVER_COMPLETES}: virt-api accepts the stop, but virt-controller never acts
     * on it (the VM keeps running). {@code START_FAILS}: virt-api answers the start with a 500.
     */
    public enum Power { WORKS, STOP_NEVER_COMPLETES, START_FAILS, STOPS_LATE }

    private static final Duration QUICK_START = Duration.ofMillis(100);
    /** How long a virt-launcher pod still terminates once its VMI has ended. */
    private static final Duration LAUNCHER_LINGERS = Duration.ofMillis(400);
    private static final List<String> VMI_FINALIZERS = List.of("kubevirt.io/virtualMachineControllerFinalize",
            "kubevirt.io/foregroundDeleteVirtualMachine");
    /**
     * Stands for the kubelet still terminating a pod's containers: the test server deletes an object without
     * finalizers at once, so a pod being deleted carries this one over its grace period.
     */
    private static final String TERMINATING = "simulator.vmexportguard.dev/terminating";
    private static final String CONFLICT = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
            + "\"message\":\"Operation cannot be fulfilled on virtualmachine.kubevirt.io \\\"%s\\\": %s\","
            + "\"reason\":\"Conflict\",\"code\":409}";

    private record Played(Duration stopTakes, Duration startTakes, Power power) {
    }

    private final Map<String, Played> played = new ConcurrentHashMap<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final Set<String> watchedNamespaces = ConcurrentHashMap.newKeySet();
    private final List<Watch> watches = new CopyOnWriteArrayList<>();
    /**
     * The VMs and VMIs as the watches last saw them: the test server answers every request on one thread, so
     * virt-api's answer is made from these, and its changes are written afterwards.
     */
    private final Map<String, GenericKubernetesResource> seenVms = new ConcurrentHashMap<>();
    private final Map<String, GenericKubernetesResource> seenVmis = new ConcurrentHashMap<>();

    /**
     * Serves {@code PUT .../virtualmachines/{vm}/stop} and {@code /start} as virt-api does
     * ({@code pkg/virt-api/rest/lifecycle.go}), and plays virt-controller for the VM from now on
     * ({@code pkg/virt-controller/watch/vm/vm.go}, {@code vmi/lifecycle.go}):
     * <ul>
     * <li>stop: Always and Once become Halted in the call itself; RerunOnFailure and Manual get a stop request in
     * {@code status.stateChangeRequests}, and so does Halted with a shorter grace period; a VM without a live VMI
     * answers 409 {@code VM is not running} (but for Always and Once), Halted with a live VMI and no shorter grace
     * period 409 {@code Halted only supports manual stop requests with a shorter graceperiod}.</li>
     * <li>the controller stops a VMI by deleting it (deletion timestamp, finalizers) and its launcher pod (deletion
     * timestamp, terminating); the VM shows Stopping; after {@code delay} the VMI is Succeeded and the VM Stopped
     * while the launcher pod still terminates; then the pod goes, the VMI's finalizers are removed and nothing is
     * left.</li>
     * <li>start: 409 {@code VM is already running} with a live VMI, {@code <strategy> does not support manual start
     * requests} for Always and Once, {@code RerunOnFailure does not support starting VM from failed state}; Halted
     * becomes Always; RerunOnFailure and Manual get a start request. The controller starts a VM whose strategy
     * wants it running: a VMI (Scheduling, then Running) and a launcher pod (Pending, then Running).</li>
     * <li>RerunOnFailure: a VMI that failed is deleted and the VM started again, with no change to the VM's spec.</li>
     * </ul>
     */
    public void servePower(KubernetesServer server, String ns, String vm, Duration delay, Power power) {
        played.put(ns + "/" + vm, new Played(delay, power == Power.STOPS_LATE ? QUICK_START : delay, power));
        String base = "/apis/subresources.kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + vm;
        server.expect().put().withPath(base + "/stop").andReply(TestApiServer.answer(request -> {
            subresourceCalls.add(vm + " stop " + request.getUtf8Body());
            return stopCall(ns, vm, request.getUtf8Body());
        })).always();
        server.expect().put().withPath(base + "/start").andReply(TestApiServer.answer(request -> {
            subresourceCalls.add(vm + " start " + request.getUtf8Body());
            if (power == Power.START_FAILS) {
                return new TestApiServer.Reply(500, "{\"kind\":\"Status\",\"status\":\"Failure\","
                        + "\"message\":\"virt-api: cannot reach the VM's node\",\"code\":500}");
            }
            return startCall(ns, vm);
        })).always();
        if (watchedNamespaces.add(ns)) {
            watches.add(cluster.vms(ns).watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, GenericKubernetesResource changed) {
                    seen(seenVms, ns, action, changed);
                    if (action == Action.ADDED || action == Action.MODIFIED) {
                        later(ns, changed.getMetadata().getName(), Duration.ZERO);
                    }
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            }));
            watches.add(cluster.vmis(ns).watch(new Watcher<>() {
                @Override
                public void eventReceived(Action action, GenericKubernetesResource changed) {
                    seen(seenVmis, ns, action, changed);
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            }));
        }
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        if (current != null) {
            seenVms.put(ns + "/" + vm, current);
        }
        GenericKubernetesResource vmi = cluster.vmis(ns).withName(vm).get();
        if (vmi != null) {
            seenVmis.put(ns + "/" + vm, vmi);
        }
        later(ns, vm, Duration.ZERO);
    }

    private static void seen(Map<String, GenericKubernetesResource> cache, String ns, Watcher.Action action,
                             GenericKubernetesResource changed) {
        String key = ns + "/" + changed.getMetadata().getName();
        if (action == Watcher.Action.DELETED) {
            cache.remove(key);
        } else if (action == Watcher.Action.ADDED || action == Watcher.Action.MODIFIED) {
            cache.put(key, changed);
        }
    }

    /** Stops playing the controllers: the watches this simulator opened are closed. */
    public void close() {
        watches.forEach(Watch::close);
        watches.clear();
        played.clear();
    }

    private TestApiServer.Reply stopCall(String ns, String vm, String body) {
        GenericKubernetesResource current = seenVms.get(ns + "/" + vm);
        if (current == null) {
            return new TestApiServer.Reply(404, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404}");
        }
        String strategy = strategyOf(current);
        GenericKubernetesResource vmi = seenVmis.get(ns + "/" + vm);
        boolean live = vmi != null && !isFinal(vmi);
        Long gracePeriod = null;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"gracePeriod\"\\s*:\\s*(\\d+)").matcher(body);
        if (m.find()) {
            gracePeriod = Long.parseLong(m.group(1));
        }
        Object vmiGrace = live ? vmi.get("spec", "terminationGracePeriodSeconds") : null;
        Runnable change;
        switch (strategy) {
            case "Halted" -> {
                if (!live) {
                    return conflict(vm, "VM is not running");
                }
                long old = vmiGrace instanceof Number n ? n.longValue() : 0;
                if (gracePeriod == null || (vmiGrace != null && gracePeriod >= old)) {
                    return conflict(vm, "Halted only supports manual stop requests with a shorter graceperiod");
                }
                change = () -> stopRequest(ns, vm, vmi.getMetadata().getUid());
            }
            case "RerunOnFailure", "Manual" -> {
                if (!live) {
                    return conflict(vm, "VM is not running");
                }
                change = () -> stopRequest(ns, vm, vmi.getMetadata().getUid());
            }
            default -> change = () -> setRunStrategy(ns, vm, "Halted");
        }
        Long grace = gracePeriod;
        KUBEVIRT.execute(() -> guarded(vm, () -> {
            GenericKubernetesResource stopping = cluster.vmis(ns).withName(vm).get();
            if (grace != null && stopping != null && !isFinal(stopping)) {
                Map<String, Object> spec = new LinkedHashMap<>(stopping.get("spec"));
                spec.put("terminationGracePeriodSeconds", grace);
                stopping.setAdditionalProperty("spec", spec);
                cluster.vmis(ns).resource(stopping).update();
            }
            change.run();
            later(ns, vm, Duration.ZERO);
        }));
        return new TestApiServer.Reply(202, "");
    }

    private TestApiServer.Reply startCall(String ns, String vm) {
        GenericKubernetesResource current = seenVms.get(ns + "/" + vm);
        if (current == null) {
            return new TestApiServer.Reply(404, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404}");
        }
        GenericKubernetesResource vmi = seenVmis.get(ns + "/" + vm);
        String phase = vmi == null ? null : phaseOf(vmi);
        if (vmi != null && !isFinal(vmi) && !"Unknown".equals(phase) && !"".equals(phase)) {
            return conflict(vm, "VM is already running");
        }
        String strategy = strategyOf(current);
        Runnable change;
        switch (strategy) {
            case "Halted" -> change = () -> setRunStrategy(ns, vm, "Always");
            case "RerunOnFailure", "Manual" -> {
                if ("RerunOnFailure".equals(strategy) && "Failed".equals(phase)) {
                    return conflict(vm, "RerunOnFailure does not support starting VM from failed state");
                }
                change = () -> stateChangeRequest(ns, vm, "Start");
            }
            default -> {
                return conflict(vm, strategy + " does not support manual start requests");
            }
        }
        KUBEVIRT.execute(() -> guarded(vm, () -> {
            change.run();
            later(ns, vm, Duration.ZERO);
        }));
        return new TestApiServer.Reply(202, "");
    }

    private static TestApiServer.Reply conflict(String vm, String message) {
        return new TestApiServer.Reply(409, String.format(CONFLICT, vm, message));
    }

    private void later(String ns, String vm, Duration after) {
        KUBEVIRT.schedule(() -> {
            try {
                reconcile(ns, vm);
            } catch (RuntimeException e) {
                // the VM or VMI changed under us: the change brings another round
            }
        }, after.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One round of virt-controller for a VM it plays: what its run strategy asks, then its printableStatus. */
    private synchronized void reconcile(String ns, String vm) {
        Played how = played.get(ns + "/" + vm);
        if (how == null) {
            return;
        }
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        if (current == null) {
            return;
        }
        String strategy = strategyOf(current);
        GenericKubernetesResource vmi = cluster.vmis(ns).withName(vm).get();
        List<String> requests = requests(current);
        if (vmi != null) {
            boolean deleting = vmi.getMetadata().getDeletionTimestamp() != null;
            boolean stopAsked = stopRequestFor(current, vmi);
            boolean stop = switch (strategy) {
                case "Always", "RerunOnFailure" -> stopAsked || isFinal(vmi);
                case "Manual" -> stopAsked;
                case "Halted" -> true;
                default -> false;
            };
            if (stop && !deleting && how.power() != Power.STOP_NEVER_COMPLETES) {
                stopVmi(ns, vm, vmi, how);
                if ("RerunOnFailure".equals(strategy) && "Failed".equals(phaseOf(vmi))) {
                    stateChangeRequest(ns, vm, "Start");
                }
            }
        } else {
            boolean startAsked = requests.contains("Start");
            switch (strategy) {
                case "Always", "Once" -> startVmi(ns, vm, how.startTakes());
                case "RerunOnFailure" -> {
                    // "when coming here from a different RunStrategy we have to start the VM"
                    if (startAsked || !strategy.equals(current.get("status", "runStrategy"))) {
                        startVmi(ns, vm, how.startTakes());
                    }
                }
                case "Manual" -> {
                    if (startAsked) {
                        startVmi(ns, vm, how.startTakes());
                    }
                }
                case "Halted" -> {
                    if (startAsked) {
                        setRunStrategy(ns, vm, "Always");
                    }
                }
                default -> {
                }
            }
        }
        printableStatus(ns, vm);
    }

    /** The controller's stop: the VMI and its launcher pods are deleted; they end over {@code how.stopTakes()}. */
    private void stopVmi(String ns, String vm, GenericKubernetesResource vmi, Played how) {
        String key = "stop " + ns + "/" + vm + "/" + vmi.getMetadata().getUid();
        if (!inFlight.add(key)) {
            return;
        }
        deleteWithFinalizers(cluster.vmis(ns), vmi, VMI_FINALIZERS);
        for (Pod pod : launcherPods(ns, vm)) {
            if (pod.getMetadata().getDeletionTimestamp() == null) {
                pod.getMetadata().setFinalizers(List.of(TERMINATING));
                cluster.client().pods().inNamespace(ns).resource(pod).update();
                cluster.client().pods().inNamespace(ns).withName(pod.getMetadata().getName()).delete();
            }
        }
        KUBEVIRT.schedule(() -> guarded(vm, () -> {
            GenericKubernetesResource ending = cluster.vmis(ns).withName(vm).get();
            if (ending != null && !isFinal(ending)) {
                setVmiPhase(ns, ending, "Succeeded");
            }
            later(ns, vm, Duration.ZERO);
        }), how.stopTakes().toMillis(), TimeUnit.MILLISECONDS);
        KUBEVIRT.schedule(() -> guarded(vm, () -> {
            for (Pod pod : launcherPods(ns, vm)) {
                if (pod.getMetadata().getDeletionTimestamp() != null) {
                    pod.getMetadata().setFinalizers(List.of());
                    cluster.client().pods().inNamespace(ns).resource(pod).update();
                }
            }
            GenericKubernetesResource gone = cluster.vmis(ns).withName(vm).get();
            if (gone != null && gone.getMetadata().getDeletionTimestamp() != null) {
                gone.getMetadata().setFinalizers(List.of());
                cluster.vmis(ns).resource(gone).update();
            }
            dropRequest(ns, vm, "Stop");
            inFlight.remove(key);
            later(ns, vm, Duration.ZERO);
        }), how.stopTakes().plus(LAUNCHER_LINGERS).toMillis(), TimeUnit.MILLISECONDS);
    }

    private void startVmi(String ns, String vm, Duration takes) {
        dropRequest(ns, vm, "Start");
        String[] claims = claimsOf(cluster.vms(ns).withName(vm).get());
        GenericKubernetesResource vmi = cluster.vmi(ns, vm, "Scheduling", claims);
        vmi.getMetadata().setFinalizers(VMI_FINALIZERS);
        cluster.vmis(ns).resource(vmi).update();
        String pod = "virt-launcher-" + vm + "-" + java.util.UUID.randomUUID().toString().substring(0, 5);
        cluster.pod(ns, pod, "Pending", Map.of("kubevirt.io", "virt-launcher", "vm.kubevirt.io/name", vm), claims);
        KUBEVIRT.schedule(() -> guarded(vm, () -> running(ns, vm)), takes.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The VMI and launcher pod come up: Running. */
    private void running(String ns, String vm) {
        GenericKubernetesResource vmi = cluster.vmis(ns).withName(vm).get();
        if (vmi != null && vmi.getMetadata().getDeletionTimestamp() == null && !isFinal(vmi)) {
            setVmiPhase(ns, vmi, "Running");
        }
        for (Pod pod : launcherPods(ns, vm)) {
            if (pod.getMetadata().getDeletionTimestamp() == null && "Pending".equals(pod.getStatus().getPhase())) {
                pod.getStatus().setPhase("Running");
                cluster.client().pods().inNamespace(ns).resource(pod).updateStatus();
            }
        }
        if (played.containsKey(ns + "/" + vm)) {
            later(ns, vm, Duration.ZERO);
        } else {
            printableStatus(ns, vm);
        }
    }

    /**
     * KubeVirt starting a VM it is not asked about through {@link #servePower} (someone else started it): a VMI
     * (Scheduling) and a launcher pod (Pending) at once, the VM Starting; Running a moment later.
     */
    public void startVm(String ns, String vm, String... claims) {
        GenericKubernetesResource vmi = cluster.vmi(ns, vm, "Scheduling", claims);
        vmi.getMetadata().setFinalizers(VMI_FINALIZERS);
        cluster.vmis(ns).resource(vmi).update();
        cluster.pod(ns, "virt-launcher-" + vm + "-" + java.util.UUID.randomUUID().toString().substring(0, 5),
                "Pending", Map.of("kubevirt.io", "virt-launcher", "vm.kubevirt.io/name", vm), claims);
        printableStatus(ns, vm);
        KUBEVIRT.schedule(() -> guarded(vm, () -> running(ns, vm)), QUICK_START.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * The VM's guest crashed: its VMI and launcher pod end Failed. For a VM played through {@link #servePower},
     * virt-controller then acts on its run strategy (RerunOnFailure and Always: the VMI is deleted and the VM started
     * again, without any change to the VM).
     */
    public void vmiFails(String ns, String vm) {
        synchronized (this) {
            GenericKubernetesResource vmi = cluster.vmis(ns).withName(vm).get();
            setVmiPhase(ns, vmi, "Failed");
            for (Pod pod : launcherPods(ns, vm)) {
                pod.getStatus().setPhase("Failed");
                cluster.client().pods().inNamespace(ns).resource(pod).updateStatus();
            }
        }
        later(ns, vm, Duration.ZERO);
    }

    /**
     * virt-controller's own start request on a VM's status ({@code status.stateChangeRequests}), as it adds when a
     * RerunOnFailure VM's VMI failed: the controller starts the VM, with no change to the VM's spec.
     */
    public void controllerRestarts(String ns, String vm) {
        synchronized (this) {
            stateChangeRequest(ns, vm, "Start");
        }
        later(ns, vm, Duration.ZERO);
    }

    private void guarded(String vm, Runnable step) {
        try {
            synchronized (this) {
                step.run();
            }
        } catch (RuntimeException e) {
            throw new IllegalStateException("simulated KubeVirt for " + vm + " failed", e);
        }
    }

    /** virt-controller's printableStatus ({@code setPrintableStatus}), {@code created} and {@code ready}. */
    private void printableStatus(String ns, String vm) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        if (current == null) {
            return;
        }
        GenericKubernetesResource vmi = cluster.vmis(ns).withName(vm).get();
        String phase = vmi == null ? null : phaseOf(vmi);
        String printable;
        if (vmi != null && !isFinal(vmi) && vmi.getMetadata().getDeletionTimestamp() != null) {
            printable = "Stopping";
        } else if ("Running".equals(phase)) {
            printable = "Running";
        } else if (vmi != null && !isFinal(vmi)) {
            printable = "Starting";
        } else {
            printable = "Stopped";
        }
        Map<String, Object> status = current.get("status") == null ? new LinkedHashMap<>()
                : new LinkedHashMap<>(current.get("status"));
        Map<String, Object> wanted = new LinkedHashMap<>(status);
        wanted.put("printableStatus", printable);
        // the strategy this round acted on: a later change of spec.runStrategy is told from it
        wanted.put("runStrategy", strategyOf(current));
        wanted.put("created", vmi != null);
        wanted.put("ready", "Running".equals(printable));
        if (!wanted.equals(status)) {
            current.setAdditionalProperty("status", wanted);
            cluster.vms(ns).resource(current).updateStatus();
        }
    }

    private void deleteWithFinalizers(NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> objects, GenericKubernetesResource object, List<String> finalizers) {
        if (object.getMetadata().getFinalizers() == null || object.getMetadata().getFinalizers().isEmpty()) {
            object.getMetadata().setFinalizers(finalizers);
            object = objects.resource(object).update();
        }
        objects.withName(object.getMetadata().getName()).delete();
    }

    private List<Pod> launcherPods(String ns, String vm) {
        return cluster.client().pods().inNamespace(ns).withLabel("vm.kubevirt.io/name", vm).list().getItems();
    }

    private void setVmiPhase(String ns, GenericKubernetesResource vmi, String phase) {
        Map<String, Object> status = vmi.get("status") == null ? new LinkedHashMap<>()
                : new LinkedHashMap<>(vmi.get("status"));
        status.put("phase", phase);
        vmi.setAdditionalProperty("status", status);
        cluster.vmis(ns).resource(vmi).updateStatus();
    }

    @SuppressWarnings("unchecked")
    private static List<String> requests(GenericKubernetesResource vm) {
        Object requests = vm.get("status", "stateChangeRequests");
        if (!(requests instanceof List<?> list)) {
            return List.of();
        }
        return list.stream().map(r -> String.valueOf(((Map<String, Object>) r).get("action"))).toList();
    }

    /**
     * virt-controller's {@code hasStopRequestForVMI}: the first state change request is a Stop naming this VMI's UID
     * (a stop request left from an earlier VMI does not stop a new one).
     */
    @SuppressWarnings("unchecked")
    private static boolean stopRequestFor(GenericKubernetesResource vm, GenericKubernetesResource vmi) {
        if (!(vm.get("status", "stateChangeRequests") instanceof List<?> list) || list.isEmpty()) {
            return false;
        }
        Map<String, Object> first = (Map<String, Object>) list.get(0);
        return "Stop".equals(first.get("action")) && first.get("uid") != null
                && first.get("uid").equals(vmi.getMetadata().getUid());
    }

    /** virt-api's stop: a Stop request naming the UID of the VMI it means, in place of what is there. */
    private void stopRequest(String ns, String vm, String vmiUid) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> status = current.get("status") == null ? new LinkedHashMap<>()
                : new LinkedHashMap<>(current.get("status"));
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("action", "Stop");
        request.put("uid", vmiUid);
        status.put("stateChangeRequests", new ArrayList<>(List.of(request)));
        current.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(current).updateStatus();
    }

    /** A start request on the VM's status, after those already there (virt-api's start, or virt-controller's own). */
    private void stateChangeRequest(String ns, String vm, String action) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> status = current.get("status") == null ? new LinkedHashMap<>()
                : new LinkedHashMap<>(current.get("status"));
        List<Object> requests = new ArrayList<>();
        if (status.get("stateChangeRequests") instanceof List<?> list) {
            requests.addAll(list);
        }
        requests.add(Map.of("action", action));
        status.put("stateChangeRequests", requests);
        current.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(current).updateStatus();
    }

    @SuppressWarnings("unchecked")
    private void dropRequest(String ns, String vm, String action) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        if (current == null || !(current.get("status", "stateChangeRequests") instanceof List<?> list)) {
            return;
        }
        List<Object> left = list.stream().filter(r -> !action.equals(((Map<String, Object>) r).get("action")))
                .collect(java.util.stream.Collectors.toList());
        Map<String, Object> status = new LinkedHashMap<>(current.get("status"));
        if (left.isEmpty()) {
            status.remove("stateChangeRequests");
        } else {
            status.put("stateChangeRequests", left);
        }
        current.setAdditionalProperty("status", status);
        cluster.vms(ns).resource(current).updateStatus();
    }

    private void setRunStrategy(String ns, String vm, String strategy) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, Object> spec = new LinkedHashMap<>(current.get("spec"));
        spec.put("runStrategy", strategy);
        current.setAdditionalProperty("spec", spec);
        cluster.vms(ns).resource(current).update();
    }

    private static String strategyOf(GenericKubernetesResource vm) {
        Object strategy = vm.get("spec", "runStrategy");
        if (strategy instanceof String s) {
            return s;
        }
        return Boolean.TRUE.equals(vm.get("spec", "running")) ? "Always" : "Halted";
    }

    private static String phaseOf(GenericKubernetesResource vmi) {
        Object phase = vmi.get("status", "phase");
        return phase instanceof String p ? p : "";
    }

    private static boolean isFinal(GenericKubernetesResource vmi) {
        String phase = phaseOf(vmi);
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    @SuppressWarnings("unchecked")
    private static String[] claimsOf(GenericKubernetesResource vm) {
        Object volumes = vm.get("spec", "template", "spec", "volumes");
        if (!(volumes instanceof List<?> list)) {
            return new String[0];
        }
        return list.stream().map(v -> (Map<String, Object>) v)
                .map(v -> v.get("persistentVolumeClaim") instanceof Map<?, ?> pvc ? (String) pvc.get("claimName") : null)
                .filter(java.util.Objects::nonNull).toArray(String[]::new);
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
        GenericKubernetesResource vmi = cluster.vmi(ns, vm, "Running", claim);
        vmi.getMetadata().setFinalizers(VMI_FINALIZERS);
        cluster.vmis(ns).resource(vmi).update();
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
     * Plays, for the VMs of a namespace, Harvester's VM webhook on a VM whose run strategy leaves Halted: the run
     * strategy becomes the one in {@code harvesterhci.io/vmRunStrategy}, RerunOnFailure without it (the test server
     * has no admission, so this is done right after the change is stored). KubeVirt then starts the VMs it plays
     * ({@link #servePower}) as their strategy asks. Call it before the VMs are created; close it at the end.
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
                if (wanted.equals(now)) {
                    return;
                }
                KUBEVIRT.execute(() -> {
                    try {
                        setRunStrategy(ns, name, wanted);
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
                Object displayName = image.get("spec", "displayName");
                if (String.valueOf(displayName).contains("fail") && next >= 50) {
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
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                // the image changed or went away under us (409, 404): next tick
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
}
