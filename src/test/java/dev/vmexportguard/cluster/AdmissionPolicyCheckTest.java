package dev.vmexportguard.cluster;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import dev.vmexportguard.support.GuardIntegrationTest;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Readiness says whether the admission policy that enforces the VM lock is installed. */
@QuarkusTest
class AdmissionPolicyCheckTest extends GuardIntegrationTest {

    @Test
    void readinessNamesAMissingPolicyThenSeesTheInstalledOne() throws Exception {
        var admission = server.getClient().admissionRegistration().v1();
        admission.validatingAdmissionPolicies().withName("vm-export-guard-lock").delete();
        admission.validatingAdmissionPolicyBindings().withName("vm-export-guard-lock").delete();

        given().get("/q/health/ready").then()
                .body("checks.find { it.name == 'admission-policy' }.data.vm-lock-policy",
                        startsWith("missing: ValidatingAdmissionPolicy vm-export-guard-lock,"
                                + " ValidatingAdmissionPolicyBinding vm-export-guard-lock"));

        admission.validatingAdmissionPolicies().resource(Serialization.unmarshal(
                Files.readString(Path.of("k8s/admission/validating-admission-policy.yaml")),
                ValidatingAdmissionPolicy.class)).create();
        given().get("/q/health/ready").then()
                .body("checks.find { it.name == 'admission-policy' }.data.vm-lock-policy",
                        equalTo("missing: ValidatingAdmissionPolicyBinding vm-export-guard-lock"));

        admission.validatingAdmissionPolicyBindings().resource(Serialization.unmarshal(
                Files.readString(Path.of("k8s/admission/validating-admission-policy-binding.yaml")),
                ValidatingAdmissionPolicyBinding.class)).create();
        given().get("/q/health/ready").then()
                .body("checks.find { it.name == 'admission-policy' }.data.vm-lock-policy", equalTo("installed"));
    }
}
