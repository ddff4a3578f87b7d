package dev.vmexportguard.messaging;

import static dev.vmexportguard.support.Requests.newRequestId;
import static dev.vmexportguard.support.Requests.request;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vmexportguard.support.GuardIntegrationTest;
import dev.vmexportguard.support.GuardTopics.Event;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The W3C trace context a request comes with is on every result event of the request; none when it came with none. */
@QuarkusTest
class TraceContextTest extends GuardIntegrationTest {
    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

    @Test
    void everyEventOfAnExportCarriesTheRequestsTraceparent() {
        stoppedVm("vm1", "vm1-disk-0-abcde");
        String id = newRequestId();
        String traceparent = "00-" + TRACE_ID + "-00f067aa0ba902b7-01";
        topics.send(id, request(id, ns, "vm1", null).getBytes(StandardCharsets.UTF_8),
                Map.of("traceparent", traceparent, "tracestate", "vendor=abc"));
        String image = awaitEvent(id, "STARTED").body().path("image").path("name").asText();
        simulator.complete(ns, image, 1);
        assertThat(awaitFinal(id).type()).isEqualTo("COMPLETED");
        List<Event> events = topics.results(id);
        assertThat(events).extracting(Event::type).contains("STARTED", "COMPLETED");
        assertThat(events).allSatisfy(e -> {
            assertThat(e.headers()).containsEntry("traceparent", traceparent).containsEntry("tracestate", "vendor=abc");
        });
    }

    @Test
    void refusalOverHttpCarriesTheHeaderPostedWith() {
        vmWithDisk("web", "Running", "web-disk-0-abcde");
        String id = newRequestId();
        String traceparent = "00-" + TRACE_ID + "-b7ad6b7169203331-01";
        given().contentType("application/json").header("traceparent", traceparent)
                .body(request(id, ns, "web", null)).post("/api/exports").then().statusCode(202);
        Event refused = awaitFinal(id);
        assertThat(refused.reason()).isEqualTo("VM_RUNNING");
        assertThat(refused.headers()).containsEntry("traceparent", traceparent).doesNotContainKey("tracestate");
    }

    @Test
    void requestWithoutTraceContextGetsNone() {
        vmWithDisk("web", "Running", "web-disk-0-abcde");
        String id = send("web", null);
        assertThat(awaitFinal(id).headers()).doesNotContainKeys("traceparent", "tracestate");
    }
}
