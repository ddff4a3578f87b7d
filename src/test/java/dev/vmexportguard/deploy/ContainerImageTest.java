package dev.vmexportguard.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docker/Dockerfile.jvm has the shape Quarkus generates for the fast-jar layout, and Jib (application.properties)
 * builds the same image: base image, user, port and JVM options. No image is built unless asked.
 */
class ContainerImageTest {
    static final Path DOCKERFILE = Path.of("docker", "Dockerfile.jvm");

    /** The Dockerfile's instructions, comments and blank lines left out, continuation lines joined. */
    static List<String> instructions() throws IOException {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : Files.readAllLines(DOCKERFILE)) {
            String trimmed = line.trim();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            if (trimmed.endsWith("\\")) {
                current.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            out.add(current.append(trimmed).toString());
            current.setLength(0);
        }
        return out;
    }

    /** The ENV lines' variables, in order ({@code ENV NAME="value"} or {@code ENV NAME=value}). */
    static Map<String, String> environment() throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        Pattern pair = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"([^\"]*)\"|'([^']*)'|(\\S+))");
        for (String instruction : instructions()) {
            if (instruction.startsWith("ENV ")) {
                Matcher m = pair.matcher(instruction.substring(4));
                while (m.find()) {
                    String value = m.group(3) != null ? m.group(3) : m.group(4) != null ? m.group(4) : m.group(5);
                    env.put(m.group(1), value);
                }
            }
        }
        return env;
    }

    /** The JVM options the image gives the guard: JAVA_OPTS_APPEND, else JAVA_OPTS. */
    static List<String> jvmOptions() throws IOException {
        Map<String, String> env = environment();
        String options = env.getOrDefault("JAVA_OPTS_APPEND", env.getOrDefault("JAVA_OPTS", ""));
        return Arrays.stream(options.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
    }

    static String baseImage() throws IOException {
        return instructions().stream().filter(i -> i.startsWith("FROM ")).findFirst().orElseThrow().substring(5).trim();
    }

    static Properties applicationProperties() throws IOException {
        Properties properties = new Properties();
        try (var in = Files.newBufferedReader(Path.of("src/main/resources/application.properties"))) {
            properties.load(in);
        }
        return properties;
    }

    @Test
    void dockerfileHasQuarkusFastJarShape() throws IOException {
        List<String> instructions = instructions();
        assertThat(baseImage()).matches("(registry\\.access\\.redhat\\.com/ubi9/openjdk-17-runtime|eclipse-temurin:17-jre)(:.*)?");
        assertThat(instructions.stream().filter(i -> i.startsWith("COPY ")).toList()).containsExactly(
                "COPY --chown=185 target/quarkus-app/lib/ /deployments/lib/",
                "COPY --chown=185 target/quarkus-app/*.jar /deployments/",
                "COPY --chown=185 target/quarkus-app/app/ /deployments/app/",
                "COPY --chown=185 target/quarkus-app/quarkus/ /deployments/quarkus/");
        assertThat(instructions).contains("USER 185", "EXPOSE 8080 8443");
        assertThat(instructions.indexOf("USER 185")).isGreaterThan(instructions.indexOf(
                "COPY --chown=185 target/quarkus-app/quarkus/ /deployments/quarkus/"));
        assertThat(jvmOptions()).containsExactlyInAnyOrder("-XX:MaxRAMPercentage=75", "-XX:+UseSerialGC",
                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager", "-Dquarkus.http.host=0.0.0.0");
        assertThat(environment()).containsEntry("JAVA_APP_JAR", "/deployments/quarkus-run.jar");
        assertThat(instructions.get(instructions.size() - 1))
                .isEqualTo("ENTRYPOINT [ \"/opt/jboss/container/java/run/run-java.sh\" ]");
    }

    @Test
    void dockerignoreKeepsOnlyTheBuiltApplication() throws IOException {
        List<String> lines = Files.readAllLines(Path.of(".dockerignore")).stream().map(String::trim)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertThat(lines).containsExactly("*", "!target/quarkus-app");
    }

    @Test
    void jibBuildsTheSameImageAndOnlyWhenAsked() throws IOException {
        Properties p = applicationProperties();
        assertThat(p.getProperty("quarkus.container-image.build")).isEqualTo("false");
        assertThat(p.getProperty("quarkus.container-image.push")).isEqualTo("false");
        assertThat(p.getProperty("quarkus.jib.base-jvm-image")).isEqualTo(baseImage());
        assertThat(p.getProperty("quarkus.jib.user")).isEqualTo("185");
        // the ports the Dockerfile exposes: HTTP, and HTTPS for the admission webhook
        assertThat(p.getProperty("quarkus.jib.ports")).isEqualTo("8080,8443");
        assertThat(Arrays.asList(p.getProperty("quarkus.jib.jvm-additional-arguments").split(",")))
                .containsExactlyInAnyOrderElementsOf(jvmOptions());
        assertThat(Files.readString(Path.of("pom.xml"))).contains("<artifactId>quarkus-container-image-jib</artifactId>");
    }
}
