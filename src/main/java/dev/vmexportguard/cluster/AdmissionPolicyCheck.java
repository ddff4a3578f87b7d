package dev.vmexportguard.cluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Whether the ValidatingAdmissionPolicy that enforces the VM lock ({@code k8s/admission}) and its binding are
 * installed: without them a locked VM can be started, or its lock removed, during an export. Said at start in the
 * log and in the readiness details; the guard still serves (its own checks catch a VM started during a copy).
 */
@Readiness
@ApplicationScoped
public class AdmissionPolicyCheck implements HealthCheck {
    private static final Logger LOG = Logger.getLogger(AdmissionPolicyCheck.class);
    static final String NAME = "vm-export-guard-lock";

    private final KubernetesClient client;

    public AdmissionPolicyCheck(KubernetesClient client) {
        this.client = client;
    }

    void atStart(@Observes StartupEvent ignored) {
        String state = state();
        if (!"installed".equals(state)) {
            LOG.warnf("the admission policy that enforces the VM lock is not in force (%s): apply k8s/admission/", state);
        }
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("admission-policy").up().withData("vm-lock-policy", state()).build();
    }

    /** {@code installed}, or what is missing, or why it could not be read. */
    String state() {
        try {
            var admission = client.admissionRegistration().v1();
            boolean policy = admission.validatingAdmissionPolicies().withName(NAME).get() != null;
            boolean binding = admission.validatingAdmissionPolicyBindings().withName(NAME).get() != null;
            if (policy && binding) {
                return "installed";
            }
            return "missing: " + (policy ? "" : "ValidatingAdmissionPolicy " + NAME + (binding ? "" : ", "))
                    + (binding ? "" : "ValidatingAdmissionPolicyBinding " + NAME);
        } catch (RuntimeException e) {
            return "unknown: " + e.getMessage();
        }
    }
}
