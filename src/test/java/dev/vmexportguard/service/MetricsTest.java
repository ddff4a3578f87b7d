package dev.vmexportguard.service;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.GuardIntegrationTest;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The guard's metrics, scraped from /q/metrics in Prometheus' text format while real requests are served, and the
 * alerts of k8s/monitoring, whose every metric must be in that scrape.
 */
@QuarkusTest
class MetricsTest extends GuardIntegrationTest {
    private static final Path RULE = Path.of("k8s", "monitoring", "prometheusrule.yaml");
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** One scrape: every sample by its name and its labels, in label order. */
    record Scrape(Map<String, Double> samples, Set<String> names) {
        double value(String name, Map<String, String> labels) {
            return samples.getOrDefault(key(name, labels), 0.0);
        }

        static String key(String name, Map<String, String> labels) {
            return name + new TreeMap<>(labels);
        }
    }

    static Scrape scrape() {
        String body = given().get("/q/metrics").then().statusCode(200).extract().asString();
        Map<String, Double> samples = new HashMap<>();
        Set<String> names = new LinkedHashSet<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("a sample line: %s", line).isTrue();
            Map<String, String> labels = new HashMap<>();
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            samples.put(Scrape.key(m.group(1), labels), Double.parseDouble(m.group(4)));
            names.add(m.group(1));
        }
        return new Scrape(samples, names);
    }

    private static Map<String, String> requests(String source, String outcome, String reason) {
        return Map.of("source", source, "outcome", outcome, "reason", reason);
    }

    @Test
    void requestsExportsAndClusterCallsAreCounted() {
        Scrape before = scrape();

        vmWithDisk("web", "Running", "web-disk-0-abcde");
        String refused = send("web", null);
        assertThat(awaitFinal(refused).reason()).isEqualTo("VM_RUNNING");

        stoppedVm("db", "db-disk-0-abcde");
        String exported = send("db", null);
        String image = awaitEvent(exported, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);
        assertThat(awaitFinal(exported).type()).isEqualTo("COMPLETED");

        stoppedVm("app", "app-disk-0-abcde");
        String overHttp = newRequestId();
        given().contentType("application/json").body(request(overHttp, ns, "app", null))
                .post("/api/exports").then().statusCode(202);
        String httpImage = awaitEvent(overHttp, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, httpImage, 1);
        assertThat(awaitFinal(overHttp).type()).isEqualTo("COMPLETED");

        // the relay counts an event once it is published and audited; the gauges are read every dispatch interval
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            Scrape after = scrape();
            assertThat(after.value("guard_result_events_total", Map.of("type", "COMPLETED", "reason", ""))
                    - before.value("guard_result_events_total", Map.of("type", "COMPLETED", "reason", "")))
                    .isEqualTo(2.0);
            assertThat(after.value("guard_exports", Map.of("state", "RUNNING"))).isEqualTo(0.0);
        });
        Scrape after = scrape();
        assertThat(delta(before, after, "guard_requests_total", requests("kafka", "REJECTED", "VM_RUNNING")))
                .isEqualTo(1.0);
        assertThat(delta(before, after, "guard_requests_total", requests("kafka", "ACCEPTED", ""))).isEqualTo(1.0);
        assertThat(delta(before, after, "guard_requests_total", requests("http", "ACCEPTED", ""))).isEqualTo(1.0);
        assertThat(delta(before, after, "guard_requests_total", requests("http", "REJECTED", "VM_RUNNING")))
                .isEqualTo(0.0);
        assertThat(delta(before, after, "guard_request_decision_seconds_count", Map.of())).isEqualTo(3.0);
        assertThat(after.names()).contains("guard_request_decision_seconds_bucket");
        assertThat(after.value("guard_request_decision_seconds_bucket", Map.of("le", "0.5"))).isPositive();
        assertThat(delta(before, after, "guard_export_duration_seconds_count", Map.of("result", "COMPLETED")))
                .isEqualTo(2.0);
        assertThat(delta(before, after, "guard_result_events_total", Map.of("type", "REJECTED", "reason", "VM_RUNNING")))
                .isEqualTo(1.0);
        assertThat(delta(before, after, "guard_cluster_calls_total", Map.of("verb", "create",
                "resource", "virtualmachineimages.harvesterhci.io", "outcome", "success"))).isEqualTo(2.0);
        assertThat(after.value("guard_leader", Map.of())).isEqualTo(1.0);
        assertThat(after.value("guard_leader_epoch", Map.of())).isPositive();
        assertThat(after.value("guard_exports_queued", Map.of())).isEqualTo(0.0);
        assertThat(after.names()).contains("guard_vm_restart_failures_total", "guard_outbox_pending",
                "guard_outbox_oldest_pending_seconds", "guard_exports_oldest_running_seconds",
                "kafka_consumer_fetch_manager_records_lag_max");
    }

    private static double delta(Scrape before, Scrape after, String name, Map<String, String> labels) {
        return after.value(name, labels) - before.value(name, labels);
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyAlertUsesMetricsTheGuardPublishes() throws IOException {
        // a request served first, so that the counters the alerts read exist
        vmWithDisk("web", "Running", "web-disk-0-abcde");
        awaitFinal(send("web", null));
        Set<String> published = scrape().names();

        Map<String, Object> rule = Serialization.unmarshal(Files.readString(RULE), Map.class);
        assertThat(rule).containsEntry("kind", "PrometheusRule").containsEntry("apiVersion", "monitoring.coreos.com/v1");
        List<Map<String, Object>> groups = (List<Map<String, Object>>) ((Map<String, Object>) rule.get("spec")).get("groups");
        int alerts = 0;
        for (Map<String, Object> group : groups) {
            for (Map<String, Object> alert : (List<Map<String, Object>>) group.get("rules")) {
                alerts++;
                Map<String, Object> annotations = (Map<String, Object>) alert.get("annotations");
                assertThat(annotations).as("%s", alert.get("alert")).containsKeys("summary", "description", "runbook");
                Set<String> used = metricsIn((String) alert.get("expr"));
                assertThat(used).as("%s", alert.get("alert")).isNotEmpty();
                assertThat(published).as("metrics of %s", alert.get("alert")).containsAll(used);
            }
        }
        assertThat(alerts).isGreaterThanOrEqualTo(6);
    }

    /** The metric names in a PromQL expression: identifiers of guard_ or kafka_ metrics outside braces. */
    static Set<String> metricsIn(String expr) {
        String outsideLabels = expr.replaceAll("\\{[^}]*}", "");
        Set<String> names = new LinkedHashSet<>();
        Matcher m = Pattern.compile("\\b((?:guard|kafka)_[a-zA-Z0-9_]+)").matcher(outsideLabels);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }
}
