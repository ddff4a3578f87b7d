package dev.vmexportguard.api;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.vmexportguard.support.Browser;
import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.OneExportSlot;
import dev.vmexportguard.support.ScriptedAuthenticator;
import dev.vmexportguard.support.ScriptedAuthorizer;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

/**
 * The dashboard in a real browser (headless Chromium), against the guard with its broker, database and simulated
 * cluster: what a person signed in with a token sees, and what changes on the page as result events arrive. Each
 * page is saved as a screenshot in {@code target/dashboard-screenshots}. One export runs at a time here, so that a
 * second one waits in the queue.
 */
@QuarkusTest
@TestProfile(OneExportSlot.class)
class DashboardBrowserTest extends GuardIntegrationTest {
    @TestHTTPResource("/")
    URL root;

    private Browser browser;

    @BeforeEach
    void startBrowser() {
        browser = Browser.start();
    }

    /** Ends every export of the test that still runs or waits: the next test needs the one slot. */
    @AfterEach
    void closeBrowserAndEndExports() {
        browser.close();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            cluster.guardImages(ns).forEach(i -> simulator.complete(ns, i.getMetadata().getName(), 1));
            assertThat(given().get("/api/dashboard/active").then().statusCode(200).extract().jsonPath()
                    .getList("namespace", String.class)).doesNotContain(ns);
        });
    }

    @Test
    void aRunningExportsBarAdvancesToCompletionWithoutReloadingAndTheNextLeavesTheQueue() {
        stoppedVm("vm1", DISK);
        stoppedVm("vm2", "vm2-disk-0");
        String first = send("vm1", null);
        Event started = awaitEvent(first, "STARTED");
        String image = started.body().path("image").path("name").asText();
        String second = send("vm2", null);
        Event queued = awaitEvent(second, "QUEUED");
        assertThat(queued.body().path("queuePosition").asInt()).isEqualTo(1);

        browser.open(root.toString());
        browser.awaitText("#page-sign-in h2", "Sign in");
        browser.screenshot("sign-in");
        browser.find("#token").sendKeys(ScriptedAuthenticator.OPERATOR_TOKEN);
        browser.find("#sign-in-form button[type=submit]").click();

        browser.awaitText("#live", "live");
        browser.await(20, d -> card(first).getText().contains("alice@example.com"));
        String caller = started.body().path("caller").asText("");
        browser.await(10, d -> shown(first, ".vms").equals("vm1") && card(first).getText().contains(ns + "/" + DISK)
                && shown(first, ".caller").equals(caller.isEmpty() ? "—" : caller));
        browser.await(10, d -> shown(second, ".bar-label").equals("waiting: number 1 in the queue"));
        browser.script("window.notReloaded = true");

        simulator.progress(ns, image, 40);
        awaitBar(first, "40");
        browser.await(10, d -> shown(first, ".bar-label").equals("40% copied"));
        browser.screenshot("running");
        simulator.progress(ns, image, 70);
        awaitBar(first, "70");
        simulator.complete(ns, image, 1_073_741_824L);

        browser.await(30, d -> shown(first, ".bar-label").equals("completed: 100% copied"));
        browser.await(10, d -> shown(first, ".badge").equals("COMPLETED"));
        awaitBar(first, "100");
        // the queued export got the slot: its card shows it started, on the same page
        String secondImage = awaitEvent(second, "STARTED").body().path("image").path("name").asText();
        browser.await(30, d -> !shown(second, ".bar-label").contains("in the queue"));
        assertThat(browser.script("return window.notReloaded === true")).as("the page was never reloaded")
                .isEqualTo(true);
        browser.screenshot("running-completed");

        simulator.complete(ns, secondImage, 1);
        awaitFinal(second);
    }

    @Test
    void anAuditorFiltersTheHistoryOpensARefusalDownloadsCsvAndSeesNoOtherNamespace() throws Exception {
        cluster.volume(ns, DISK);
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        String refused = send("vm1", null);
        assertThat(awaitFinal(refused).reason()).isEqualTo("VM_RUNNING");
        stoppedVm("vm2", "vm2-disk-0");
        String exported = send("vm2", null);
        simulator.complete(ns, awaitEvent(exported, "STARTED").body().path("image").path("name").asText(), 1);
        assertThat(awaitFinal(exported).type()).isEqualTo("COMPLETED");
        String other = HarvesterCluster.freshNamespace();
        cluster.volume(other, DISK);
        cluster.vm(other, "vm1", "Running", DISK);
        String theirs = newRequestId();
        topics.send(theirs, request(theirs, other, "vm1", null));
        awaitFinal(theirs);
        // an auditor of this namespace only
        String auditor = "auditor-" + ns;
        String token = ScriptedAuthenticator.token(auditor, List.of(), ScriptedAuthenticator.API_SERVER);
        ScriptedAuthorizer.bindClusterRole(auditor, ns, Path.of("k8s/rbac/vm-export-guard-auditor.yaml"));

        // signed in by keyboard alone
        browser.open(root + "#/history");
        browser.awaitText("#page-sign-in h2", "Sign in");
        browser.find("#token").sendKeys(token, Keys.TAB, Keys.ENTER);
        browser.await(20, d -> d.getCurrentUrl().endsWith("#/running"));
        browser.find("#nav a[data-page=history]").click();
        browser.await(20, d -> rows().size() == 2);
        assertThat(rows()).extracting(r -> r.getAttribute("data-request-id")).containsExactly(exported, refused);
        assertThat(browser.find("#history-table").getText()).doesNotContain(theirs).doesNotContain(other);
        browser.screenshot("history");

        new Select(browser.find("#filters select[name=outcome]")).selectByValue("REJECTED");
        browser.await(20, d -> new Select(browser.find("#filters select[name=reason]")).getOptions().size() > 5);
        new Select(browser.find("#filters select[name=reason]")).selectByValue("VM_RUNNING");
        browser.find("#filters input[name=namespace]").sendKeys(ns);
        browser.find("#filters button[type=submit]").click();
        browser.await(20, d -> rows().size() == 1);
        assertThat(rows().get(0).getAttribute("data-request-id")).isEqualTo(refused);
        assertThat(rows().get(0).getText()).contains("REJECTED").contains("VM_RUNNING");
        browser.screenshot("history-filtered");

        browser.find("#download-csv").click();
        Path csv = browser.awaitDownload(".csv");
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        assertThat(lines.get(0)).isEqualTo("receivedAt,requestId,outcome,status,reason,namespace,vmName,volumeName,"
                + "requestedBy,caller,image,message,updatedAt");
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).contains(refused).contains(",REJECTED,REJECTED,VM_RUNNING," + ns + ",vm1," + DISK
                + ",alice@example.com,");

        rows().get(0).findElement(By.cssSelector("a")).click();
        browser.awaitText("#request-status", "VM_RUNNING");
        assertThat(browser.find("#request-message").getText()).startsWith("Refused: VM " + ns + "/vm1 (Running, "
                + "VMI phase Running) is not fully stopped");
        WebElement vms = browser.find(".evidence-vms");
        assertThat(vms.getText()).contains("vm1").contains("Running").contains("RerunOnFailure");
        assertThat(browser.find(".evidence-pods").getText()).contains("virt-launcher-vm1").contains("Running");
        assertThat(browser.find("ol.events").getText()).contains("REJECTED");
        browser.screenshot("request-refused");

        browser.open(root + "#/request/" + theirs);
        browser.awaitText("#request-error", "No such request in a namespace you may read.");

        browser.open(root + "#/summary?namespace=" + ns);
        browser.awaitText("#summary-total", "2 requests");
        assertThat(browser.find("#summary-reasons").getText()).contains("VM_RUNNING");
        assertThat(browser.find("#summary-body .chart").getText()).contains("REJECTED").contains("COMPLETED");
        browser.screenshot("summary");
    }

    @Test
    void onAPhoneTheHistoryFitsTheScreen() {
        browser.close();
        browser = Browser.start(390, 844);
        cluster.volume(ns, DISK);
        simulator.runningVm(ns, "vm1", "RerunOnFailure", DISK);
        String refused = send("vm1", null);
        awaitFinal(refused);

        browser.open(root + "#/history?namespace=" + ns);
        browser.find("#token").sendKeys(ScriptedAuthenticator.OPERATOR_TOKEN);
        browser.find("#sign-in-form button[type=submit]").click();
        browser.await(20, d -> d.getCurrentUrl().endsWith("#/running"));
        browser.open(root + "#/history?namespace=" + ns);
        browser.await(20, d -> rows().size() == 1);
        Number page = (Number) browser.script("return document.documentElement.scrollWidth");
        Number screen = (Number) browser.script("return window.innerWidth");
        assertThat(page.intValue()).as("no sideways scrolling").isLessThanOrEqualTo(screen.intValue());
        browser.screenshot("history-phone");
    }

    private WebElement card(String requestId) {
        return browser.await(20, d -> d.findElement(By.cssSelector("article[data-request-id='" + requestId + "']")));
    }

    /** The text of {@code css} in the request's card as the page shows it now. */
    private String shown(String requestId, String css) {
        return card(requestId).findElement(By.cssSelector(css)).getText();
    }

    private void awaitBar(String requestId, String value) {
        browser.await(30, d -> value.equals(card(requestId).findElement(By.cssSelector(".bar"))
                .getAttribute("aria-valuenow")));
    }

    private List<WebElement> rows() {
        return browser.driver().findElements(By.cssSelector("#history-table tbody tr"));
    }
}
