package dev.vmexportguard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.support.AdmittingApiServer;
import dev.vmexportguard.support.WebhookCertificate;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The admission webhook under load: AdmissionReviews for Harvester's "Export Image" of a VM's volume, posted over
 * HTTPS at a fixed rate as an API server posts them (each on its own, not after the previous answer; connections kept,
 * the certificate trusted as the webhook's {@code caBundle}), timed from post to answer against the webhook's
 * {@code timeoutSeconds} of 5.
 */
final class Admissions {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Identity CREATOR = new Identity(Benchmark.REQUESTER, List.of("system:authenticated"));

    private final URI webhook;
    private final HttpClient client;

    Admissions(int httpsPort, X509Certificate trusted) {
        this.webhook = URI.create("https://localhost:" + httpsPort + "/admission/virtualmachineimages");
        this.client = HttpClient.newBuilder().sslContext(WebhookCertificate.trusting(trusted))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** Posts a review for each VM's volume at {@code perSecond} and times its answer. */
    Phase run(String name, List<Integer> vms, int namespaces, int perSecond, int timeoutSeconds) {
        Phase phase = new Phase(name, vms.size());
        long start = System.nanoTime();
        long interval = TimeUnit.SECONDS.toNanos(1) / perSecond;
        List<CompletableFuture<Double>> answers = new ArrayList<>();
        for (int i = 0; i < vms.size(); i++) {
            long due = start + i * interval;
            for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                LockSupport.parkNanos(wait);
            }
            int vm = vms.get(i);
            String body = review(BenchCluster.namespace(vm, namespaces), BenchCluster.volumeName(vm)).toString();
            long sent = System.nanoTime();
            answers.add(client.sendAsync(HttpRequest.newBuilder(webhook).header("Content-Type", "application/json")
                                    .timeout(Duration.ofSeconds(timeoutSeconds))
                                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                            HttpResponse.BodyHandlers.ofString())
                    .thenApply(answer -> {
                        double ms = (System.nanoTime() - sent) / 1e6;
                        count(phase, outcome(answer));
                        return ms;
                    })
                    .exceptionally(e -> {
                        count(phase, "no answer: " + e.getClass().getSimpleName());
                        return Double.NaN;
                    }));
        }
        List<Double> latencies = new ArrayList<>();
        for (CompletableFuture<Double> answer : answers) {
            double ms = answer.join();
            if (!Double.isNaN(ms)) {
                latencies.add(ms);
            }
        }
        phase.seconds = (System.nanoTime() - start) / 1e9;
        phase.latencyMs = Phase.sorted(latencies);
        phase.answered = latencies.size();
        phase.complete = phase.answered == phase.sent;
        return phase;
    }

    private static synchronized void count(Phase phase, String outcome) {
        phase.outcomes.merge(outcome, 1, Integer::sum);
    }

    /** {@code allowed}, {@code refused}, or the HTTP status of an answer that is neither. */
    private static String outcome(HttpResponse<String> answer) {
        if (answer.statusCode() != 200) {
            return "HTTP " + answer.statusCode();
        }
        try {
            JsonNode response = JSON.readTree(answer.body()).path("response");
            if (response.path("allowed").asBoolean(false)) {
                return "allowed";
            }
            return "refused";
        } catch (Exception e) {
            return "unreadable answer";
        }
    }

    /** The review the API server sends before Harvester's "Export Image" creates an image of {@code volume}. */
    private static ObjectNode review(String namespace, String volume) {
        ObjectNode image = JSON.createObjectNode();
        image.put("apiVersion", "harvesterhci.io/v1beta1");
        image.put("kind", "VirtualMachineImage");
        String name = "image-" + UUID.randomUUID().toString().substring(0, 8);
        image.putObject("metadata").put("name", name);
        image.putObject("spec").put("displayName", "bench-" + volume).put("sourceType", "export-from-volume")
                .put("pvcNamespace", namespace).put("pvcName", volume);
        return AdmittingApiServer.review(UUID.randomUUID().toString(), CREATOR, namespace, image, false);
    }
}
