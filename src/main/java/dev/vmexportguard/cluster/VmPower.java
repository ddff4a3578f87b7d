package dev.vmexportguard.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Stops and starts VMs through KubeVirt's subresources ({@code PUT .../virtualmachines/{name}/stop|start}), as
 * {@code virtctl} and Harvester's buttons do.
 */
@ApplicationScoped
public class VmPower {
    private static final String OPERATION_RESOURCE = "virtualmachines/%s (subresources.kubevirt.io)";
    /**
     * Harvester keeps a VM's last running strategy here, and its VM webhook replaces the run strategy of a VM that
     * leaves {@code Halted} by this value (RerunOnFailure when absent).
     */
    public static final String ANNOTATION_RUN_STRATEGY = "harvesterhci.io/vmRunStrategy";
    private static final String HALTED = "Halted";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ATTEMPTS = 3;

    private final KubernetesClient client;
    private final ClusterCalls calls;

    public VmPower(KubernetesClient client, ClusterCalls calls) {
        this.client = client;
        this.calls = calls;
    }

    /**
     * Graceful unless {@code gracePeriodSeconds} says otherwise. Fine too: a VM that is not running (409 {@code VM is
     * not running}), and a VM already being halted by someone else: its strategy is Halted and its VMI still ends,
     * which KubeVirt answers 409 {@code Halted only supports manual stop requests with a shorter graceperiod}
     * (unless the grace period asked is shorter than the VMI's); the guard waits for it to be stopped like any other.
     */
    public void stop(String namespace, String vm, Integer gracePeriodSeconds) {
        String body = gracePeriodSeconds == null ? "{}" : "{\"gracePeriod\":" + gracePeriodSeconds + "}";
        put(namespace, vm, "stop", body, "VM is not running", "only supports manual stop requests with a shorter graceperiod");
    }

    /** The VM and its VMI as they are now; empty when the VM does not exist (any more). */
    public Optional<VmPowerState> state(String namespace, String vm) {
        GenericKubernetesResource current = getVm(namespace, vm);
        if (current == null) {
            return Optional.empty();
        }
        // listed, as the decisions do: the guard's role may list VMIs, not get them
        GenericKubernetesResource vmi = calls.run(
                new ClusterOperation("list", "virtualmachineinstances.kubevirt.io", namespace), () ->
                        client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_INSTANCE)
                                .inNamespace(namespace).list().getItems()).stream()
                .filter(i -> vm.equals(i.getMetadata().getName())).findFirst().orElse(null);
        Object status = current.get("status", "printableStatus");
        Object phase = vmi == null ? null : vmi.get("status", "phase");
        return Optional.of(new VmPowerState(status instanceof String s ? s : null, ClusterReader.runStrategy(current),
                VmLocks.holders(current),
                vmi == null ? null : phase instanceof String p ? p : "",
                vmi == null ? null : ClusterReader.instant(vmi.getMetadata().getCreationTimestamp()),
                vmi != null && vmi.getMetadata().getDeletionTimestamp() != null, ClusterReader.startPending(current),
                current.getMetadata().getResourceVersion()));
    }

    /**
     * Starts a stopped VM again in {@code runStrategy}, the strategy it had before the guard stopped it. A VM whose
     * strategy is {@code Halted} now (KubeVirt's stop turns Always and Once into Halted; Harvester's own stop does so
     * for every strategy) gets its strategy back in one JSON patch that also sets Harvester's
     * {@value #ANNOTATION_RUN_STRATEGY} to it: Harvester's webhook, which gives a VM leaving Halted the strategy of
     * that annotation, then keeps it, and the annotation agrees with the VM. {@code Manual} is then also started (it
     * does not start by itself). Any other VM is started through the start subresource, which leaves its strategy
     * as it is. Returns false when the VM does not exist (any more).
     */
    public boolean restore(String namespace, String vm, String runStrategy) {
        for (int attempt = 1; ; attempt++) {
            GenericKubernetesResource current = getVm(namespace, vm);
            if (current == null) {
                return false;
            }
            if (!HALTED.equals(ClusterReader.runStrategy(current))) {
                start(namespace, vm);
                return true;
            }
            try {
                calls.run(new ClusterOperation("patch", "virtualmachines.kubevirt.io", namespace), () ->
                        client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                                .withName(vm).patch(PatchContext.of(PatchType.JSON), strategyPatch(current, runStrategy)));
            } catch (ClusterAccessException e) {
                // 422: the VM changed since it was read (the test failed); 409: a conflict
                if ((e.status() != 422 && e.status() != 409) || attempt >= MAX_ATTEMPTS) {
                    throw e;
                }
                continue;
            }
            if ("Manual".equals(runStrategy)) {
                start(namespace, vm);
            }
            return true;
        }
    }

    /**
     * The JSON patch that gives a VM, as read, {@code runStrategy} and the annotation with the same value; it tests
     * the resourceVersion read, so that no change made in between is lost.
     */
    static String strategyPatch(GenericKubernetesResource vm, String runStrategy) {
        ArrayNode ops = JSON.createArrayNode();
        ops.addObject().put("op", "test").put("path", "/metadata/resourceVersion")
                .put("value", vm.getMetadata().getResourceVersion());
        if (vm.get("spec", "running") != null) {
            // KubeVirt refuses spec.running beside spec.runStrategy
            ops.addObject().put("op", "remove").put("path", "/spec/running");
        }
        ops.addObject().put("op", "add").put("path", "/spec/runStrategy").put("value", runStrategy);
        Map<String, String> annotations = vm.getMetadata().getAnnotations();
        if (annotations == null) {
            ObjectNode value = ops.addObject().put("op", "add").put("path", "/metadata/annotations").putObject("value");
            value.put(ANNOTATION_RUN_STRATEGY, runStrategy);
        } else {
            ops.addObject().put("op", "add")
                    .put("path", "/metadata/annotations/" + ANNOTATION_RUN_STRATEGY.replace("~", "~0").replace("/", "~1"))
                    .put("value", runStrategy);
        }
        return ops.toString();
    }

    /** A VM already running, or whose strategy runs it by itself (Always, Once), needs no start: fine. */
    private void start(String namespace, String vm) {
        put(namespace, vm, "start", "{}", "VM is already running", "does not support manual start requests");
    }

    private GenericKubernetesResource getVm(String namespace, String vm) {
        return calls.run(new ClusterOperation("get", "virtualmachines.kubevirt.io", namespace), () ->
                client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                        .withName(vm).get());
    }

    private void put(String namespace, String vm, String action, String body, String... harmlessConflicts) {
        ClusterOperation operation = new ClusterOperation("update", String.format(OPERATION_RESOURCE, action), namespace);
        calls.run(operation, () -> {
            String url = client.getMasterUrl().toString().replaceAll("/$", "")
                    + "/apis/subresources.kubevirt.io/v1/namespaces/" + namespace + "/virtualmachines/" + vm + "/" + action;
            HttpRequest request = client.getHttpClient().newHttpRequestBuilder().uri(url)
                    .put("application/json", body).build();
            HttpResponse<String> response;
            try {
                response = client.getHttpClient().sendAsync(request, String.class)
                        .get(client.getConfiguration().getRequestTimeout(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KubernetesClientException("interrupted", e);
            } catch (ExecutionException | TimeoutException e) {
                throw new KubernetesClientException(action + " of " + vm + " got no answer", e);
            }
            int code = response.code();
            String answer = response.body() == null ? "" : response.body();
            if (code / 100 == 2 || (code == 409 && List.of(harmlessConflicts).stream().anyMatch(answer::contains))) {
                return null;
            }
            throw new KubernetesClientException(answer.isBlank() ? "HTTP " + code : answer, code, null);
        });
    }
}
