package dev.vmexportguard.export;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
import jakarta.persistence.PersistenceException;
import jakarta.transaction.Transactional;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/** The export jobs in PostgreSQL. */
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

    public ExportJobs(EntityManager em) {
        this.em = em;
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

    @Transactional
    public long holdingSlots() {
        return em.createQuery("select count(j) from ExportJob j where j.state in ?1", Long.class)
                .setParameter(1, java.util.Arrays.stream(ExportJob.State.values()).filter(ExportJob.State::holdsSlot).toList())
                .getSingleResult();
    }

    /** Saves changes to a job in the caller's transaction. */
    @Transactional(Transactional.TxType.MANDATORY)
    public ExportJob save(ExportJob job) {
        return em.merge(job);
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
