package dev.vmexportguard.cluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.HashMap;
import java.util.Map;
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

    private final KubernetesClient client;
    private final ClusterCalls calls;

    public VmPower(KubernetesClient client, ClusterCalls calls) {
        this.client = client;
        this.calls = calls;
    }

    /** Graceful unless {@code gracePeriodSeconds} says otherwise; a VM that is not running is fine. */
    public void stop(String namespace, String vm, Integer gracePeriodSeconds) {
        String body = gracePeriodSeconds == null ? "{}" : "{\"gracePeriod\":" + gracePeriodSeconds + "}";
        put(namespace, vm, "stop", body, "VM is not running");
    }

    /**
     * Puts a stopped VM back in the run strategy it had: for Always and Once (which the stop subresource turned
     * into Halted) by setting it again, for the others through the start subresource.
     */
    public void restore(String namespace, String vm, String runStrategy) {
        if ("Always".equals(runStrategy) || "Once".equals(runStrategy)) {
            calls.run(new ClusterOperation("patch", "virtualmachines.kubevirt.io", namespace), () ->
                    client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                            .withName(vm).edit(current -> {
                                Map<String, Object> spec = new HashMap<>(current.get("spec"));
                                spec.remove("running");
                                spec.put("runStrategy", runStrategy);
                                current.setAdditionalProperty("spec", spec);
                                return current;
                            }));
            return;
        }
        put(namespace, vm, "start", "{}", "VM is already running");
    }

    private void put(String namespace, String vm, String action, String body, String harmlessConflict) {
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
            if (code / 100 == 2 || (code == 409 && answer.contains(harmlessConflict))) {
                return null;
            }
            throw new KubernetesClientException(answer.isBlank() ? "HTTP " + code : answer, code, null);
        });
    }
}
