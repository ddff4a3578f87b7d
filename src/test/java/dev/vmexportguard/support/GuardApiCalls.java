package dev.vmexportguard.support;

import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

/**
 * The API calls the guard made, as RBAC sees them, appended to {@value #FILE} for {@code GuardRbacIT}. The guard's
 * client sends the bearer token {@value #GUARD_TOKEN} in the tests ({@code %test.quarkus.kubernetes-client.token});
 * the tests' own client, which sets the cluster up and plays its controllers, sends none: only the guard's calls
 * are written. The file is started afresh by the first call of a test JVM (Surefire runs the tests in one).
 * <p>
 * A line is {@code verb group resource subresource namespace name} ({@code -} for none), or
 * {@code nonresource get /path} for a path that names no resource (the server's version, discovery).
 */
public final class GuardApiCalls {
    public static final String GUARD_TOKEN = "vm-export-guard-test-token";
    public static final Path FILE = Path.of("target", "api-calls.txt");
    /** Set once the file was started afresh: a system property, since each Quarkus application loads this class anew. */
    private static final String STARTED = "vm-export-guard.api-calls.started";
    /** A lock shared by every class loader of the JVM (string literals are interned). */
    private static final Object LOCK = "vm-export-guard.api-calls";

    private GuardApiCalls() {
    }

    /** Records the request if the guard made it. */
    public static void recordIfGuard(RecordedRequest request) {
        if (("Bearer " + GUARD_TOKEN).equals(request.getHeader("Authorization"))) {
            append(line(request.getMethod(), request.getPath()));
        }
    }

    private static void append(String line) {
        synchronized (LOCK) {
            try {
                Files.createDirectories(FILE.getParent());
                if (System.getProperty(STARTED) == null) {
                    Files.deleteIfExists(FILE);
                    System.setProperty(STARTED, "true");
                }
                Files.writeString(FILE, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The Kubernetes verb and attributes of an HTTP request, as the API server's request-info resolver finds them. */
    public static String line(String method, String pathAndQuery) {
        int q = pathAndQuery.indexOf('?');
        String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        String query = q < 0 ? "" : pathAndQuery.substring(q + 1);
        List<String> segments = Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
        String group;
        List<String> rest;
        if (segments.size() >= 2 && segments.get(0).equals("api")) {
            group = "";
            rest = segments.subList(2, segments.size());
        } else if (segments.size() >= 3 && segments.get(0).equals("apis")) {
            group = segments.get(1);
            rest = segments.subList(3, segments.size());
        } else {
            return "nonresource " + method.toLowerCase() + " " + path;
        }
        if (rest.isEmpty()) {
            return "nonresource " + method.toLowerCase() + " " + path;
        }
        String namespace = "-";
        if (rest.get(0).equals("namespaces") && rest.size() >= 3) {
            namespace = rest.get(1);
            rest = rest.subList(2, rest.size());
        }
        String resource = rest.get(0);
        String name = rest.size() > 1 ? rest.get(1) : "-";
        String subresource = rest.size() > 2 ? rest.get(2) : "-";
        boolean watch = Arrays.asList(query.split("&")).contains("watch=true");
        String verb = switch (method.toUpperCase()) {
            case "GET" -> watch ? "watch" : name.equals("-") ? "list" : "get";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> name.equals("-") ? "deletecollection" : "delete";
            default -> method.toLowerCase();
        };
        return String.join(" ", verb, group.isEmpty() ? "\"\"" : group, resource, subresource, namespace, name);
    }
}
