package dev.vmexportguard.support;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardTopics.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import io.restassured.RestAssured;
import io.restassured.builder.RequestSpecBuilder;
import io.restassured.config.HeaderConfig;
import io.restassured.config.RestAssuredConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A test of the running guard against the test API server that plays Harvester: each test gets the cluster, the
 * simulator of Harvester's and KubeVirt's controllers, the guard's topics and a namespace of its own, and the
 * ways to send a request and read its events that the tests share.
 * <p>
 * The test class itself carries {@code @QuarkusTest} (Quarkus makes only classes annotated so into test beans: on
 * this class alone, no test could be instantiated) and any {@code @TestProfile}. Quarkus finds
 * {@link WithKubernetesTestServer} here, on a superclass of the test class, and injects the
 * {@link KubernetesTestServer} field declared here. A test that needs more in its cluster before each test adds its
 * own {@code @BeforeEach}, which runs after this one.
 */
@WithKubernetesTestServer(crud = true, setup = HarvesterApiSetup.class)
public abstract class GuardIntegrationTest {
    /** The disk of {@code vm1} as Harvester names a VM's first volume. */
    protected static final String DISK = "vm1-disk-0-rlnlk";
    private static final List<String> FINAL_TYPES = List.of("REJECTED", "COMPLETED", "FAILED", "ADMITTED");
    private static final Duration EVENT_WAIT = Duration.ofSeconds(60);

    @KubernetesTestServer
    protected KubernetesServer server;

    protected HarvesterCluster cluster;
    protected HarvesterSimulator simulator;
    protected GuardTopics topics;
    protected String ns;

    @BeforeEach
    protected void connectToClusterAndTopics() {
        cluster = new HarvesterCluster(server.getClient());
        simulator = new HarvesterSimulator(server.getClient());
        topics = GuardTopics.get();
        ns = HarvesterCluster.freshNamespace();
        // the API is asked as an operator who may read every namespace's audit, unless a test says otherwise
        RestAssured.requestSpecification = new RequestSpecBuilder()
                .addHeader("Authorization", "Bearer " + ScriptedAuthenticator.OPERATOR_TOKEN).build();
        // a test that sends its own token replaces the operator's, it does not add a second one
        RestAssured.config = RestAssuredConfig.config().headerConfig(HeaderConfig.headerConfig()
                .overwriteHeadersWithName("Authorization"));
    }

    /**
     * The simulated controllers stop watching once the test is over; what reached the API server and was not taken
     * by the test is taken now, so that every call the guard made is recorded ({@link GuardApiCalls}).
     */
    @AfterEach
    protected void stopSimulating() {
        simulator.close();
        new ApiServerRequests(server).drain();
    }

    /** A bound volume {@code disk} and the VM {@code vm}, in the printableStatus, whose one disk it is. */
    protected void vmWithDisk(String vm, String printableStatus, String disk) {
        cluster.volume(ns, disk);
        cluster.vm(ns, vm, printableStatus, disk);
    }

    /** {@link #vmWithDisk} for a stopped VM. */
    protected void stoppedVm(String vm, String disk) {
        vmWithDisk(vm, "Stopped", disk);
    }

    /** Sends {@link Requests#request} for the VM or volume (either may be null) in {@link #ns}; returns its id. */
    protected String send(String vmName, String volumeName) {
        String id = newRequestId();
        topics.send(id, request(id, ns, vmName, volumeName));
        return id;
    }

    /**
     * Sends a request for the VM in {@link #ns} by {@code user}; {@code options} is more JSON members, each
     * beginning with a comma, or empty. Returns its id.
     */
    protected String sendAs(String user, String vmName, String options) {
        String id = newRequestId();
        topics.send(id, "{\"requestId\":\"" + id + "\",\"namespace\":\"" + ns + "\",\"vmName\":\"" + vmName + "\","
                + "\"requestedBy\":\"" + user + "\"" + options + "}");
        return id;
    }

    /** {@link #send} and the first event of the request. */
    protected Event ask(String vmName, String volumeName) {
        return topics.awaitResult(send(vmName, volumeName));
    }

    /** The types of the request's events so far, in order. */
    protected List<String> types(String id) {
        return topics.results(id).stream().map(Event::type).toList();
    }

    /** The request's first event of the type, once there is one (within a minute). */
    protected Event awaitEvent(String id, String type) {
        return awaitEvent(id, type, EVENT_WAIT);
    }

    protected Event awaitEvent(String id, String type, Duration within) {
        await().atMost(within).until(() -> types(id).contains(type));
        return topics.results(id).stream().filter(e -> e.type().equals(type)).findFirst().orElseThrow();
    }

    /** The request's first REJECTED, COMPLETED, FAILED or ADMITTED event, or null while there is none. */
    protected Event finalEvent(String id) {
        return topics.results(id).stream().filter(e -> FINAL_TYPES.contains(e.type())).findFirst().orElse(null);
    }

    /** {@link #finalEvent} once there is one (within a minute). */
    protected Event awaitFinal(String id) {
        await().atMost(EVENT_WAIT).until(() -> finalEvent(id) != null);
        return finalEvent(id);
    }

    /**
     * Every list the guard reads to decide a request in {@code namespace} answers after {@code millis}, with what the
     * namespace holds now: its claims and VMs, and no VMI, pod or image.
     */
    protected void answerListsSlowly(String namespace, long millis) {
        slowList("/api/v1/namespaces/" + namespace + "/persistentvolumeclaims",
                cluster.client().persistentVolumeClaims().inNamespace(namespace).list(), millis);
        slowList("/apis/kubevirt.io/v1/namespaces/" + namespace + "/virtualmachines", cluster.vms(namespace).list(),
                millis);
        slowList("/apis/kubevirt.io/v1/namespaces/" + namespace + "/virtualmachineinstances",
                new GenericKubernetesResourceList(), millis);
        slowList("/api/v1/namespaces/" + namespace + "/pods", new PodListBuilder().build(), millis);
        slowList("/apis/harvesterhci.io/v1beta1/namespaces/" + namespace + "/virtualmachineimages",
                new GenericKubernetesResourceList(), millis);
    }

    /** The API server answers GETs of {@code path} with {@code list}, each after {@code millis}. */
    protected void slowList(String path, Object list, long millis) {
        server.expect().get().delay(millis, TimeUnit.MILLISECONDS).withPath(path).andReturn(200, list).always();
    }

    /** The id of the request whose export holds the VM's lock annotation, or null. */
    protected String lockOf(String vm) {
        GenericKubernetesResource current = cluster.vms(ns).withName(vm).get();
        Map<String, String> annotations = current.getMetadata().getAnnotations();
        return annotations == null ? null : annotations.get("vm-export-guard.dev/export-in-progress");
    }
}
