package dev.vmexportguard.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Marks the VMs of an export with the annotation {@value KubernetesResources#ANNOTATION_EXPORT_LOCK}, whose value
 * lists the requests reading their disks (a VM with two disks can be in two exports). The admission policy in
 * {@code k8s/admission} refuses to start a VM that carries it; people and tools see why the VM must stay off.
 */
@ApplicationScoped
public class VmLocks {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ATTEMPTS = 3;

    private final KubernetesClient client;
    private final ClusterCalls calls;

    public VmLocks(KubernetesClient client, ClusterCalls calls) {
        this.client = client;
        this.calls = calls;
    }

    public void lock(String namespace, List<String> vmNames, String requestId) {
        for (String vm : vmNames) {
            edit(namespace, vm, holders -> holders.add(requestId));
        }
    }

    /** Idempotent; a VM deleted in the meantime is skipped. */
    public void unlock(String namespace, List<String> vmNames, String requestId) {
        for (String vm : vmNames) {
            edit(namespace, vm, holders -> holders.remove(requestId));
        }
    }

    /**
     * One read, and a JSON patch of the annotation alone when its holders change. The patch is built as JSON, never
     * by concatenating text, and tests the value it read (or, when the VM had no annotation, its resourceVersion):
     * a VM changed in between is read again, so no other writer's change is lost.
     */
    private void edit(String namespace, String vmName, Consumer<Set<String>> change) {
        for (int attempt = 1; ; attempt++) {
            GenericKubernetesResource vm = get(namespace, vmName);
            if (vm == null) {
                return;
            }
            Set<String> before = holders(vm);
            Set<String> after = new LinkedHashSet<>(before);
            change.accept(after);
            if (after.equals(before)) {
                return;
            }
            String patch = patch(vm, after);
            try {
                calls.run(new ClusterOperation("patch", "virtualmachines.kubevirt.io", namespace), () ->
                        client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                                .withName(vmName).patch(PatchContext.of(PatchType.JSON), patch));
                return;
            } catch (ClusterAccessException e) {
                // 422: a test operation failed, the VM changed since it was read; 409: a conflict
                if ((e.status() != 422 && e.status() != 409) || attempt >= MAX_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /** The JSON patch that sets the lock's holders to {@code after}, given the VM as read. */
    static String patch(GenericKubernetesResource vm, Set<String> after) {
        Map<String, String> annotations = vm.getMetadata().getAnnotations();
        String read = annotations == null ? null : annotations.get(KubernetesResources.ANNOTATION_EXPORT_LOCK);
        String path = "/metadata/annotations/" + KubernetesResources.ANNOTATION_EXPORT_LOCK.replace("~", "~0")
                .replace("/", "~1");
        ArrayNode ops = JSON.createArrayNode();
        if (read != null) {
            ops.addObject().put("op", "test").put("path", path).put("value", read);
        } else {
            ops.addObject().put("op", "test").put("path", "/metadata/resourceVersion")
                    .put("value", vm.getMetadata().getResourceVersion());
        }
        if (annotations == null) {
            ops.addObject().put("op", "add").put("path", "/metadata/annotations").putObject("value")
                    .put(KubernetesResources.ANNOTATION_EXPORT_LOCK, String.join(",", after));
        } else if (after.isEmpty()) {
            ops.addObject().put("op", "remove").put("path", path);
        } else {
            ops.addObject().put("op", "add").put("path", path).put("value", String.join(",", after));
        }
        return ops.toString();
    }

    private GenericKubernetesResource get(String namespace, String vmName) {
        return calls.run(new ClusterOperation("get", "virtualmachines.kubevirt.io", namespace), () ->
                client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                        .withName(vmName).get());
    }

    static Set<String> holders(GenericKubernetesResource vm) {
        Map<String, String> annotations = vm.getMetadata().getAnnotations();
        return new LinkedHashSet<>(split(annotations == null ? null : annotations.get(KubernetesResources.ANNOTATION_EXPORT_LOCK)));
    }

    private static List<String> split(String value) {
        if (value == null || value.isBlank()) {
            return List.of();
        }
        return new ArrayList<>(Arrays.asList(value.split(",")));
    }
}
