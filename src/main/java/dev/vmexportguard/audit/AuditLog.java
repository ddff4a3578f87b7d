package dev.vmexportguard.audit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
import jakarta.persistence.TypedQuery;
import jakarta.transaction.Transactional;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** The append-only audit log in PostgreSQL: rows are added and read, never changed. */
@ApplicationScoped
public class AuditLog {

    private final EntityManager em;

    public AuditLog(EntityManager em) {
        this.em = em;
    }

    @Transactional
    public void append(AuditEntry entry) {
        em.persist(entry);
    }

    /** Newest first; {@code beforeId} is the paging cursor (exclusive), null for the first page. */
    @Transactional
    public List<AuditEntry> search(AuditFilter filter, Long beforeId, int limit) {
        StringBuilder jpql = new StringBuilder("select e from AuditEntry e where 1 = 1");
        List<Object> params = new ArrayList<>();
        condition(jpql, params, "e.requestId = ?", filter.requestId());
        condition(jpql, params, "e.namespace = ?", filter.namespace());
        condition(jpql, params, "e.vmName = ?", filter.vmName());
        condition(jpql, params, "e.requestedBy = ?", filter.requestedBy());
        condition(jpql, params, "e.entryType = ?", filter.type());
        condition(jpql, params, "e.occurredAt >= ?", filter.since());
        condition(jpql, params, "e.occurredAt < ?", filter.until());
        condition(jpql, params, "e.id < ?", beforeId);
        if (filter.namespaces() != null) {
            if (filter.namespaces().isEmpty()) {
                return List.of();
            }
            condition(jpql, params, "e.namespace in ?", filter.namespaces());
        }
        jpql.append(" order by e.id desc");
        TypedQuery<AuditEntry> query = em.createQuery(jpql.toString(), AuditEntry.class);
        for (int i = 0; i < params.size(); i++) {
            query.setParameter(i + 1, params.get(i));
        }
        return query.setMaxResults(limit).getResultList();
    }

    /** Rows of one request, oldest first, after the row {@code afterId} (null: from the first), at most {@code limit}. */
    @Transactional
    public List<AuditEntry> history(String requestId, Long afterId, int limit) {
        return em.createQuery("select e from AuditEntry e where e.requestId = ?1 and e.id > ?2 order by e.id",
                        AuditEntry.class)
                .setParameter(1, requestId)
                .setParameter(2, afterId == null ? 0L : afterId)
                .setMaxResults(limit)
                .getResultList();
    }

    /** The namespaces one request's rows name (usually one). */
    @Transactional
    public List<String> namespacesOf(String requestId) {
        return em.createQuery("select distinct e.namespace from AuditEntry e where e.requestId = ?1", String.class)
                .setParameter(1, requestId)
                .getResultList();
    }

    /** Every namespace the audit names. */
    @Transactional
    public Set<String> namespaces() {
        return new java.util.TreeSet<>(em.createQuery(
                "select distinct e.namespace from AuditEntry e where e.namespace is not null", String.class)
                .getResultList());
    }

    /** The latest row of a request that names an image. */
    @Transactional
    public Optional<AuditEntry> latestWithImage(String requestId) {
        return em.createQuery("select e from AuditEntry e where e.requestId = ?1 and e.imageName is not null"
                        + " order by e.id desc", AuditEntry.class)
                .setParameter(1, requestId)
                .setMaxResults(1)
                .getResultStream()
                .findFirst();
    }

    /** The latest event published for a request. */
    @Transactional
    public Optional<AuditEntry> latestEvent(String requestId) {
        return em.createQuery("select e from AuditEntry e where e.requestId = ?1 and e.entryType <> ?2 order by e.id desc",
                        AuditEntry.class)
                .setParameter(1, requestId)
                .setParameter(2, AuditEntry.RECEIVED)
                .setMaxResults(1)
                .getResultStream()
                .findFirst();
    }

    /** Whether the event was published and audited before (it is being published again). */
    @Transactional
    public boolean publishedBefore(String requestId, String eventId) {
        return !em.createQuery("select e.id from AuditEntry e where e.requestId = ?1 and e.eventId = ?2"
                        + " and e.entryType <> ?3", Long.class)
                .setParameter(1, requestId)
                .setParameter(2, eventId)
                .setParameter(3, AuditEntry.RECEIVED)
                .setMaxResults(1)
                .getResultList().isEmpty();
    }

    private static void condition(StringBuilder jpql, List<Object> params, String clause, Object value) {
        if (value != null) {
            params.add(value);
            jpql.append(" and ").append(clause.replace("?", "?" + params.size()));
        }
    }
}
