package dev.vmexportguard.support;

import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.util.function.Consumer;

/**
 * Makes the CRUD test API server serve KubeVirt's and Harvester's resources as the real API does: VMs and VMIs
 * with a status subresource, VirtualMachineImages and -Backups without one (Harvester stores their status as
 * written); and answers SubjectAccessReviews as {@link ScriptedAuthorizer} says, TokenReviews as
 * {@link ScriptedAuthenticator} does.
 */
public class HarvesterApiSetup implements Consumer<KubernetesServer> {
    @Override
    public void accept(KubernetesServer server) {
        server.getKubernetesMockServer().expectCustomResource(crd("kubevirt.io", "v1", "VirtualMachine",
                "virtualmachines", true));
        server.getKubernetesMockServer().expectCustomResource(crd("kubevirt.io", "v1", "VirtualMachineInstance",
                "virtualmachineinstances", true));
        server.getKubernetesMockServer().expectCustomResource(crd("harvesterhci.io", "v1beta1", "VirtualMachineImage",
                "virtualmachineimages", false));
        server.getKubernetesMockServer().expectCustomResource(crd("harvesterhci.io", "v1beta1", "VirtualMachineBackup",
                "virtualmachinebackups", false));
        server.expect().post().withPath("/apis/authorization.k8s.io/v1/subjectaccessreviews")
                .andReply(201, ScriptedAuthorizer::answer).always();
        server.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews")
                .andReply(201, ScriptedAuthenticator::answer).always();
        TestApiServer.answerFailedPatchesAsTheApiServerDoes(server);
        server.expect().get().withPath("/version")
                .andReturn(200, "{\"major\":\"1\",\"minor\":\"33\",\"gitVersion\":\"v1.33.3+rke2r1\"}")
                .always();
    }

    private static CustomResourceDefinitionContext crd(String group, String version, String kind, String plural,
                                                       boolean statusSubresource) {
        return new CustomResourceDefinitionContext.Builder()
                .withGroup(group).withVersion(version).withKind(kind).withPlural(plural)
                .withScope("Namespaced").withStatusSubresource(statusSubresource)
                .build();
    }
}
