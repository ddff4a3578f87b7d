package dev.vmexportguard.api;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.audit.AuditEntry;
import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.audit.RequestSource;
import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.ScriptedAuthenticator;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * What the dashboard's pages read, through the API they use: requests one line each with filters and paging, the CSV
 * download, the summary, the exports running now, and the live stream, each limited to the namespaces the reader may
 * read.
 */
@QuarkusTest
class DashboardApiTest extends GuardIntegrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestHTTPResource("/api/dashboard/stream")
    URL stream;

    @Inject
    AuditLog audit;

    @Test
    void requestsAreOneLineEachWithTheirOutcomeFilteredAndPaged() {
        Instant before = Instant.now();
        cluster.volume(ns, DISK);
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        String refused = send("vm1", null);
        awaitFinal(refused);
        stoppedVm("vm2", "vm2-disk-0");
        String running = send("vm2", null);
        String image = awaitEvent(running, "STARTED").body().path("image").path("name").asText();
        String bob = sendAs("bob@example.com", "vm9", "");
        awaitFinal(bob);

        JsonPath all = given().get("/api/dashboard/requests?namespace=" + ns).then().statusCode(200)
                .extract().jsonPath();
        assertThat(all.getList("items.requestId", String.class)).containsExactly(bob, running, refused);
        assertThat(all.getList("items.outcome", String.class)).containsExactly("REJECTED", null, "REJECTED");
        assertThat(all.getList("items.status", String.class)).containsExactly("REJECTED", "STARTED", "REJECTED");
        assertThat(all.getList("items.reason", String.class)).containsExactly("VM_NOT_FOUND", null, "VM_RUNNING");
        assertThat(all.getString("items[1].imageName")).isEqualTo(image);
        assertThat(all.getString("nextCursor")).isNull();

        assertThat(ids("?namespace=" + ns + "&outcome=REJECTED&reason=VM_RUNNING")).containsExactly(refused);
        assertThat(ids("?namespace=" + ns + "&outcome=IN_PROGRESS")).containsExactly(running);
        assertThat(ids("?namespace=" + ns + "&requestedBy=bob@example.com")).containsExactly(bob);
        assertThat(ids("?namespace=" + ns + "&since=" + before)).containsExactly(bob, running, refused);
        assertThat(ids("?namespace=" + ns + "&until=" + before)).isEmpty();

        JsonPath first = given().get("/api/dashboard/requests?namespace=" + ns + "&limit=2").then().statusCode(200)
                .extract().jsonPath();
        assertThat(first.getList("items.requestId", String.class)).containsExactly(bob, running);
        assertThat(ids("?namespace=" + ns + "&limit=2&cursor=" + first.getString("nextCursor")))
                .containsExactly(refused);

        given().get("/api/dashboard/requests?outcome=DONE").then().statusCode(400)
                .body("detail", containsString("outcome must be one of"));
        given().get("/api/dashboard/requests?reason=NOPE").then().statusCode(400)
                .body("detail", containsString("reason must be a reason code"));
        given().get("/api/dashboard/requests?since=yesterday").then().statusCode(400);

        simulator.complete(ns, image, 1);
        awaitFinal(running);
        assertThat(ids("?namespace=" + ns + "&outcome=COMPLETED")).containsExactly(running);
    }

    @Test
    void theCsvHoldsTheFilteredRequestsAndNoCellASpreadsheetWouldRun() {
        cluster.volume(ns, DISK);
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        // a requestId may start with '-': a spreadsheet would take the cell for a formula
        String formula = "-1-" + ns;
        topics.send(formula, request(formula, ns, "vm1", null));
        awaitFinal(formula);
        String plain = send("vm1", null);
        awaitFinal(plain);

        var answer = given().get("/api/dashboard/requests.csv?namespace=" + ns).then().statusCode(200)
                .contentType(containsString("text/csv"))
                .header("Content-Disposition", containsString("attachment; filename=\"vm-export-guard-requests-"))
                .extract().asString();
        List<String> lines = answer.lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).isEqualTo("receivedAt,requestId,outcome,status,reason,namespace,vmName,volumeName,"
                + "requestedBy,caller,image,message,updatedAt");
        assertThat(lines.get(1)).contains("," + plain + ",REJECTED,REJECTED,VM_RUNNING," + ns + ",vm1,");
        assertThat(lines.get(2)).contains(",'" + formula + ",REJECTED,").doesNotContain(",-1-");
        // a message with commas is one quoted cell
        assertThat(lines.get(1)).contains(",\"Refused: VM " + ns + "/vm1 (Running, VMI phase Running) is not fully");
        assertThat(given().get("/api/dashboard/requests.csv?namespace=" + ns + "&outcome=COMPLETED").then()
                .statusCode(200).extract().asString().lines().count()).as("the header only").isEqualTo(1);
    }

    /**
     * A download longer than one page of the audit ({@link Paging#MAX_LIMIT} lines) reads the pages after the first
     * while it streams: every request once, newest first. The requests are recorded as the decision path records a
     * request taken in.
     */
    @Test
    void aCsvLongerThanOnePageHoldsEveryRequestOnceNewestFirst() {
        int count = Paging.MAX_LIMIT + 20;
        Instant first = Instant.now().minus(Duration.ofHours(1));
        QuarkusTransaction.requiringNew().run(() -> {
            for (int i = 0; i < count; i++) {
                audit.append(AuditEntry.received(new ResultEvent.Subject(ns + "-" + i, ns, "vm1", null, "alice",
                        null, "alice"), "{}", new RequestSource("vm-export-requests", 0, (long) i),
                        first.plusMillis(i)));
            }
        });

        List<String> lines = given().get("/api/dashboard/requests.csv?namespace=" + ns).then().statusCode(200)
                .extract().asString().lines().toList();

        assertThat(lines).hasSize(count + 1);
        List<String> ids = lines.subList(1, lines.size()).stream().map(line -> line.split(",")[1]).toList();
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(ids.get(0)).isEqualTo(ns + "-" + (count - 1));
        assertThat(ids.get(Paging.MAX_LIMIT - 1)).isEqualTo(ns + "-20");
        assertThat(ids.get(Paging.MAX_LIMIT)).as("the first line of the second page").isEqualTo(ns + "-19");
        assertThat(ids.get(count - 1)).isEqualTo(ns + "-0");
    }

    @Test
    void aReaderOfOneNamespaceSeesItsRequestsSummaryExportsAndEventsOnly() throws Exception {
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(other, DISK);
        cluster.vm(other, "vm1", "Running", DISK);
        stoppedVm("vm1", DISK);
        stoppedVm("vm2", "vm2-disk-0");
        String reader = "reader-" + ns;
        String token = ScriptedAuthenticator.token(reader, List.of(), ScriptedAuthenticator.API_SERVER);
        ScriptedAuthorizer.bindClusterRole(reader, ns, Path.of("k8s/rbac/vm-export-guard-auditor.yaml"));

        List<JsonNode> seen = new CopyOnWriteArrayList<>();
        ExecutorService listening = Executors.newSingleThreadExecutor();
        HttpResponse<java.io.InputStream> connected = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(stream.toURI()).header("Authorization", "Bearer " + token)
                        .header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try {
            assertThat(connected.statusCode()).isEqualTo(200);
            assertThat(connected.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
            listening.submit(() -> {
                try (BufferedReader lines = new BufferedReader(new InputStreamReader(connected.body(),
                        StandardCharsets.UTF_8))) {
                    for (String line; (line = lines.readLine()) != null; ) {
                        if (line.startsWith("data:")) {
                            seen.add(JSON.readTree(line.substring(5).trim()));
                        }
                    }
                }
                return null;
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> seen.stream()
                    .anyMatch(e -> "CONNECTED".equals(e.path("type").asText())));

            String theirs = newRequestId();
            topics.send(theirs, request(theirs, other, "vm1", null));
            String mine = send("vm1", null);
            String image = awaitEvent(mine, "STARTED").body().path("image").path("name").asText();
            simulator.progress(ns, image, 50);
            awaitEvent(mine, "PROGRESS");
            awaitFinal(theirs);

            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(seen)
                    .anySatisfy(e -> assertThat(e.path("type").asText()).isEqualTo("PROGRESS")));
            JsonNode progress = seen.stream().filter(e -> "PROGRESS".equals(e.path("type").asText())).findFirst()
                    .orElseThrow();
            assertThat(progress.path("requestId").asText()).isEqualTo(mine);
            assertThat(progress.path("image").path("progress").asInt()).isEqualTo(50);
            // the other namespace's refusal was published before this one's progress, and was not sent here
            assertThat(seen).noneMatch(e -> theirs.equals(e.path("requestId").asText()));
            assertThat(seen).allMatch(e -> e.path("namespace").isMissingNode() || ns.equals(e.path("namespace").asText()));

            RestAssured.requestSpecification = null;
            JsonPath active = given().header("Authorization", "Bearer " + token).get("/api/dashboard/active").then()
                    .statusCode(200).extract().jsonPath();
            assertThat(active.getList("requestId", String.class)).containsExactly(mine);
            assertThat(active.getInt("[0].progress")).isEqualTo(50);
            assertThat(active.getList("[0].vms", String.class)).containsExactly("vm1");
            assertThat(active.getString("[0].state")).isEqualTo("RUNNING");
            assertThat(active.getString("[0].queuePosition")).isNull();

            given().header("Authorization", "Bearer " + token).get("/api/dashboard/requests").then().statusCode(200)
                    .body("items.namespace.unique()", equalTo(List.of(ns)));
            given().header("Authorization", "Bearer " + token).get("/api/dashboard/requests?namespace=" + other)
                    .then().statusCode(200).body("items.size()", equalTo(0));
            JsonPath summary = given().header("Authorization", "Bearer " + token).get("/api/dashboard/summary")
                    .then().statusCode(200).extract().jsonPath();
            assertThat(summary.getList("outcomes.key", String.class)).containsExactly("IN_PROGRESS");
            assertThat(summary.getInt("running")).isEqualTo(1);
            given().get("/api/dashboard/active").then().statusCode(401);

            simulator.complete(ns, image, 1);
            awaitFinal(mine);
        } finally {
            connected.body().close();
            listening.shutdownNow();
        }
    }

    private static List<String> ids(String query) {
        return given().get("/api/dashboard/requests" + query).then().statusCode(200).extract().jsonPath()
                .getList("items.requestId", String.class);
    }
}
