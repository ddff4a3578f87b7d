package dev.vmexportguard.audit;

import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.Set;

/**
 * Tells a database that does not answer (refused or lost connections, a server shutting down or out of resources,
 * a pool with no connection to give) from a statement the database refused: the first passes, the second does not.
 */
public final class DatabaseOutage {
    /** SQLSTATE classes of connection and server trouble: connection exception, insufficient resources, operator
     * intervention (e.g. a terminated backend), system error, object not in prerequisite state (e.g. a database
     * not accepting connections). */
    private static final Set<String> CLASSES = Set.of("08", "53", "55", "57", "58");

    private DatabaseOutage() {
    }

    public static boolean isCause(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLTransientException) {
                return true;
            }
            if (t instanceof SQLException sql) {
                String state = sql.getSQLState();
                // no SQLSTATE: the pool or the driver failed before a server answered (e.g. an acquisition timeout)
                if (state == null || state.length() < 2 || CLASSES.contains(state.substring(0, 2))) {
                    return true;
                }
            }
        }
        return false;
    }
}
