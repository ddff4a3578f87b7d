package dev.vmexportguard.cluster;

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

    /** One read, and a JSON patch of the annotation alone when its holders change. */
    private void edit(String namespace, String vmName, Consumer<Set<String>> change) {
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
        // requestIds need no JSON escaping ([A-Za-z0-9._:-]); in a JSON pointer '/' is written '~1'
        String key = KubernetesResources.ANNOTATION_EXPORT_LOCK;
        String value = "\"" + String.join(",", after) + "\"";
        String patch = vm.getMetadata().getAnnotations() == null
                ? "[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"" + key + "\":" + value + "}}]"
                : after.isEmpty()
                ? "[{\"op\":\"remove\",\"path\":\"/metadata/annotations/" + key.replace("/", "~1") + "\"}]"
                : "[{\"op\":\"add\",\"path\":\"/metadata/annotations/" + key.replace("/", "~1") + "\",\"value\":" + value + "}]";
        calls.run(new ClusterOperation("patch", "virtualmachines.kubevirt.io", namespace), () ->
                client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                        .withName(vmName).patch(PatchContext.of(PatchType.JSON), patch));
    }

    private GenericKubernetesResource get(String namespace, String vmName) {
        return calls.run(new ClusterOperation("get", "virtualmachines.kubevirt.io", namespace), () ->
                client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(namespace)
                        .withName(vmName).get());
    }

    private static Set<String> holders(GenericKubernetesResource vm) {
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
