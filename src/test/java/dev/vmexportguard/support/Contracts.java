package dev.vmexportguard.support;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The guard's published JSON Schemas (draft 2020-12), read once from the application's resources, and checks of
 * documents against them.
 */
public final class Contracts {
    public static final String RESOURCES = "META-INF/resources/schemas/";
    public static final String REQUEST_SCHEMA = "export-request-v1.json";
    public static final String RESULT_SCHEMA = "export-result-v1.json";

    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final Schema REQUEST = load(REQUEST_SCHEMA);
    private static final Schema RESULT = load(RESULT_SCHEMA);

    private Contracts() {
    }

    /** What is wrong with {@code json} as a request; empty when it is valid. */
    public static List<String> requestProblems(String json) {
        return problems(REQUEST, json);
    }

    /** What is wrong with {@code json} as a result event; empty when it is valid. */
    public static List<String> resultProblems(String json) {
        return problems(RESULT, json);
    }

    /** Fails, naming every problem, unless {@code json} is a valid result event. */
    public static void assertValidResult(String json) {
        List<String> problems = resultProblems(json);
        if (!problems.isEmpty()) {
            throw new AssertionError("result event breaks " + RESULT_SCHEMA + ": " + problems + "\n" + json);
        }
    }

    /** What is wrong with {@code json} as an instance of {@code schemaJson}, a draft 2020-12 schema given whole. */
    public static List<String> problems(String schemaJson, String json) {
        return problems(REGISTRY.getSchema(new java.io.ByteArrayInputStream(
                schemaJson.getBytes(java.nio.charset.StandardCharsets.UTF_8))), json);
    }

    private static List<String> problems(Schema schema, String json) {
        List<Error> errors = schema.validate(json, InputFormat.JSON);
        return errors.stream().map(e -> e.getInstanceLocation() + ": " + e.getMessage()).toList();
    }

    private static Schema load(String name) {
        try (InputStream in = Contracts.class.getClassLoader().getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCES + name + " is missing");
            }
            return REGISTRY.getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
