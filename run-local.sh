#!/usr/bin/env bash
# VM Export Guard on this machine with nothing but Java 17+: an embedded Kafka broker, an embedded PostgreSQL and a
# simulated Harvester cluster, then the guard. Set KAFKA_BOOTSTRAP_SERVERS, QUARKUS_DATASOURCE_JDBC_URL (with
# _USERNAME and _PASSWORD of the runtime role, QUARKUS_FLYWAY_USERNAME and _PASSWORD of the owner), KUBERNETES_MASTER
# or KUBECONFIG to use a real one instead; GUARD_HTTP_PORT (8080).
# The local parts live in the test sources: the guard's production build contains none of them.
set -euo pipefail
cd "$(dirname "$0")"
. ./local-build.sh
exec "$java" -Xmx1g -Djava.io.tmpdir="$PWD/target" -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dlogging.configuration=file:src/test/resources/local-logging.properties \
  -cp "$classpath" dev.vmexportguard.local.LocalHarvester
