# Sourced by run-local.sh and benchmark.sh: builds the guard when its sources are newer than the build, writes the
# test classpath (the local parts live in the test sources), and sets $java and $classpath for them.
jar=target/quarkus-app/quarkus-run.jar
if [ ! -f "$jar" ] || [ ! -d target/test-classes ] || [ -n "$(find src pom.xml -newer "$jar" -print -quit)" ]; then
  echo "building the guard..."
  ./mvnw -B -q package -DskipTests
fi
if [ ! -f target/local.classpath ] || [ pom.xml -nt target/local.classpath ]; then
  ./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/local.classpath
fi
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
classpath="target/test-classes:target/classes:$(cat target/local.classpath)"
