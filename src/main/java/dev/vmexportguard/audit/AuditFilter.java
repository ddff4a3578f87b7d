package dev.vmexportguard.audit;

import java.time.Instant;
import java.util.Set;

/**
 * Filters of an audit search; null means "any". {@code namespaces}, when not null, holds the only namespaces whose
 * rows may be returned (rows without a namespace are then never returned).
 */
public record AuditFilter(String requestId, String namespace, String vmName, String requestedBy, String type,
                          Instant since, Instant until, Set<String> namespaces) {
}
