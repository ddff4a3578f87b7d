package dev.vmexportguard.support;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.util.Map;

/** A real PostgreSQL server (zonky's embedded binaries) for the audit log. */
public class PostgresResource implements QuarkusTestResourceLifecycleManager {
    private static volatile String superuserJdbcUrl;
    private EmbeddedPostgres postgres;

    /** A superuser's JDBC URL to the server the guard uses, for tests that make the database misbehave. */
    public static String superuserJdbcUrl() {
        return superuserJdbcUrl;
    }

    @Override
    public Map<String, String> start() {
        try {
            postgres = EmbeddedPostgres.builder().start();
        } catch (IOException e) {
            throw new IllegalStateException("embedded PostgreSQL did not start", e);
        }
        superuserJdbcUrl = postgres.getJdbcUrl("postgres", "postgres");
        return Map.of(
                "quarkus.datasource.jdbc.url", postgres.getJdbcUrl("postgres", "postgres"),
                "quarkus.datasource.username", "postgres",
                "quarkus.datasource.password", "postgres");
    }

    @Override
    public void stop() {
        if (postgres != null) {
            try {
                postgres.close();
            } catch (IOException e) {
                throw new IllegalStateException("embedded PostgreSQL did not stop", e);
            }
        }
    }
}
