package dev.vmexportguard.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.ReasonCode;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Tests how {@link ClusterCalls} classifies API server failures into {@link ClusterAccessException}s and which it retries. */
class ClusterCallsTest {
    private static final ClusterOperation LIST_PODS = new ClusterOperation("list", "pods", "team-a");
    private static final ClusterOperation CREATE_IMAGE =
            new ClusterOperation("create", "virtualmachineimages.harvesterhci.io", "team-a");
    private static final ClusterOperation PATCH_VM = new ClusterOperation("patch", "virtualmachines.kubevirt.io", "team-a");

    private static final String UNAVAILABLE_END =
            "), so nothing was exported. Send the request again once the Kubernetes API is reachable.";

    private final ClusterCalls calls = new ClusterCalls(config(3, Duration.ofMillis(1), Duration.ofMillis(2)));

    /**
     * Only {@code cluster()} is what ClusterCalls reads. Dynamic proxies, not classes: Quarkus refuses test classes
     * that implement the constrained settings interfaces.
     */
    static GuardConfig config(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
        GuardConfig.Cluster cluster = settings(GuardConfig.Cluster.class, Map.of("maxAttempts", maxAttempts,
                "initialBackoff", initialBackoff, "maxBackoff", maxBackoff));
        return settings(GuardConfig.class, Map.of("cluster", cluster));
    }

    private static <T> T settings(Class<T> type, Map<String, Object> values) {
        return type.cast(java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> {
                    if (!values.containsKey(method.getName())) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    return values.get(method.getName());
                }));
    }

    private static KubernetesClientException http(int code) {
        return new KubernetesClientException("Failure executing: GET at: https://api/pods. Message: boom.", code, null);
    }

    private static KubernetesClientException http(int code, String statusMessage) {
        Status status = new StatusBuilder().withCode(code).withStatus("Failure").withMessage(statusMessage).build();
        return new KubernetesClientException("Failure executing: POST at: https://api. Message: " + statusMessage + ".",
                code, status);
    }

    // --- classify ---

    @Test
    void unauthorizedIsForbiddenAndGuardNotAuthorized() {
        KubernetesClientException cause = http(401);

        ClusterAccessException e = ClusterCalls.classify(LIST_PODS, cause);

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.FORBIDDEN);
        assertThat(e.status()).isEqualTo(401);
        assertThat(e.operation()).isEqualTo(LIST_PODS);
        assertThat(e.getCause()).isSameAs(cause);
        assertThat(e).hasMessage("HTTP 401 on list pods in namespace team-a");
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.GUARD_NOT_AUTHORIZED);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the guard's service account may not list pods in namespace team-a,"
                + " so it cannot check the VM; nothing was exported. Grant it that permission (see the README's RBAC).");
    }

    @Test
    void forbiddenIsForbiddenAndGuardNotAuthorized() {
        ClusterAccessException e = ClusterCalls.classify(CREATE_IMAGE, http(403, "virtualmachineimages is forbidden"));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.FORBIDDEN);
        assertThat(e.status()).isEqualTo(403);
        assertThat(e).hasMessage("HTTP 403 on create virtualmachineimages.harvesterhci.io in namespace team-a");
        // FORBIDDEN wins over the create verb: it is not IMAGE_CREATE_FAILED
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.GUARD_NOT_AUTHORIZED);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the guard's service account may not create"
                + " virtualmachineimages.harvesterhci.io in namespace team-a, so it cannot check the VM; nothing was"
                + " exported. Grant it that permission (see the README's RBAC).");
    }

    @Test
    void forbiddenOnAClusterWideCallNamesNoNamespace() {
        ClusterOperation review = new ClusterOperation("create", "subjectaccessreviews.authorization.k8s.io", null);

        ClusterAccessException e = ClusterCalls.classify(review, http(403));

        assertThat(e).hasMessage("HTTP 403 on create subjectaccessreviews.authorization.k8s.io");
        assertThat(e.refusalMessage()).isEqualTo("Refused: the guard's service account may not create"
                + " subjectaccessreviews.authorization.k8s.io, so it cannot check the VM; nothing was exported."
                + " Grant it that permission (see the README's RBAC).");
    }

    @Test
    void notFoundIsUnavailableAndNamesTheResource() {
        ClusterOperation listImages = new ClusterOperation("list", "virtualmachineimages.harvesterhci.io", "team-a");

        ClusterAccessException e = ClusterCalls.classify(listImages, http(404, "the server could not find the requested resource"));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.UNAVAILABLE);
        assertThat(e.status()).isEqualTo(404);
        assertThat(e).hasMessage(
                "the API server does not serve virtualmachineimages.harvesterhci.io (HTTP 404): is it installed?");
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the guard could not read the cluster (the API server does not"
                + " serve virtualmachineimages.harvesterhci.io (HTTP 404): is it installed?" + UNAVAILABLE_END);
    }

    @Test
    void noAnswerWithCauseNamesTheRootCause() {
        KubernetesClientException cause = new KubernetesClientException("Operation: [list] for kind: [Pod] failed.",
                new RuntimeException("wrapped", new ConnectException("Connection refused")));

        ClusterAccessException e = ClusterCalls.classify(LIST_PODS, cause);

        assertThat(cause.getCode()).as("fabric8 code without an answer").isEqualTo(-1);
        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.UNAVAILABLE);
        assertThat(e.status()).isEqualTo(-1);
        assertThat(e).hasMessage("list pods in namespace team-a failed, no answer: ConnectException: Connection refused");
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the guard could not read the cluster (list pods in namespace"
                + " team-a failed, no answer: ConnectException: Connection refused" + UNAVAILABLE_END);
    }

    @Test
    void codeZeroIsNoAnswerAndNamesTheExceptionItself() {
        ClusterAccessException e = ClusterCalls.classify(LIST_PODS, new KubernetesClientException("timed out", 0, null));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.UNAVAILABLE);
        assertThat(e.status()).isZero();
        assertThat(e).hasMessage("list pods in namespace team-a failed, no answer: KubernetesClientException: timed out");
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
    }

    @ParameterizedTest
    @ValueSource(ints = {429, 500, 502, 503, 504})
    void overloadAndServerErrorsAreUnavailable(int code) {
        ClusterAccessException e = ClusterCalls.classify(LIST_PODS, http(code, "etcdserver: request timed out"));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.UNAVAILABLE);
        assertThat(e.status()).isEqualTo(code);
        assertThat(e).hasMessage("list pods in namespace team-a failed, HTTP " + code);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
        assertThat(e.refusalMessage()).isEqualTo(
                "Refused: the guard could not read the cluster (list pods in namespace team-a failed, HTTP " + code
                        + UNAVAILABLE_END);
    }

    @Test
    void conflictOnCreateIsRefusedAndImageCreateFailedWithTheStatusMessage() {
        String message = "virtualmachineimages.harvesterhci.io \"vmexport-0123\" already exists";

        ClusterAccessException e = ClusterCalls.classify(CREATE_IMAGE, http(409, message));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.REFUSED);
        assertThat(e.status()).isEqualTo(409);
        assertThat(e).hasMessage("HTTP 409: " + message);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.IMAGE_CREATE_FAILED);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the cluster did not accept the VirtualMachineImage (HTTP 409: "
                + message + "); nothing was exported.");
    }

    @Test
    void unprocessableOnCreateIsRefusedAndImageCreateFailedWithTheStatusMessage() {
        String message = "admission webhook \"validator.harvesterhci.io\" denied the request: storage class fast not found";

        ClusterAccessException e = ClusterCalls.classify(CREATE_IMAGE, http(422, message));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.REFUSED);
        assertThat(e.status()).isEqualTo(422);
        assertThat(e).hasMessage("HTTP 422: " + message);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.IMAGE_CREATE_FAILED);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the cluster did not accept the VirtualMachineImage (HTTP 422: "
                + message + "); nothing was exported.");
    }

    @Test
    void conflictOnAnotherVerbIsRefusedButClusterUnavailable() {
        String message = "Operation cannot be fulfilled on virtualmachines.kubevirt.io \"vm1\": the object has been modified";

        ClusterAccessException e = ClusterCalls.classify(PATCH_VM, http(409, message));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.REFUSED);
        assertThat(e.status()).isEqualTo(409);
        assertThat(e).hasMessage("HTTP 409: " + message);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the guard could not read the cluster (patch"
                + " virtualmachines.kubevirt.io in namespace team-a answered HTTP 409: " + message + UNAVAILABLE_END);
    }

    @Test
    void unprocessableOnAnotherVerbIsRefusedButClusterUnavailable() {
        ClusterAccessException e = ClusterCalls.classify(PATCH_VM, http(422, "spec.runStrategy: Unsupported value"));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.REFUSED);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
        assertThat(e.refusalMessage()).isEqualTo("Refused: the guard could not read the cluster (patch"
                + " virtualmachines.kubevirt.io in namespace team-a answered HTTP 422: spec.runStrategy: Unsupported value"
                + UNAVAILABLE_END);
    }

    @Test
    void refusalWithoutStatusFallsBackToTheExceptionMessage() {
        ClusterAccessException e = ClusterCalls.classify(CREATE_IMAGE, new KubernetesClientException("bad request", 400, null));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.REFUSED);
        assertThat(e).hasMessage("HTTP 400: KubernetesClientException: bad request");
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.IMAGE_CREATE_FAILED);
    }

    // --- run: retries ---

    /** Fails with the given exceptions in turn, then answers {@code value}; counts its calls. */
    private static final class Scripted implements Supplier<String> {
        final AtomicInteger calls = new AtomicInteger();
        private final RuntimeException[] failures;
        private final String value;

        Scripted(String value, RuntimeException... failures) {
            this.value = value;
            this.failures = failures;
        }

        @Override
        public String get() {
            int call = calls.getAndIncrement();
            if (call < failures.length) {
                throw failures[call];
            }
            return value;
        }
    }

    @Test
    void answerOnFirstAttemptIsReturnedAtOnce() {
        Scripted call = new Scripted("pods");

        assertThat(calls.run(LIST_PODS, call)).isEqualTo("pods");
        assertThat(call.calls).hasValue(1);
    }

    @Test
    void serviceUnavailableTwiceThenAnswerIsRetriedAndReturnsTheAnswer() {
        Scripted call = new Scripted("pods", http(503), http(503));

        assertThat(calls.run(LIST_PODS, call)).isEqualTo("pods");
        assertThat(call.calls).hasValue(3);
    }

    @Test
    void forbiddenIsNotRetried() {
        Scripted call = new Scripted("pods", http(403));

        ClusterAccessException e = catchThrowableOfType(ClusterAccessException.class, () -> calls.run(LIST_PODS, call));

        assertThat(call.calls).hasValue(1);
        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.FORBIDDEN);
        assertThat(e.status()).isEqualTo(403);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.GUARD_NOT_AUTHORIZED);
    }

    @Test
    void notFoundAndConflictAreNotRetried() {
        Scripted notFound = new Scripted("pods", http(404));
        Scripted conflict = new Scripted("image", http(409, "already exists"));

        ClusterAccessException e404 = catchThrowableOfType(ClusterAccessException.class, () -> calls.run(LIST_PODS, notFound));
        ClusterAccessException e409 = catchThrowableOfType(ClusterAccessException.class,
                () -> calls.run(CREATE_IMAGE, conflict));

        assertThat(notFound.calls).hasValue(1);
        assertThat(e404.status()).isEqualTo(404);
        assertThat(conflict.calls).hasValue(1);
        assertThat(e409.status()).isEqualTo(409);
        assertThat(e409.kind()).isEqualTo(ClusterAccessException.Kind.REFUSED);
    }

    @Test
    void serverErrorEveryTimeIsTriedMaxAttemptsTimesThenThrown() {
        KubernetesClientException last = http(500);
        Scripted call = new Scripted("never", http(500), http(500), last, http(500), http(500));

        ClusterAccessException e = catchThrowableOfType(ClusterAccessException.class, () -> calls.run(LIST_PODS, call));

        assertThat(call.calls).hasValue(3);
        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.UNAVAILABLE);
        assertThat(e.status()).isEqualTo(500);
        assertThat(e).hasMessage("list pods in namespace team-a failed, HTTP 500");
        assertThat(e.getCause()).isSameAs(last);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
    }

    @Test
    void failureOutsideFabric8IsRetriedAndReportedAsNoAnswer() {
        IllegalStateException pool = new IllegalStateException("connection pool shut down");
        Scripted call = new Scripted("never", pool, pool, pool, pool);

        ClusterAccessException e = catchThrowableOfType(ClusterAccessException.class, () -> calls.run(LIST_PODS, call));

        assertThat(call.calls).hasValue(3);
        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.UNAVAILABLE);
        assertThat(e.status()).isZero();
        assertThat(e).hasMessage("list pods in namespace team-a failed, no answer: IllegalStateException: connection pool shut down");
        assertThat(e.getCause()).isSameAs(pool);
    }

    @Test
    void transientFailureThenForbiddenStopsAtTheForbidden() {
        Scripted call = new Scripted("pods", http(429), http(401));

        ClusterAccessException e = catchThrowableOfType(ClusterAccessException.class, () -> calls.run(LIST_PODS, call));

        assertThat(call.calls).hasValue(2);
        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.FORBIDDEN);
        assertThat(e.status()).isEqualTo(401);
    }

    @Test
    void maxAttemptsBelowOneStillMakesOneAttempt() {
        ClusterCalls once = new ClusterCalls(config(0, Duration.ofMillis(1), Duration.ofMillis(2)));
        Scripted call = new Scripted("pods", http(503), http(503));

        ClusterAccessException e = catchThrowableOfType(ClusterAccessException.class, () -> once.run(LIST_PODS, call));

        assertThat(call.calls).hasValue(1);
        assertThat(e.status()).isEqualTo(503);
    }

    @Test
    void aCallUnansweredAtTheDeadlineIsGivenUpAsUnavailable() {
        AtomicInteger interrupted = new AtomicInteger();
        ClusterAccessException e = catchThrowableOfType(ClusterAccessException.class,
                () -> calls.withDeadline(Duration.ofMillis(300), () -> calls.run(LIST_PODS, () -> {
                    try {
                        Thread.sleep(10_000);
                    } catch (InterruptedException stopped) {
                        interrupted.incrementAndGet();
                    }
                    return "too late";
                })));

        assertThat(e.kind()).isEqualTo(ClusterAccessException.Kind.UNAVAILABLE);
        assertThat(e.reasonCode()).isEqualTo(ReasonCode.CLUSTER_UNAVAILABLE);
        assertThat(e.refusalMessage()).contains("list pods in namespace team-a was not answered within 300ms")
                .endsWith(UNAVAILABLE_END);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> interrupted.get() == 1);
    }

    @Test
    void callsOfOneDeadlineShareItAndRetriesStopAtIt() {
        ClusterCalls slowRetries = new ClusterCalls(config(20, Duration.ofMillis(100), Duration.ofMillis(100)));
        AtomicInteger tries = new AtomicInteger();
        ClusterAccessException e = catchThrowableOfType(ClusterAccessException.class,
                () -> slowRetries.withDeadline(Duration.ofMillis(450), () -> {
                    slowRetries.run(LIST_PODS, () -> sleepThen(200, "pods"));
                    return slowRetries.run(PATCH_VM, () -> {
                        tries.incrementAndGet();
                        throw http(503);
                    });
                }));

        // 200 ms went to the first call; the second had time for about two attempts, not twenty
        assertThat(tries.get()).isBetween(1, 3);
        assertThat(e.operation()).isEqualTo(PATCH_VM);
        assertThat(e.getMessage()).contains("was not answered within 450ms").contains("last attempt: ")
                .contains("HTTP 503");
    }

    @Test
    void withoutADeadlineCallsAreNotCutShort() {
        assertThat(calls.run(LIST_PODS, () -> sleepThen(300, "pods"))).isEqualTo("pods");
        assertThat(calls.withDeadline(Duration.ofSeconds(5), () -> calls.run(LIST_PODS, () -> sleepThen(300, "again"))))
                .isEqualTo("again");
    }

    private static String sleepThen(long millis, String answer) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return answer;
    }
}
