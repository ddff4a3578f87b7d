package dev.vmexportguard.support;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** HTTP requests read as the API server's RBAC sees them. */
class GuardApiCallsTest {
    @Test
    void methodAndPathBecomeVerbAndResource() {
        assertThat(GuardApiCalls.line("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims"))
                .isEqualTo("list \"\" persistentvolumeclaims - ns1 -");
        assertThat(GuardApiCalls.line("GET", "/api/v1/pods?allowWatchBookmarks=true&watch=true&resourceVersion=1"))
                .isEqualTo("watch \"\" pods - - -");
        assertThat(GuardApiCalls.line("GET", "/apis/kubevirt.io/v1/namespaces/ns1/virtualmachines/vm1"))
                .isEqualTo("get kubevirt.io virtualmachines - ns1 vm1");
        assertThat(GuardApiCalls.line("PUT", "/apis/subresources.kubevirt.io/v1/namespaces/ns1/virtualmachines/vm1/stop"))
                .isEqualTo("update subresources.kubevirt.io virtualmachines stop ns1 vm1");
        assertThat(GuardApiCalls.line("PATCH", "/apis/kubevirt.io/v1/namespaces/ns1/virtualmachines/vm1"))
                .isEqualTo("patch kubevirt.io virtualmachines - ns1 vm1");
        assertThat(GuardApiCalls.line("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews"))
                .isEqualTo("create authorization.k8s.io subjectaccessreviews - - -");
        assertThat(GuardApiCalls.line("DELETE", "/apis/harvesterhci.io/v1beta1/namespaces/ns1/virtualmachineimages/i1"))
                .isEqualTo("delete harvesterhci.io virtualmachineimages - ns1 i1");
        assertThat(GuardApiCalls.line("PUT", "/apis/coordination.k8s.io/v1/namespaces/ns1/leases/vm-export-guard-leader"))
                .isEqualTo("update coordination.k8s.io leases - ns1 vm-export-guard-leader");
        assertThat(GuardApiCalls.line("GET", "/version")).isEqualTo("nonresource get /version");
        assertThat(GuardApiCalls.line("GET", "/apis")).isEqualTo("nonresource get /apis");
    }
}
