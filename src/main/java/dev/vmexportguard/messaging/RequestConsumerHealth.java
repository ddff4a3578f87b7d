package dev.vmexportguard.messaging;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Default;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Not ready while the request consumer waits for the database: records wait on the topic, none is lost. */
@Readiness
@Default
@ApplicationScoped
public class RequestConsumerHealth implements HealthCheck {

    private record Waiting(Instant since, String record, String cause) {
    }

    private final AtomicReference<Waiting> waiting = new AtomicReference<>();
    private final Clock clock;

    public RequestConsumerHealth(Clock clock) {
        this.clock = clock;
    }

    void waitingFor(String record, String cause) {
        Waiting before = waiting.get();
        waiting.set(new Waiting(before == null ? clock.instant() : before.since(), record, cause));
    }

    void serving() {
        waiting.set(null);
    }

    @Override
    public HealthCheckResponse call() {
        Waiting now = waiting.get();
        if (now == null) {
            return HealthCheckResponse.named("request-consumer").up().build();
        }
        return HealthCheckResponse.named("request-consumer").down()
                .withData("waiting-for", "the database")
                .withData("since", now.since().toString())
                .withData("record", now.record())
                .withData("cause", now.cause())
                .build();
    }
}
