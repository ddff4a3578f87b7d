package dev.vmexportguard.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of kustomize the guard's manifests use: {@code resources} (files, and directories holding a
 * kustomization), {@code components} (directories holding a {@code kind: Component}) and {@code images} (newName and
 * newTag of containers named by the image's name). A component directory that does not exist is recorded in
 * {@link Build#missingComponents} instead of failing, so that the base can be checked on its own.
 */
final class Kustomize {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    record Build(List<JsonNode> objects, List<Path> missingComponents) {
        List<JsonNode> ofKind(String kind) {
            return objects.stream().filter(o -> kind.equals(o.path("kind").asText())).toList();
        }

        JsonNode one(String kind, String name) {
            List<JsonNode> found = objects.stream().filter(o -> kind.equals(o.path("kind").asText())
                    && name.equals(o.path("metadata").path("name").asText())).toList();
            if (found.size() != 1) {
                throw new AssertionError(found.size() + " objects " + kind + "/" + name);
            }
            return found.get(0);
        }

        List<String> kindsAndNames() {
            return objects.stream().map(Kustomize::id).sorted().toList();
        }
    }

    private Kustomize() {
    }

    static String id(JsonNode o) {
        return o.path("kind").asText() + "/" + o.path("metadata").path("name").asText();
    }

    /** Every YAML document of a file (empty documents left out). */
    static List<JsonNode> documents(Path file) {
        try (YAMLParser parser = ((YAMLFactory) YAML.getFactory()).createParser(file.toFile())) {
            List<JsonNode> docs = new ArrayList<>();
            for (JsonNode doc : YAML.readValues(parser, JsonNode.class).readAll()) {
                if (doc != null && !doc.isNull() && !doc.isMissingNode() && doc.size() > 0) {
                    docs.add(doc);
                }
            }
            return docs;
        } catch (IOException e) {
            throw new UncheckedIOException(file + " does not parse", e);
        }
    }

    static JsonNode kustomization(Path dir) {
        List<JsonNode> docs = documents(dir.resolve("kustomization.yaml"));
        if (docs.size() != 1) {
            throw new AssertionError(dir + "/kustomization.yaml: " + docs.size() + " documents");
        }
        return docs.get(0);
    }

    static Build build(Path dir) {
        List<JsonNode> objects = new ArrayList<>();
        List<Path> missing = new ArrayList<>();
        build(dir, "Kustomization", objects, missing);
        return new Build(objects, missing);
    }

    private static void build(Path dir, String expectedKind, List<JsonNode> objects, List<Path> missing) {
        JsonNode k = kustomization(dir);
        if (!expectedKind.equals(k.path("kind").asText())) {
            throw new AssertionError(dir + " is a " + k.path("kind").asText() + ", expected " + expectedKind);
        }
        List<JsonNode> own = new ArrayList<>();
        for (JsonNode entry : k.path("resources")) {
            Path p = dir.resolve(entry.asText()).normalize();
            if (Files.isDirectory(p)) {
                build(p, "Kustomization", own, missing);
            } else if (Files.isRegularFile(p)) {
                if (!p.startsWith(dir.normalize())) {
                    // kustomize's load restrictor: a file outside the kustomization's root is refused
                    throw new AssertionError(dir + " names the file " + entry.asText() + " outside its root");
                }
                own.addAll(documents(p));
            } else {
                throw new AssertionError(dir + " names " + entry.asText() + ", which does not exist");
            }
        }
        for (JsonNode entry : k.path("components")) {
            Path p = dir.resolve(entry.asText()).normalize();
            if (Files.isDirectory(p)) {
                build(p, "Component", own, missing);
            } else {
                missing.add(p);
            }
        }
        for (JsonNode image : k.path("images")) {
            for (JsonNode o : own) {
                JsonNode containers = o.path("spec").path("template").path("spec").path("containers");
                for (JsonNode c : containers) {
                    String ref = c.path("image").asText();
                    String name = ref.contains(":") ? ref.substring(0, ref.lastIndexOf(':')) : ref;
                    if (name.equals(image.path("name").asText())) {
                        String newName = image.path("newName").asText(name);
                        String tag = image.has("newTag") ? image.path("newTag").asText()
                                : ref.contains(":") ? ref.substring(ref.lastIndexOf(':') + 1) : "latest";
                        ((ObjectNode) c).put("image", newName + ":" + tag);
                    }
                }
            }
        }
        objects.addAll(own);
    }
}
