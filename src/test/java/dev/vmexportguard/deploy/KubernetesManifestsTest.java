package dev.vmexportguard.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.tls.runtime.config.TlsBucketConfig;
import io.quarkus.tls.runtime.config.TlsConfig;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The Kustomize manifests of {@code k8s/}: each parses; base, overlays and the top level assemble into the objects
 * expected; the Deployment carries its probes, resources, spread, grace period and the restricted Pod Security
 * Standard; every environment variable it sets is a setting of the guard.
 */
class KubernetesManifestsTest {
    static final Path K8S = Path.of("k8s");
    static final List<String> BASE_OBJECTS = List.of(
            "ClusterRole/vm-export-guard", "ClusterRole/vm-export-guard:auditor", "ClusterRole/vm-export-guard:requester",
            "ClusterRoleBinding/vm-export-guard", "ConfigMap/vm-export-guard", "Deployment/vm-export-guard",
            "Namespace/vm-export-guard", "NetworkPolicy/vm-export-guard", "PodDisruptionBudget/vm-export-guard",
            "Role/vm-export-guard:leader-election", "RoleBinding/vm-export-guard:leader-election",
            "Service/vm-export-guard", "ServiceAccount/vm-export-guard",
            "ValidatingWebhookConfiguration/vm-export-guard");

    static JsonNode deployment() {
        return Kustomize.build(K8S.resolve("base")).one("Deployment", "vm-export-guard");
    }

    static JsonNode container() {
        JsonNode containers = deployment().path("spec").path("template").path("spec").path("containers");
        assertThat(containers.size()).as("containers").isEqualTo(1);
        return containers.get(0);
    }

    @Test
    void everyManifestParsesAsKubernetesObjects() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(K8S)) {
            files = walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertThat(files).hasSizeGreaterThan(15);
        for (Path file : files) {
            List<JsonNode> docs = Kustomize.documents(file);
            assertThat(docs).as(file.toString()).isNotEmpty();
            for (JsonNode doc : docs) {
                assertThat(doc.path("apiVersion").asText()).as(file + " apiVersion").isNotBlank();
                assertThat(doc.path("kind").asText()).as(file + " kind").isNotBlank();
                if (!file.getFileName().toString().equals("kustomization.yaml")) {
                    assertThat(doc.path("metadata").path("name").asText()).as(file + " metadata.name").isNotBlank();
                }
            }
        }
    }

    @Test
    void baseHoldsTheGuardAndTheRolesButNotTheExampleBot() {
        Kustomize.Build base = Kustomize.build(K8S.resolve("base"));
        assertThat(base.kindsAndNames()).containsExactlyElementsOf(BASE_OBJECTS);
        assertThat(base.missingComponents()).isEmpty();
        for (JsonNode o : base.objects()) {
            String kind = o.path("kind").asText();
            if (!List.of("Namespace", "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration").contains(kind)) {
                assertThat(o.path("metadata").path("namespace").asText()).as(Kustomize.id(o)).isEqualTo("vm-export-guard");
            }
        }
    }

    @Test
    void topLevelIsTheBaseWithTheMonitoringComponent() {
        JsonNode top = Kustomize.kustomization(K8S);
        assertThat(top.path("resources").toString()).isEqualTo("[\"base\"]");
        assertThat(top.path("components").toString()).isEqualTo("[\"monitoring\"]");
        Kustomize.Build build = Kustomize.build(K8S);
        assertThat(build.kindsAndNames()).containsAll(BASE_OBJECTS);
        // the monitoring component adds Prometheus operator objects only, when it is there
        assertThat(build.objects()).filteredOn(o -> !BASE_OBJECTS.contains(Kustomize.id(o)))
                .allMatch(o -> o.path("apiVersion").asText().startsWith("monitoring.coreos.com/"));
    }

    @Test
    void overlays() {
        Kustomize.Build none = Kustomize.build(K8S.resolve("overlays/no-monitoring"));
        assertThat(none.kindsAndNames()).containsExactlyElementsOf(BASE_OBJECTS);
        assertThat(none.missingComponents()).isEmpty();

        Kustomize.Build admission = Kustomize.build(K8S.resolve("overlays/admission-policy"));
        assertThat(admission.kindsAndNames()).containsAll(BASE_OBJECTS)
                .contains("ValidatingAdmissionPolicy/vm-export-guard-lock",
                        "ValidatingAdmissionPolicyBinding/vm-export-guard-lock");
        assertThat(Kustomize.kustomization(K8S.resolve("overlays/admission-policy")).path("components").toString())
                .isEqualTo("[\"../../monitoring\"]");
        assertThat(admission.missingComponents()).allMatch(p -> p.endsWith("monitoring"));
    }

    /** Where kubectl is installed, its kustomize builds the same objects as the assembly of these tests. */
    @Test
    void kubectlKustomizeAgrees() throws Exception {
        Path kubectl = Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                .map(dir -> Path.of(dir, "kubectl")).filter(Files::isExecutable).findFirst().orElse(null);
        Assumptions.assumeTrue(kubectl != null, "ASSUMPTION: no kubectl on PATH; the assembly is checked on its own");
        Path overlay = K8S.resolve("overlays/no-monitoring");
        Process process = new ProcessBuilder(kubectl.toString(), "kustomize", overlay.toString())
                .redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor()).as(out).isZero();
        Path built = Files.createTempFile(Path.of("target"), "kustomize", ".yaml");
        Files.writeString(built, out);
        List<JsonNode> objects = Kustomize.documents(built);
        Files.delete(built);
        Kustomize.Build ours = Kustomize.build(overlay);
        assertThat(objects.stream().map(Kustomize::id).sorted().toList()).isEqualTo(ours.kindsAndNames());
        for (JsonNode o : objects) {
            assertThat(o).as(Kustomize.id(o)).isEqualTo(ours.one(o.path("kind").asText(), o.path("metadata").path("name").asText()));
        }
    }

    @Test
    void theImageIsNamedInOnePlace() throws IOException {
        List<Path> withImages = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(K8S)) {
            for (Path k : walk.filter(p -> p.getFileName().toString().equals("kustomization.yaml")).toList()) {
                if (Kustomize.kustomization(k.getParent()).has("images")) {
                    withImages.add(k);
                }
            }
        }
        assertThat(withImages).containsExactly(K8S.resolve("base/kustomization.yaml"));
        String image = container().path("image").asText();
        assertThat(image).isEqualTo(Kustomize.kustomization(K8S.resolve("base")).path("images").get(0).path("newName")
                .asText() + ":" + Kustomize.kustomization(K8S.resolve("base")).path("images").get(0).path("newTag").asText());
        assertThat(Kustomize.build(K8S.resolve("overlays/no-monitoring")).one("Deployment", "vm-export-guard")
                .path("spec").path("template").path("spec").path("containers").get(0).path("image").asText())
                .isEqualTo(image);
    }

    @Test
    void deploymentReplicasProbesResourcesAndSpread() {
        JsonNode d = deployment();
        JsonNode pod = d.path("spec").path("template").path("spec");
        JsonNode c = container();
        assertThat(d.path("spec").path("replicas").asInt()).isEqualTo(2);
        assertThat(pod.path("serviceAccountName").asText()).isEqualTo("vm-export-guard");
        assertThat(c.path("startupProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/started");
        assertThat(c.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/ready");
        assertThat(c.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/live");
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            assertThat(c.path(probe).path("httpGet").path("port").asText()).as(probe).isIn("http", "8080");
        }
        assertThat(c.path("ports").get(0).path("containerPort").asInt()).isEqualTo(8080);
        assertThat(c.path("ports").get(0).path("name").asText()).isEqualTo("http");
        assertThat(c.path("resources").path("requests").path("memory").asText()).isEqualTo("576Mi");
        assertThat(c.path("resources").path("requests").path("cpu").asText()).isEqualTo("100m");
        assertThat(c.path("resources").path("limits").path("memory").asText()).isEqualTo("768Mi");
        JsonNode spread = pod.path("topologySpreadConstraints");
        assertThat(spread.size()).isEqualTo(1);
        assertThat(spread.get(0).path("topologyKey").asText()).isEqualTo("kubernetes.io/hostname");
        assertThat(spread.get(0).path("labelSelector").path("matchLabels"))
                .isEqualTo(d.path("spec").path("selector").path("matchLabels"));
        assertThat(d.path("spec").path("template").path("metadata").path("labels").toString())
                .contains("\"app.kubernetes.io/name\":\"vm-export-guard\"");
        JsonNode tmp = c.path("volumeMounts").get(0);
        assertThat(tmp.path("mountPath").asText()).isEqualTo("/tmp");
        assertThat(pod.path("volumes").get(0).path("name").asText()).isEqualTo(tmp.path("name").asText());
        assertThat(pod.path("volumes").get(0).has("emptyDir")).isTrue();
        // the pod's namespace from the downward API: the Lease's namespace
        assertThat(env(c)).anyMatch(e -> e.path("name").asText().equals("KUBERNETES_NAMESPACE")
                && e.path("valueFrom").path("fieldRef").path("fieldPath").asText().equals("metadata.namespace"));
        assertThat(c.path("envFrom").get(0).path("configMapRef").path("name").asText()).isEqualTo("vm-export-guard");
    }

    @Test
    void serviceBudgetAndNetworkPolicy() {
        Kustomize.Build base = Kustomize.build(K8S.resolve("base"));
        JsonNode selector = deployment().path("spec").path("selector").path("matchLabels");
        JsonNode service = base.one("Service", "vm-export-guard");
        assertThat(service.path("spec").path("selector")).isEqualTo(selector);
        assertThat(service.path("spec").path("ports").get(0).path("port").asInt()).isEqualTo(8080);
        JsonNode pdb = base.one("PodDisruptionBudget", "vm-export-guard");
        assertThat(pdb.path("spec").path("minAvailable").asInt()).isEqualTo(1);
        assertThat(pdb.path("spec").path("selector").path("matchLabels")).isEqualTo(selector);
        JsonNode policy = base.one("NetworkPolicy", "vm-export-guard");
        assertThat(policy.path("spec").path("podSelector").path("matchLabels")).isEqualTo(selector);
        assertThat(policy.path("spec").path("ingress").findValues("port")).extracting(JsonNode::asInt).containsExactly(8080, 8443);
        List<String> egress = new ArrayList<>();
        for (JsonNode rule : policy.path("spec").path("egress")) {
            for (JsonNode port : rule.path("ports")) {
                egress.add(port.path("protocol").asText("TCP") + "/" + port.path("port").asInt());
            }
        }
        assertThat(egress).containsExactlyInAnyOrder("TCP/9092", "TCP/5432", "TCP/443", "TCP/6443", "UDP/53", "TCP/53");
    }

    /**
     * The admission webhook, field by field: what the API server sends it (image creations of Harvester's v1beta1
     * API, as v1 AdmissionReviews), how long it waits and what it does when no guard answers, which namespaces are
     * left out, and that the call reaches the guard's HTTPS port, whose certificate comes from cert-manager's Secret
     * and whose CA is injected.
     */
    @Test
    void webhookConfigurationFieldByField() throws Exception {
        Kustomize.Build base = Kustomize.build(K8S.resolve("base"));
        JsonNode configuration = base.one("ValidatingWebhookConfiguration", "vm-export-guard");
        assertThat(configuration.path("webhooks").size()).isEqualTo(1);
        JsonNode webhook = configuration.path("webhooks").get(0);
        assertThat(webhook.path("admissionReviewVersions").toString()).isEqualTo("[\"v1\"]");
        assertThat(webhook.path("sideEffects").asText()).isEqualTo("NoneOnDryRun");
        assertThat(webhook.path("timeoutSeconds").asInt()).isEqualTo(5);
        assertThat(webhook.path("failurePolicy").asText()).isEqualTo("Fail");
        assertThat(webhook.path("matchPolicy").asText()).isEqualTo("Equivalent");
        assertThat(webhook.path("rules").size()).isEqualTo(1);
        JsonNode rule = webhook.path("rules").get(0);
        assertThat(rule.path("apiGroups").toString()).isEqualTo("[\"harvesterhci.io\"]");
        assertThat(rule.path("apiVersions").toString()).isEqualTo("[\"v1beta1\"]");
        assertThat(rule.path("operations").toString()).isEqualTo("[\"CREATE\"]");
        assertThat(rule.path("resources").toString()).isEqualTo("[\"virtualmachineimages\"]");
        assertThat(rule.path("scope").asText()).isEqualTo("Namespaced");
        // the guard's own namespace and the system ones are left out, nothing else
        JsonNode selector = webhook.path("namespaceSelector");
        assertThat(selector.path("matchLabels").isMissingNode()).isTrue();
        assertThat(selector.path("matchExpressions").size()).isEqualTo(1);
        JsonNode expression = selector.path("matchExpressions").get(0);
        assertThat(expression.path("key").asText()).isEqualTo("kubernetes.io/metadata.name");
        assertThat(expression.path("operator").asText()).isEqualTo("NotIn");
        List<String> left = new ArrayList<>();
        expression.path("values").forEach(v -> left.add(v.asText()));
        assertThat(left).contains("vm-export-guard", "kube-system", "harvester-system", "longhorn-system",
                "cattle-system");
        assertThat(webhook.path("objectSelector").isMissingNode()).isTrue();

        // the call reaches the guard's HTTPS port at the resource's path
        JsonNode service = base.one("Service", "vm-export-guard");
        JsonNode client = webhook.path("clientConfig").path("service");
        assertThat(client.path("namespace").asText()).isEqualTo(service.path("metadata").path("namespace").asText());
        assertThat(client.path("name").asText()).isEqualTo(service.path("metadata").path("name").asText());
        assertThat(client.path("path").asText()).isEqualTo(
                dev.vmexportguard.api.AdmissionResource.class.getAnnotation(jakarta.ws.rs.Path.class).value());
        JsonNode https = null;
        for (JsonNode port : service.path("spec").path("ports")) {
            if (port.path("port").asInt() == client.path("port").asInt()) {
                https = port;
            }
        }
        assertThat(https).as("the Service port the webhook calls").isNotNull();
        JsonNode containerPort = null;
        for (JsonNode port : container().path("ports")) {
            if (port.path("name").asText().equals(https.path("targetPort").asText())) {
                containerPort = port;
            }
        }
        assertThat(containerPort).as("the container port the Service forwards to").isNotNull();
        JsonNode settings = base.one("ConfigMap", "vm-export-guard").path("data");
        assertThat(settings.path("QUARKUS_HTTP_SSL_PORT").asInt()).isEqualTo(containerPort.path("containerPort").asInt());

        // the certificate: mounted from the Secret cert-manager writes, read from where it is mounted
        JsonNode mount = null;
        for (JsonNode m : container().path("volumeMounts")) {
            if (m.path("name").asText().equals("webhook-tls")) {
                mount = m;
            }
        }
        assertThat(mount).isNotNull();
        assertThat(mount.path("readOnly").asBoolean()).isTrue();
        String folder = mount.path("mountPath").asText();
        assertThat(settings.path("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_CERT").asText()).isEqualTo(folder + "/tls.crt");
        assertThat(settings.path("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_KEY").asText()).isEqualTo(folder + "/tls.key");
        assertThat(Duration.parse("PT" + settings.path("QUARKUS_TLS_RELOAD_PERIOD").asText().toUpperCase()))
                .isPositive();
        String secret = null;
        for (JsonNode v : deployment().path("spec").path("template").path("spec").path("volumes")) {
            if (v.path("name").asText().equals("webhook-tls")) {
                secret = v.path("secret").path("secretName").asText();
            }
        }
        Kustomize.Build withCertManager = Kustomize.build(K8S.resolve("overlays/cert-manager"));
        assertThat(withCertManager.missingComponents()).isEmpty();
        JsonNode certificate = withCertManager.one("Certificate", "vm-export-guard-webhook");
        assertThat(certificate.path("spec").path("secretName").asText()).isEqualTo(secret);
        assertThat(certificate.path("spec").path("dnsNames").toString())
                .contains("\"" + client.path("name").asText() + "." + client.path("namespace").asText() + ".svc\"");
        assertThat(certificate.path("spec").path("privateKey").path("encoding").asText()).isEqualTo("PKCS8");
        JsonNode issuer = withCertManager.one("Issuer", certificate.path("spec").path("issuerRef").path("name").asText());
        assertThat(issuer.path("spec").has("selfSigned")).isTrue();
        assertThat(configuration.path("metadata").path("annotations").path("cert-manager.io/inject-ca-from").asText())
                .isEqualTo(certificate.path("metadata").path("namespace").asText() + "/"
                        + certificate.path("metadata").path("name").asText());
        // the guard's own images are recognised by its ServiceAccount
        assertThat(settings.path("GUARD_ADMISSION_GUARD_USER").asText()).isEqualTo("system:serviceaccount:"
                + deployment().path("metadata").path("namespace").asText() + ":"
                + deployment().path("spec").path("template").path("spec").path("serviceAccountName").asText());
    }

    /**
     * The ConfigMap's TLS variables, read as Quarkus reads environment variables, configure the TLS registry: the
     * certificate and key pair and the reload period. (A map key of digits alone, as in
     * {@code QUARKUS_TLS_KEY_STORE_PEM_0_CERT}, is not recognised in an environment variable, and HTTPS stays off.)
     */
    @Test
    void theConfigMapsTlsVariablesReachTheTlsRegistry() {
        Map<String, String> environment = new HashMap<>();
        Kustomize.build(K8S.resolve("base")).one("ConfigMap", "vm-export-guard").path("data").fields()
                .forEachRemaining(e -> environment.put(e.getKey(), e.getValue().asText()));
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withConverter(Duration.class, 200, new DurationConverter())
                .withMapping(TlsConfig.class)
                .withSources(new EnvConfigSource(environment, 300))
                .build();
        TlsBucketConfig tls = config.getConfigMapping(TlsConfig.class).defaultCertificateConfig().orElseThrow();
        var pairs = tls.keyStore().orElseThrow().pem().orElseThrow().keyCerts();
        assertThat(pairs).hasSize(1);
        var pair = pairs.values().iterator().next();
        assertThat(pair.cert().toString()).isEqualTo(environment.get("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_CERT"));
        assertThat(pair.key().toString()).isEqualTo(environment.get("QUARKUS_TLS_KEY_STORE_PEM_WEBHOOK_KEY"));
        assertThat(tls.reloadPeriod()).contains(Duration.ofMinutes(1));
    }

    /**
     * The restricted Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards), each rule
     * of it and of baseline, for every container of the pod.
     */
    @Test
    void podMeetsTheRestrictedPodSecurityStandard() {
        JsonNode pod = deployment().path("spec").path("template").path("spec");
        JsonNode podContext = pod.path("securityContext");
        // baseline: host namespaces
        assertThat(pod.path("hostNetwork").asBoolean(false)).as("hostNetwork").isFalse();
        assertThat(pod.path("hostPID").asBoolean(false)).as("hostPID").isFalse();
        assertThat(pod.path("hostIPC").asBoolean(false)).as("hostIPC").isFalse();
        // restricted: volume types
        Set<String> allowedVolumes = Set.of("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                "persistentVolumeClaim", "projected", "secret");
        for (JsonNode volume : pod.path("volumes")) {
            List<String> types = new ArrayList<>();
            volume.fieldNames().forEachRemaining(types::add);
            types.remove("name");
            assertThat(types).as("volume " + volume.path("name").asText()).hasSize(1).allMatch(allowedVolumes::contains);
        }
        // baseline: sysctls only of the safe set (the guard sets none)
        assertThat(podContext.has("sysctls")).isFalse();
        List<JsonNode> containers = new ArrayList<>();
        for (String list : List.of("initContainers", "containers", "ephemeralContainers")) {
            pod.path(list).forEach(containers::add);
        }
        assertThat(containers).isNotEmpty();
        for (JsonNode c : containers) {
            String name = "container " + c.path("name").asText();
            JsonNode sc = c.path("securityContext");
            // runAsNonRoot: true on the pod or the container, and not false on the container
            assertThat(sc.path("runAsNonRoot").asBoolean(podContext.path("runAsNonRoot").asBoolean(false)))
                    .as(name + " runAsNonRoot").isTrue();
            // runAsUser: not 0
            assertThat(sc.path("runAsUser").asInt(podContext.path("runAsUser").asInt(-1))).as(name + " runAsUser")
                    .isNotZero().isEqualTo(185);
            assertThat(sc.path("allowPrivilegeEscalation").isBoolean() && !sc.path("allowPrivilegeEscalation").asBoolean())
                    .as(name + " allowPrivilegeEscalation: false").isTrue();
            assertThat(sc.path("privileged").asBoolean(false)).as(name + " privileged").isFalse();
            List<String> drop = new ArrayList<>();
            sc.path("capabilities").path("drop").forEach(d -> drop.add(d.asText()));
            assertThat(drop).as(name + " capabilities.drop").contains("ALL");
            sc.path("capabilities").path("add").forEach(a -> assertThat(a.asText()).as(name + " capabilities.add")
                    .isEqualTo("NET_BIND_SERVICE"));
            String seccomp = sc.path("seccompProfile").path("type").asText(podContext.path("seccompProfile").path("type").asText());
            assertThat(seccomp).as(name + " seccompProfile").isIn("RuntimeDefault", "Localhost");
            assertThat(sc.path("procMount").asText("Default")).as(name + " procMount").isEqualTo("Default");
            assertThat(sc.path("windowsOptions").path("hostProcess").asBoolean(false)).isFalse();
            assertThat(sc.path("appArmorProfile").path("type").asText("RuntimeDefault")).isIn("RuntimeDefault", "Localhost");
            assertThat(sc.path("seLinuxOptions").path("type").asText("container_t"))
                    .isIn("container_t", "container_init_t", "container_kvm_t", "container_engine_t");
            c.path("ports").forEach(p -> assertThat(p.has("hostPort")).as(name + " hostPort").isFalse());
            // beyond the standard: nothing written outside the emptyDir
            assertThat(sc.path("readOnlyRootFilesystem").asBoolean(false)).as(name + " readOnlyRootFilesystem").isTrue();
        }
        assertThat(Kustomize.build(K8S.resolve("base")).one("Namespace", "vm-export-guard").path("metadata")
                .path("labels").path("pod-security.kubernetes.io/enforce").asText()).isEqualTo("restricted");
    }

    @Test
    void terminationGraceOutlastsTheShutdownTimeout() throws IOException {
        Properties properties = new Properties();
        try (var in = Files.newBufferedReader(Path.of("src/main/resources/application.properties"))) {
            properties.load(in);
        }
        Duration shutdown = duration(properties.getProperty("quarkus.shutdown.timeout"));
        long grace = deployment().path("spec").path("template").path("spec").path("terminationGracePeriodSeconds").asLong();
        assertThat(grace).as("terminationGracePeriodSeconds vs quarkus.shutdown.timeout=" + shutdown)
                .isGreaterThan(shutdown.toSeconds());
    }

    /** Every variable the container gets names a setting of the guard, of Quarkus, of its Kafka clients or of fabric8. */
    @Test
    void everyEnvironmentVariableIsASetting() throws IOException {
        Set<String> documented = documentedVariables();
        assertThat(documented).contains("KAFKA_BOOTSTRAP_SERVERS", "QUARKUS_DATASOURCE_PASSWORD", "QUARKUS_FLYWAY_PASSWORD",
                "GUARD_TOPICS_DEAD_LETTER", "QUARKUS_SHUTDOWN_TIMEOUT");
        Set<String> kafkaConfigs = new LinkedHashSet<>(ConsumerConfig.configNames());
        kafkaConfigs.addAll(ProducerConfig.configNames());
        List<String> variables = new ArrayList<>();
        env(container()).forEach(e -> variables.add(e.path("name").asText()));
        Kustomize.build(K8S.resolve("base")).one("ConfigMap", "vm-export-guard").path("data").fieldNames()
                .forEachRemaining(variables::add);
        assertThat(variables).hasSizeGreaterThan(10);
        for (String variable : variables) {
            boolean kafkaClient = variable.startsWith("KAFKA_")
                    && kafkaConfigs.contains(variable.substring(6).toLowerCase().replace('_', '.'));
            // KUBERNETES_NAMESPACE: fabric8's namespace and the Lease's (README, guard.leadership.lease-namespace)
            assertThat(documented.contains(variable) || kafkaClient || variable.equals("KUBERNETES_NAMESPACE"))
                    .as(variable + " is a documented setting").isTrue();
        }
    }

    @Test
    void secretsAreReferencedFromTheTemplateAndHoldNoValues() {
        List<JsonNode> template = Kustomize.documents(K8S.resolve("secrets/secrets.template.yaml"));
        List<String> refs = new ArrayList<>();
        for (JsonNode e : env(container())) {
            JsonNode ref = e.path("valueFrom").path("secretKeyRef");
            if (!ref.isMissingNode()) {
                refs.add(ref.path("name").asText() + "/" + ref.path("key").asText());
            }
        }
        assertThat(refs).contains("vm-export-guard-db-runtime/password", "vm-export-guard-db-owner/password");
        List<String> provided = new ArrayList<>();
        for (JsonNode secret : template) {
            assertThat(secret.path("kind").asText()).isEqualTo("Secret");
            secret.path("stringData").fields().forEachRemaining(f -> {
                provided.add(secret.path("metadata").path("name").asText() + "/" + f.getKey());
                if (f.getKey().contains("password") || f.getKey().contains("jaas")) {
                    assertThat(f.getValue().asText()).as(f.getKey()).contains("CHANGE-ME");
                }
            });
        }
        assertThat(provided).containsAll(refs);
        // no Secret is part of what kubectl apply -k applies
        assertThat(Kustomize.build(K8S.resolve("overlays/admission-policy")).ofKind("Secret")).isEmpty();
        assertThat(Kustomize.build(K8S.resolve("base")).ofKind("Secret")).isEmpty();
    }

    static List<JsonNode> env(JsonNode container) {
        List<JsonNode> env = new ArrayList<>();
        container.path("env").forEach(env::add);
        return env;
    }

    /** The environment variables of README.md's settings table ({@code `A_B` / `_C`} is A_B and A_C). */
    static Set<String> documentedVariables() throws IOException {
        Set<String> names = new LinkedHashSet<>();
        boolean inTable = false;
        for (String line : Files.readAllLines(Path.of("README.md"))) {
            if (line.startsWith("| Setting | Environment variable |")) {
                inTable = true;
                continue;
            }
            if (inTable && !line.startsWith("|")) {
                inTable = false; // the settings table and the Kafka security table
                continue;
            }
            if (inTable) {
                String[] cells = line.split("\\|");
                if (cells.length < 3) {
                    continue;
                }
                Matcher m = Pattern.compile("`([A-Z0-9_]+)`").matcher(cells[2]);
                String last = null;
                while (m.find()) {
                    String name = m.group(1);
                    if (name.startsWith("_") && last != null) {
                        name = last.substring(0, last.lastIndexOf('_')) + name;
                    }
                    names.add(name);
                    last = name;
                }
            }
        }
        return names;
    }

    /** A duration as Quarkus reads it: a number with ms, s, m, h or d, a bare number of seconds, or ISO-8601. */
    static Duration duration(String value) {
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h|d)?").matcher(value.trim());
        if (!m.matches()) {
            return Duration.parse(value.trim());
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
        };
    }
}
