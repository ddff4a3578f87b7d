package dev.vmexportguard.service;

import dev.vmexportguard.audit.AuditLog;
import dev.vmexportguard.cluster.AccessReview;
import dev.vmexportguard.cluster.ClusterAccessException;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Authority;
import dev.vmexportguard.decision.Identity;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Which namespaces' audit a reader may see: those where a SubjectAccessReview allows it {@code list}
 * {@code exportaudits} (API group {@code vm-export-guard.dev}). A reader allowed cluster-wide sees every row, also
 * those of requests that named no namespace; with {@code guard.authorization.mode=none} everyone does.
 */
@ApplicationScoped
public class AuditReaders {

    /** The namespaces a reader may see; {@code all} when it may see every row. */
    public record Visible(boolean all, Set<String> namespaces) {
        public boolean includes(String namespace) {
            return all || (namespace != null && namespaces.contains(namespace));
        }
    }

    private final AccessReview access;
    private final AuditLog audit;
    private final boolean checked;

    public AuditReaders(AccessReview access, AuditLog audit, GuardConfig config) {
        this.access = access;
        this.audit = audit;
        this.checked = config.authorization().mode() == GuardConfig.Authorization.Mode.SAR;
    }

    /** What {@code reader} may see; only {@code namespace} is asked about when one is given. */
    public Visible of(Identity reader, String namespace) {
        try {
            if (!checked || access.allowed(reader, Authority.toReadAudit(null))) {
                return new Visible(true, Set.of());
            }
            Set<String> visible = new LinkedHashSet<>();
            for (String ns : namespace != null ? Set.of(namespace) : audit.namespaces()) {
                if (access.allowed(reader, Authority.toReadAudit(ns))) {
                    visible.add(ns);
                }
            }
            return new Visible(false, visible);
        } catch (ClusterAccessException e) {
            throw new Callers.CannotVerify(e);
        }
    }
}
