package dev.vmexportguard.export;

import dev.vmexportguard.concurrent.SerialWorker;
import dev.vmexportguard.config.GuardConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.persistence.EntityManager;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The export jobs as metrics: how many are in each state that has not ended ({@code guard_exports{state}}), how
 * many wait for a slot ({@code guard_exports_queued}) and how long the oldest running copy has run
 * ({@code guard_exports_oldest_running_seconds}). Read with one query over the active jobs (the index on state) every
 * {@code guard.exports.dispatch-interval}, on a thread of its own: metrics are scraped on an I/O thread, which must
 * not wait for the database. Every replica reports the same numbers: they come from the shared database.
 */
@ApplicationScoped
public class ExportMetrics {
    private final EntityManager em;
    private final Duration interval;
    private final SerialWorker worker = new SerialWorker("export-metrics");
    private volatile Map<ExportJob.State, Double> byState = new EnumMap<>(ExportJob.State.class);
    private volatile double oldestRunningSeconds;

    public ExportMetrics(EntityManager em, GuardConfig config, MeterRegistry registry) {
        this.em = em;
        this.interval = config.exports().dispatchInterval();
        // gauges left by an earlier start in the same JVM (tests start the guard again) would read their old owner
        for (String name : new String[] {"guard.exports", "guard.exports.queued", "guard.exports.oldest.running.seconds"}) {
            registry.find(name).meters().forEach(registry::remove);
        }
        for (ExportJob.State state : ExportJob.State.values()) {
            if (state != ExportJob.State.ENDED) {
                Gauge.builder("guard.exports", () -> byState.getOrDefault(state, 0.0)).tag("state", state.name())
                        .description("Exports in this state (those that have not ended)").register(registry);
            }
        }
        Gauge.builder("guard.exports.queued", () -> byState.getOrDefault(ExportJob.State.PENDING, 0.0)
                        + byState.getOrDefault(ExportJob.State.QUEUED, 0.0))
                .description("Exports accepted and waiting for a slot").register(registry);
        Gauge.builder("guard.exports.oldest.running.seconds", () -> oldestRunningSeconds)
                .description("How long the oldest running export has been copying; 0 when none runs").register(registry);
    }

    void start(@Observes StartupEvent ignored) {
        refresh();
        worker.every(interval, "reading the exports' states for the metrics", this::refresh);
    }

    void stop(@Observes ShutdownEvent ignored) {
        worker.close();
    }

    void refresh() {
        try {
            @SuppressWarnings("unchecked")
            List<Object[]> rows = QuarkusTransaction.requiringNew().call(() -> em.createNativeQuery(
                    "select state, count(*), min(started_at) from export_job where state <> 'ENDED' group by state")
                    .getResultList());
            Map<ExportJob.State, Double> counts = new EnumMap<>(ExportJob.State.class);
            double oldest = 0;
            for (Object[] row : rows) {
                ExportJob.State state = ExportJob.State.valueOf((String) row[0]);
                counts.put(state, ((Number) row[1]).doubleValue());
                if (state == ExportJob.State.RUNNING && row[2] != null) {
                    Instant started = row[2] instanceof OffsetDateTime t ? t.toInstant()
                            : row[2] instanceof Instant i ? i : ((Timestamp) row[2]).toInstant();
                    oldest = Math.max(0, Duration.between(started, Instant.now()).toSeconds());
                }
            }
            byState = counts;
            oldestRunningSeconds = oldest;
        } catch (RuntimeException e) {
            // the database does not answer: the last numbers stay
        }
    }
}
