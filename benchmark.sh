#!/usr/bin/env bash
# Benchmark of the guard on this machine with nothing but Java 17+: an embedded Kafka broker, an embedded PostgreSQL
# and a simulated Harvester cluster (N VMs in M namespaces), the built guard as a process with its container's JVM
# options, and a plain Kafka relay on the same broker to compare with. Prints one table, also written to
# target/benchmark/result.md. Not a test: `./mvnw verify` never runs it. ./benchmark.sh --help lists the options.
# The benchmark lives in the test sources (src/test/java/dev/vmexportguard/bench): the production build holds none of it.
set -euo pipefail
cd "$(dirname "$0")"
jar=target/quarkus-app/quarkus-run.jar
if [ ! -f "$jar" ] || [ ! -d target/test-classes ] || [ -n "$(find src pom.xml -newer "$jar" -print -quit)" ]; then
  echo "building the guard..."
  ./mvnw -B -q package -DskipTests
fi
if [ ! -f target/local.classpath ] || [ pom.xml -nt target/local.classpath ]; then
  ./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/local.classpath
fi
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$java" -Xmx2g -Djava.io.tmpdir="$PWD/target" -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -Dlogging.configuration=file:src/test/resources/local-logging.properties \
  -cp "target/test-classes:target/classes:$(cat target/local.classpath)" dev.vmexportguard.bench.Benchmark "$@"
