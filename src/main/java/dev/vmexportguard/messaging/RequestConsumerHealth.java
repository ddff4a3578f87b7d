package dev.vmexportguard.messaging;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Default;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Not ready while the request consumer waits for the infrastructure: records whose requests wait for the database,
 * or an API server that did not answer (in time) the last request that needed it, until one is answered again.
 * Records wait on the topic meanwhile; none is lost.
 */
@Readiness
@Default
@ApplicationScoped
public class RequestConsumerHealth implements HealthCheck {

    private record Waiting(Instant since, String record, String cause) {
    }

    /** Per record, its request's wait for the database. */
    private final Map<String, Waiting> database = new ConcurrentHashMap<>();
    private final AtomicReference<Waiting> apiServer = new AtomicReference<>();
    private final AtomicInteger inHand = new AtomicInteger();
    private final Clock clock;

    public RequestConsumerHealth(Clock clock) {
        this.clock = clock;
    }

    void waitingFor(String record, String cause) {
        database.compute(record, (r, before) -> new Waiting(before == null ? clock.instant() : before.since(), r, cause));
    }

    void serving(String record) {
        database.remove(record);
    }

    /** A request was decided ({@code answered}) or refused because the API server did not answer (in time). */
    void clusterAnswered(boolean answered, String record) {
        if (answered) {
            apiServer.set(null);
        } else {
            apiServer.updateAndGet(before -> new Waiting(before == null ? clock.instant() : before.since(), record,
                    "a request was refused CLUSTER_UNAVAILABLE"));
        }
    }

    void taken() {
        inHand.incrementAndGet();
    }

    void ended() {
        inHand.decrementAndGet();
    }

    @Override
    public HealthCheckResponse call() {
        List<Waiting> databaseWaits = new ArrayList<>(database.values());
        databaseWaits.sort(Comparator.comparing(Waiting::since));
        Waiting cluster = apiServer.get();
        HealthCheckResponseBuilder response = HealthCheckResponse.named("request-consumer")
                .withData("records-in-hand", inHand.get());
        if (databaseWaits.isEmpty() && cluster == null) {
            return response.up().build();
        }
        List<String> waitingFor = new ArrayList<>();
        if (!databaseWaits.isEmpty()) {
            Waiting oldest = databaseWaits.get(0);
            waitingFor.add("the database");
            response.withData("since", oldest.since().toString())
                    .withData("record", oldest.record())
                    .withData("cause", oldest.cause())
                    .withData("records-waiting", databaseWaits.size());
        }
        if (cluster != null) {
            waitingFor.add("the Kubernetes API server");
            response.withData("api-server-since", cluster.since().toString())
                    .withData("api-server-record", cluster.record())
                    .withData("api-server-cause", cluster.cause());
        }
        return response.down().withData("waiting-for", String.join(", ", waitingFor)).build();
    }
}
