#!/usr/bin/env bash
# Benchmark of the guard on this machine with nothing but Java 17+: an embedded Kafka broker, an embedded PostgreSQL
# and a simulated Harvester cluster (N VMs in M namespaces), the built guard as a process with its container's JVM
# options, and a plain Kafka relay on the same broker to compare with. Prints one table, also written to
# target/benchmark/result.md. Not a test: `./mvnw verify` never runs it. ./benchmark.sh --help lists the options.
# The benchmark lives in the test sources (src/test/java/dev/vmexportguard/bench): the production build holds none of it.
set -euo pipefail
cd "$(dirname "$0")"
. ./local-build.sh
exec "$java" -Xmx2g -Djava.io.tmpdir="$PWD/target" -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dlogging.configuration=file:src/test/resources/local-logging.properties \
  -cp "$classpath" dev.vmexportguard.bench.Benchmark "$@"
