package dev.vmexportguard.support;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.nio.file.Path;
import java.util.Map;

/**
 * One export at a time: the next one waits in the queue. Tests under it leave no export running. The same start of
 * the guard also serves tests whose settings the others do not notice, so that the suite starts the guard (and builds
 * a test profile) fewer times:
 * <ul>
 *   <li>full checks of running exports once an hour only: what the watches report is what moves an export
 *       ({@code UseBetweenLooksTest});</li>
 *   <li>an audit retention of 30 days: only rows older than that are removed ({@code AuditRetentionAtStartTest});</li>
 *   <li>the log also written as JSON lines to {@link #JSON_LOG} ({@code JsonLogsTest}).</li>
 * </ul>
 */
public class OneExportSlot implements QuarkusTestProfile {
    public static final Path JSON_LOG = Path.of("target", "json-logs-test.log");

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("guard.exports.max-concurrent", "1",
                "guard.exports.resync-interval", "1h",
                "guard.audit.retention", "30d",
                "quarkus.log.file.enabled", "true",
                "quarkus.log.file.path", JSON_LOG.toString(),
                "quarkus.log.file.json.enabled", "true");
    }
}
