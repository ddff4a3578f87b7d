package dev.vmexportguard.audit;

import io.agroal.api.AgroalDataSource;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The audit is append-only because the guard connects as a role that may only add and read its rows; the trigger
 * alone does not stop the table's owner. At start, the guard says so when the role it connects as could change or
 * remove audit rows (it owns the table, is a superuser, or was granted more than INSERT and SELECT).
 */
@ApplicationScoped
public class AppendOnlyCheck {
    private static final Logger LOG = Logger.getLogger(AppendOnlyCheck.class);

    private final AgroalDataSource dataSource;

    public AppendOnlyCheck(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    void atStart(@Observes StartupEvent ignored) {
        try (Connection connection = dataSource.getConnection()) {
            List<String> may = whatMayChangeTheAudit(connection);
            if (!may.isEmpty()) {
                LOG.warnf("the audit is not append-only against the role the guard connects to PostgreSQL as: %s."
                        + " Let the guard connect as the runtime role and migrate as the owner (README, Audit log)",
                        String.join("; ", may));
            }
        } catch (SQLException e) {
            LOG.warnf("could not check the rights of the guard's database role: %s", e.getMessage());
        }
    }

    /** What the connection's role could do to audit rows beyond adding and reading them; empty when nothing. */
    public static List<String> whatMayChangeTheAudit(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement();
             ResultSet r = s.executeQuery("""
                     select current_user,
                            pg_has_role(current_user, c.relowner, 'USAGE'),
                            (select rolsuper from pg_roles where rolname = current_user),
                            has_table_privilege(c.oid, 'UPDATE'),
                            has_table_privilege(c.oid, 'DELETE'),
                            has_table_privilege(c.oid, 'TRUNCATE')
                     from pg_class c where c.oid = 'audit_entry'::regclass""")) {
            r.next();
            List<String> may = new ArrayList<>();
            String role = r.getString(1);
            if (r.getBoolean(2)) {
                may.add(role + " owns audit_entry (or acts as its owner)");
            }
            if (r.getBoolean(3)) {
                may.add(role + " is a superuser");
            }
            String[] rights = {"UPDATE", "DELETE", "TRUNCATE"};
            for (int i = 0; i < rights.length; i++) {
                if (r.getBoolean(4 + i)) {
                    may.add(role + " may " + rights[i]);
                }
            }
            return may;
        }
    }
}
