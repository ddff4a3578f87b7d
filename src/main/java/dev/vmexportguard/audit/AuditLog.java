package dev.vmexportguard.audit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.EntityManager;
import jakarta.persistence.Query;
import jakarta.persistence.TypedQuery;
import jakarta.transaction.Transactional;
import java.sql.Timestamp;
import java.time.Instant;
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

    /**
     * Requests one line each, newest first: received after {@code since}, before {@code until}, with the filter's
     * outcome and reason; {@code beforeId} (a line's {@code firstId}) is the paging cursor, null for the first page.
     */
    @Transactional
    public List<RequestLine> requests(RequestFilter filter, Long beforeId, int limit) {
        List<Object> params = new ArrayList<>();
        String where = requestConditions(filter, beforeId, params);
        if (where == null) {
            return List.of();
        }
        Query query = em.createNativeQuery("with req as (" + REQUESTS + ") select * from req where 1 = 1" + where
                + " order by first_id desc limit " + Math.max(1, limit));
        bind(query, params);
        List<RequestLine> lines = new ArrayList<>();
        for (Object row : query.getResultList()) {
            Object[] c = (Object[]) row;
            lines.add(new RequestLine(((Number) c[0]).longValue(), (String) c[1], instant(c[2]), (String) c[3],
                    (String) c[4], (String) c[5], (String) c[6], (String) c[7], (String) c[8], (String) c[9],
                    (String) c[10], (String) c[11], (String) c[12], (String) c[13], (String) c[14], instant(c[15])));
        }
        return lines;
    }

    /** How many requests the filter finds, by outcome ({@code IN_PROGRESS} for none yet) and reason (null for none). */
    @Transactional
    public List<Count> outcomes(RequestFilter filter) {
        return counts(filter, "coalesce(outcome, '" + RequestFilter.IN_PROGRESS + "'), reason");
    }

    /** How many requests the filter finds, by the UTC day they were received (yyyy-mm-dd) and outcome. */
    @Transactional
    public List<Count> outcomesByDay(RequestFilter filter) {
        return counts(filter, "to_char(received_at at time zone 'UTC', 'YYYY-MM-DD'), coalesce(outcome, '"
                + RequestFilter.IN_PROGRESS + "')");
    }

    /** A count of requests by two keys. */
    public record Count(String key, String detail, long requests) {
    }

    private List<Count> counts(RequestFilter filter, String keys) {
        List<Object> params = new ArrayList<>();
        String where = requestConditions(filter, null, params);
        if (where == null) {
            return List.of();
        }
        Query query = em.createNativeQuery("with req as (" + REQUESTS + ") select " + keys + ", count(*) from req"
                + " where 1 = 1" + where + " group by 1, 2 order by 1, 2");
        bind(query, params);
        List<Count> counts = new ArrayList<>();
        for (Object row : query.getResultList()) {
            Object[] c = (Object[]) row;
            counts.add(new Count((String) c[0], (String) c[1], ((Number) c[2]).longValue()));
        }
        return counts;
    }

    /**
     * A request's first row ({@code r}: one whose request has no row before it), its latest event ({@code l}), its
     * final event ({@code o}) and its latest row that names an image ({@code i}).
     */
    private static final String REQUESTS = """
            select r.id as first_id, r.request_id, r.occurred_at as received_at,
                   coalesce(l.entry_type, 'RECEIVED') as status, o.entry_type as outcome,
                   coalesce(o.reason, l.reason) as reason, coalesce(l.message, r.message) as message,
                   coalesce(l.namespace, r.namespace) as namespace, coalesce(l.vm_name, r.vm_name) as vm_name,
                   coalesce(l.volume_name, r.volume_name) as volume_name,
                   coalesce(l.requested_by, r.requested_by) as requested_by, coalesce(l.caller, r.caller) as caller,
                   i.image_namespace, i.image_name, i.image_display_name,
                   coalesce(l.occurred_at, r.occurred_at) as updated_at
              from audit_entry r
              left join lateral (select e.* from audit_entry e where e.request_id = r.request_id
                                    and e.entry_type <> 'RECEIVED' order by e.id desc limit 1) l on true
              left join lateral (select e.* from audit_entry e where e.request_id = r.request_id
                                    and e.entry_type in ('REJECTED', 'COMPLETED', 'FAILED', 'ADMITTED')
                                  order by e.id desc limit 1) o on true
              left join lateral (select e.image_namespace, e.image_name, e.image_display_name from audit_entry e
                                  where e.request_id = r.request_id and e.image_name is not null
                                  order by e.id desc limit 1) i on true
             where not exists (select 1 from audit_entry p where p.request_id = r.request_id and p.id < r.id)""";

    /** The conditions on {@code req} (each starting with " and "), or null when nothing can match. */
    private static String requestConditions(RequestFilter filter, Long beforeId, List<Object> params) {
        StringBuilder where = new StringBuilder();
        condition(where, params, "namespace = ?", filter.namespace());
        condition(where, params, "requested_by = ?", filter.requestedBy());
        if (RequestFilter.IN_PROGRESS.equals(filter.outcome())) {
            where.append(" and outcome is null");
        } else {
            condition(where, params, "outcome = ?", filter.outcome());
        }
        condition(where, params, "reason = ?", filter.reason());
        condition(where, params, "received_at >= ?", filter.since() == null ? null : Timestamp.from(filter.since()));
        condition(where, params, "received_at < ?", filter.until() == null ? null : Timestamp.from(filter.until()));
        condition(where, params, "first_id < ?", beforeId);
        if (filter.namespaces() != null) {
            if (filter.namespaces().isEmpty()) {
                return null;
            }
            // every row of the request must name a namespace shown
            params.add(filter.namespaces());
            where.append(" and not exists (select 1 from audit_entry x where x.request_id = req.request_id and (x.namespace"
                    + " is null or x.namespace not in (?").append(params.size()).append(")))");
        }
        return where.toString();
    }

    private static void bind(Query query, List<Object> params) {
        for (int i = 0; i < params.size(); i++) {
            query.setParameter(i + 1, params.get(i));
        }
    }

    private static Instant instant(Object value) {
        if (value == null || value instanceof Instant) {
            return (Instant) value;
        }
        if (value instanceof Timestamp t) {
            return t.toInstant();
        }
        if (value instanceof java.time.OffsetDateTime o) {
            return o.toInstant();
        }
        throw new IllegalStateException("not a time: " + value.getClass());
    }

    private static void condition(StringBuilder jpql, List<Object> params, String clause, Object value) {
        if (value != null) {
            params.add(value);
            jpql.append(" and ").append(clause.replace("?", "?" + params.size()));
        }
    }
}
