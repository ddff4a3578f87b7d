package dev.vmexportguard.export;

import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.outbox.EventOutbox;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
import jakarta.persistence.OptimisticLockException;
import jakarta.persistence.PersistenceException;
import jakarta.transaction.Transactional;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The export jobs in PostgreSQL. A job moves on in one way: {@link #advance} records its new state and the event
 * that reports it in one transaction, so that no step is recorded without its event, nor an event without its step.
 * The lifecycle's writes ({@link #advance}, {@link #update}, {@link #claim}) are fenced: they fail with
 * {@link Leadership.NotLeaderException} unless this replica still leads under the epoch the job was loaded in
 * ({@link #inStates}), and with an optimistic lock failure when the row changed since. The request path's insert
 * ({@link #accept}) is not: any replica accepts requests.
 */
@ApplicationScoped
public class ExportJobs {
    static final String ONE_ACTIVE_PER_VOLUME = "export_job_one_active_per_volume";
    private static final String UNIQUE_VIOLATION = "23505";

    /** The volume already has an active export: the database's unique index refused a second one. */
    public static class VolumeBusyException extends RuntimeException {
        VolumeBusyException() {
            super("volume busy");
        }
    }

    private final EntityManager em;
    private final EventOutbox outbox;
    private final Clock clock;

    private final Leadership leadership;

    public ExportJobs(EntityManager em, EventOutbox outbox, Clock clock, Leadership leadership) {
        this.em = em;
        this.outbox = outbox;
        this.clock = clock;
        this.leadership = leadership;
    }

    /**
     * Moves a job to {@code state}, with the changes made to it before the call, and records {@code events} (about
     * the job, at this time, in this order) in one new transaction.
     */
    public void advance(ExportJob job, ExportJob.State state, ResultEvent.Builder... events) {
        QuarkusTransaction.requiringNew().run(() -> {
            leadership.fence(job.leaderEpoch);
            job.state = state;
            merge(job);
            for (ResultEvent.Builder event : events) {
                outbox.add(event.build(job.subject(), clock.instant()), job.source);
            }
        });
    }

    /** Records a change to a job that is no step of its own (what is about to be done), in a new transaction. */
    public void update(ExportJob job, Consumer<ExportJob> change) {
        QuarkusTransaction.requiringNew().run(() -> {
            leadership.fence(job.leaderEpoch);
            change.accept(job);
            merge(job);
        });
    }

    /**
     * Before a step of the lifecycle reads or calls the cluster for a job: fails unless this replica still leads
     * under the epoch the job was loaded in and the job is unchanged since.
     */
    public void claim(ExportJob job) {
        QuarkusTransaction.requiringNew().run(() -> {
            leadership.fence(job.leaderEpoch);
            Number version = (Number) em.createNativeQuery("select version from export_job where request_id = ?1")
                    .setParameter(1, job.requestId).getSingleResult();
            if (version.longValue() != job.version) {
                throw new OptimisticLockException("export " + job.requestId + " changed since it was loaded");
            }
        });
    }

    /** Writes a job loaded earlier; its version is checked and, once flushed, carried back to it. */
    private void merge(ExportJob job) {
        ExportJob managed = em.merge(job);
        em.flush();
        job.version = managed.version;
    }

    /**
     * Records an accepted request in the caller's transaction. Throws {@link VolumeBusyException} when another
     * export of the volume is active: this holds across replicas, as the database enforces it.
     */
    @Transactional(Transactional.TxType.MANDATORY)
    public void accept(ExportJob job) {
        try {
            em.persist(job);
            em.flush();
        } catch (PersistenceException e) {
            if (violates(e, ONE_ACTIVE_PER_VOLUME)) {
                throw new VolumeBusyException();
            }
            throw e;
        }
    }

    @Transactional
    public Optional<ExportJob> find(String requestId) {
        return Optional.ofNullable(em.find(ExportJob.class, requestId));
    }

    @Transactional
    public Optional<ExportJob> activeOn(String namespace, String volumeName) {
        return em.createQuery("select j from ExportJob j where j.namespace = ?1 and j.volumeName = ?2 and j.state <> ?3",
                        ExportJob.class)
                .setParameter(1, namespace).setParameter(2, volumeName).setParameter(3, ExportJob.State.ENDED)
                .getResultStream().findFirst();
    }

    /**
     * Jobs in the given states, oldest acceptance first, for the lifecycle: each carries the leader epoch of this
     * replica now (none when it does not lead), which fences its writes.
     */
    @Transactional
    public List<ExportJob> inStates(ExportJob.State... states) {
        Long epoch = leadership.epoch().orElse(null);
        List<ExportJob> found = em.createQuery("select j from ExportJob j where j.state in ?1 order by j.seq",
                        ExportJob.class)
                .setParameter(1, List.of(states))
                .getResultList();
        found.forEach(j -> j.leaderEpoch = epoch);
        return found;
    }

    /** Every job not ended, oldest acceptance first: for reading only (no leader epoch). */
    @Transactional
    public List<ExportJob> unended() {
        return em.createQuery("select j from ExportJob j where j.state <> ?1 order by j.seq", ExportJob.class)
                .setParameter(1, ExportJob.State.ENDED)
                .getResultList();
    }

    /** The jobs of these requests (those that have one). */
    @Transactional
    public List<ExportJob> ofRequests(Collection<String> requestIds) {
        if (requestIds.isEmpty()) {
            return List.of();
        }
        return em.createQuery("select j from ExportJob j where j.requestId in ?1", ExportJob.class)
                .setParameter(1, requestIds)
                .getResultList();
    }

    @Transactional
    public long holdingSlots() {
        return em.createQuery("select count(j) from ExportJob j where j.state in ?1", Long.class)
                .setParameter(1, Arrays.stream(ExportJob.State.values()).filter(ExportJob.State::holdsSlot).toList())
                .getSingleResult();
    }

    private static boolean violates(Throwable e, String constraint) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && UNIQUE_VIOLATION.equals(sql.getSQLState())
                    && String.valueOf(sql.getMessage()).contains(constraint)) {
                return true;
            }
        }
        return false;
    }
}
