package dev.vmexportguard.support;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * A real PostgreSQL server (zonky's embedded binaries) for the audit log, set up as the README tells operators to:
 * a database owned by the owner role, which Flyway migrates as, and the runtime role the guard connects as, which
 * may only add and read audit rows. The runtime role is not the default one ({@code vm_export_guard}): it is named
 * to the migrations the way an operator names theirs ({@code quarkus.flyway.placeholders.guardRuntimeRole}, or its
 * environment variable for a guard started as a process).
 */
public class PostgresResource implements QuarkusTestResourceLifecycleManager {
    private static volatile String superuserJdbcUrl;
    public static final String DATABASE = "vm_export_guard";
    public static final String OWNER = "vm_export_guard_owner";
    public static final String RUNTIME = "vm_export_guard_runtime";
    private static final String OWNER_PASSWORD = "owner-password";
    private static final String RUNTIME_PASSWORD = "runtime-password";

    private EmbeddedPostgres postgres;

    /** A superuser's JDBC URL to the guard's database, for tests that make the database misbehave. */
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
        execute(postgres.getPostgresDatabase(),
                "create role " + OWNER + " login password '" + OWNER_PASSWORD + "'",
                "create role " + RUNTIME + " login password '" + RUNTIME_PASSWORD + "'",
                "create database " + DATABASE + " owner " + OWNER);
        superuserJdbcUrl = postgres.getJdbcUrl("postgres", DATABASE);
        Map<String, String> properties = new LinkedHashMap<>();
        // no user in the URL: the driver would prefer it to the username given beside it
        properties.put("quarkus.datasource.jdbc.url", jdbcUrl());
        properties.put("quarkus.datasource.username", RUNTIME);
        properties.put("quarkus.datasource.password", RUNTIME_PASSWORD);
        properties.put("quarkus.flyway.username", OWNER);
        properties.put("quarkus.flyway.password", OWNER_PASSWORD);
        properties.put("quarkus.flyway.placeholders.guardRuntimeRole", RUNTIME);
        return properties;
    }

    /** The guard's database, without credentials. */
    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/" + DATABASE;
    }

    /** The guard's database as the owner role, which migrates and applies the retention. */
    public DataSource owner() {
        return postgres.getDatabase(OWNER, DATABASE);
    }

    /** The guard's database as the runtime role, the guard's own. */
    public DataSource runtime() {
        return postgres.getDatabase(RUNTIME, DATABASE);
    }

    /** The server's superuser, in its {@code postgres} database. */
    public DataSource superuser() {
        return postgres.getPostgresDatabase();
    }

    /** A database {@code name} as {@code role}. */
    public DataSource database(String role, String name) {
        return postgres.getDatabase(role, name);
    }

    /** The guard's migrations for plain Flyway, as the guard's Flyway runs them, the runtime role named. */
    public static FluentConfiguration flyway(DataSource owner) {
        return Flyway.configure().dataSource(owner).locations("classpath:db/migration")
                .placeholders(Map.of("guardRuntimeRole", RUNTIME));
    }

    /** {@link #start}'s properties as the environment variables of a guard started as a process. */
    public static Map<String, String> environment(Map<String, String> properties) {
        Map<String, String> environment = new LinkedHashMap<>();
        properties.forEach((key, value) ->
                environment.put(key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT), value));
        return environment;
    }

    /** Runs each statement on its own (CREATE DATABASE cannot run in a transaction). */
    public static void execute(DataSource db, String... statements) {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
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
