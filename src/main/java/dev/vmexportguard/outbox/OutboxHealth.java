package dev.vmexportguard.outbox;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Default;
import jakarta.persistence.EntityManager;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * What waits in the outbox: rows pending, rows set aside after failing again and again (they stay, for an operator
 * to look at), and the age of the oldest pending one. In the readiness details and as the metrics
 * {@code guard_outbox_pending} and {@code guard_outbox_parked}. A row set aside does not make the guard unready.
 */
@Readiness
@Default
@ApplicationScoped
public class OutboxHealth implements HealthCheck {

    private final EntityManager em;
    /** The last counts read; metrics are scraped on an I/O thread, which must not wait for the database. */
    private volatile double[] last = {0, 0, 0};

    public OutboxHealth(EntityManager em, MeterRegistry registry) {
        this.em = em;
        // a gauge left by an earlier start in the same JVM (tests start the guard again) would read its old owner
        for (String name : new String[] {"guard.outbox.pending", "guard.outbox.parked", "guard.outbox.oldest.pending.seconds"}) {
            registry.find(name).meters().forEach(registry::remove);
        }
        Gauge.builder("guard.outbox.pending", () -> last[0])
                .description("Result events decided but not yet published and audited").register(registry);
        Gauge.builder("guard.outbox.parked", () -> last[1])
                .description("Outbox rows set aside after failing again and again").register(registry);
        Gauge.builder("guard.outbox.oldest.pending.seconds", () -> last[2])
                .description("Age of the oldest result event not yet published and audited").register(registry);
    }

    /** Registers the metrics at start (a bean is otherwise made on first use) and reads the counts once. */
    void atStart(@Observes StartupEvent ignored) {
        refresh();
    }

    /** Reads the counts again (from the relay's thread after each round, and for readiness). */
    void refresh() {
        last = counts();
    }

    /** Pending, parked, and the oldest pending row's age in seconds (0 when none). */
    private double[] counts() {
        try {
            Object[] row = QuarkusTransaction.requiringNew().call(() -> (Object[]) em.createNativeQuery(
                    "select count(*) filter (where parked_at is null), count(*) filter (where parked_at is not null),"
                            + " min(created_at) filter (where parked_at is null) from outbox_event").getSingleResult());
            Instant oldest = row[2] == null ? null : row[2] instanceof OffsetDateTime t ? t.toInstant()
                    : row[2] instanceof Instant i ? i : ((java.sql.Timestamp) row[2]).toInstant();
            return new double[] {((Number) row[0]).doubleValue(), ((Number) row[1]).doubleValue(),
                    oldest == null ? 0 : Duration.between(oldest, Instant.now()).toSeconds()};
        } catch (RuntimeException e) {
            return new double[] {Double.NaN, Double.NaN, Double.NaN};
        }
    }

    @Override
    public HealthCheckResponse call() {
        refresh();
        double[] counts = last;
        return HealthCheckResponse.named("outbox").up()
                .withData("pending", (long) counts[0])
                .withData("parked", (long) counts[1])
                .withData("oldest-pending-seconds", (long) counts[2])
                .build();
    }
}
