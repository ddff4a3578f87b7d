package dev.vmexportguard.cluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only while the Kubernetes API server answers: without it the guard refuses every request. */
@Readiness
@ApplicationScoped
public class KubernetesApiHealthCheck implements HealthCheck {

    private final KubernetesClient client;

    public KubernetesApiHealthCheck(KubernetesClient client) {
        this.client = client;
    }

    @Override
    public HealthCheckResponse call() {
        try {
            var version = client.getKubernetesVersion();
            return HealthCheckResponse.named("kubernetes-api").up()
                    .withData("server", client.getMasterUrl().toString())
                    .withData("version", version == null ? "unknown" : version.getGitVersion())
                    .build();
        } catch (RuntimeException e) {
            return HealthCheckResponse.named("kubernetes-api").down()
                    .withData("server", client.getMasterUrl().toString())
                    .withData("error", String.valueOf(e.getMessage()))
                    .build();
        }
    }
}
