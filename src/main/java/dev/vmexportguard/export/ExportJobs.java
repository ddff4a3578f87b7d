package dev.vmexportguard.export;

import dev.vmexportguard.decision.ResultEvent;
import dev.vmexportguard.outbox.EventOutbox;
import io.quarkus.narayana.jta.QuarkusTransaction;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
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

    public ExportJobs(EntityManager em, EventOutbox outbox, Clock clock) {
        this.em = em;
        this.outbox = outbox;
        this.clock = clock;
    }

    /**
     * Moves a job to {@code state}, with the changes made to it before the call, and records {@code events} (about
     * the job, at this time, in this order) in one new transaction.
     */
    public void advance(ExportJob job, ExportJob.State state, ResultEvent.Builder... events) {
        QuarkusTransaction.requiringNew().run(() -> {
            job.state = state;
            em.merge(job);
            for (ResultEvent.Builder event : events) {
                outbox.add(event.build(job.subject(), clock.instant()), job.source);
            }
        });
    }

    /** Records a change to a job that is no step of its own (what is about to be done), in a new transaction. */
    public void update(ExportJob job, Consumer<ExportJob> change) {
        QuarkusTransaction.requiringNew().run(() -> {
            change.accept(job);
            em.merge(job);
        });
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

    /** Jobs in the given states, oldest acceptance first. */
    @Transactional
    public List<ExportJob> inStates(ExportJob.State... states) {
        return em.createQuery("select j from ExportJob j where j.state in ?1 order by j.seq", ExportJob.class)
                .setParameter(1, List.of(states))
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
