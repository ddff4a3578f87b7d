package dev.vmexportguard.audit;

import java.time.Instant;

/** Filters of an audit search; null means "any". */
public record AuditFilter(String requestId, String namespace, String vmName, String requestedBy, String type,
                          Instant since, Instant until) {
}
