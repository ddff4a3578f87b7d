package dev.vmexportguard.support;

import io.quarkus.test.common.QuarkusTestResource;

/**
 * Declares the real Kafka broker and PostgreSQL server for every {@code @QuarkusTest} (test resources declared on
 * any class apply to all of them).
 */
@QuarkusTestResource(KafkaBrokerResource.class)
@QuarkusTestResource(PostgresResource.class)
@QuarkusTestResource(WebhookCertificate.class)
public final class BrokerAndDatabase {
    private BrokerAndDatabase() {
    }
}
