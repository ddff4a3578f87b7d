package dev.vmexportguard.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.vmexportguard.decision.Identity;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * The test API server as a person's kubectl or Harvester's UI reaches it: a front that authenticates each call by its
 * bearer token ({@link ScriptedAuthenticator}; 401 without one it knows) and, before a VirtualMachineImage is created,
 * runs the admission chain of the guard's ValidatingWebhookConfiguration as an API server does: the name generated
 * from {@code generateName} first, then an {@code admission.k8s.io/v1} AdmissionReview with the creator's
 * {@code userInfo} posted over HTTPS to the webhook (trusting the certificate given, as the {@code caBundle} does,
 * within {@code timeoutSeconds} 5). Refused, the creator gets the API server's 403 Status, {@code admission webhook
 * "<name>" denied the request: <the guard's message>}; a webhook that fails or does not answer refuses too
 * ({@code failurePolicy: Fail}); allowed, the request goes on to the test API server, as does every other call.
 * <p>
 * A front, not the test API server itself: that one answers every request on one thread, so it could not answer the
 * guard's reads while it waits for the guard's answer. The guard itself talks to the test API server directly (its
 * own images are admitted at once by the webhook, so nothing it could see differs); watches are not passed on.
 */
public final class AdmittingApiServer implements AutoCloseable {
    public static final String WEBHOOK = "export-images.vm-export-guard.dev";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern IMAGES = Pattern.compile(
            "^/apis/harvesterhci\\.io/v1beta1/namespaces/([^/]+)/virtualmachineimages$");
    /** Headers the JDK client sets itself, or that describe one hop only. */
    private static final Set<String> HOP = Set.of("connection", "content-length", "expect", "host", "upgrade",
            "transfer-encoding", "keep-alive", "date");
    private static final String NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";
    /**
     * The API discovery kubectl reads to map a kind to its resource (the legacy documents; kubectl falls back to them),
     * for the resources the simulated cluster serves.
     */
    private static final java.util.Map<String, String> DISCOVERY = java.util.Map.of(
            "/api", "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[]}",
            "/apis", "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":["
                    + group("harvesterhci.io", "v1beta1") + "," + group("kubevirt.io", "v1") + "]}",
            "/api/v1", resources("v1", resource("namespaces", "Namespace", false),
                    resource("pods", "Pod", true), resource("persistentvolumeclaims", "PersistentVolumeClaim", true)),
            "/apis/harvesterhci.io/v1beta1", resources("harvesterhci.io/v1beta1",
                    resource("virtualmachineimages", "VirtualMachineImage", true),
                    resource("virtualmachinebackups", "VirtualMachineBackup", true)),
            "/apis/kubevirt.io/v1", resources("kubevirt.io/v1",
                    resource("virtualmachines", "VirtualMachine", true),
                    resource("virtualmachineinstances", "VirtualMachineInstance", true)));

    private static String group(String name, String version) {
        String gv = "{\"groupVersion\":\"" + name + "/" + version + "\",\"version\":\"" + version + "\"}";
        return "{\"name\":\"" + name + "\",\"versions\":[" + gv + "],\"preferredVersion\":" + gv + "}";
    }

    private static String resource(String plural, String kind, boolean namespaced) {
        return "{\"name\":\"" + plural + "\",\"singularName\":\"" + kind.toLowerCase(Locale.ROOT)
                + "\",\"namespaced\":" + namespaced + ",\"kind\":\"" + kind + "\",\"verbs\":[\"create\","
                + "\"delete\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]}";
    }

    private static String resources(String groupVersion, String... resources) {
        return "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"" + groupVersion
                + "\",\"resources\":[" + String.join(",", resources) + "]}";
    }

    private final URI target;
    private final URI webhook;
    private final Supplier<X509Certificate> trusted;
    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "admitting-api-server");
        t.setDaemon(true);
        return t;
    });
    private final HttpClient forward = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final SecureRandom random = new SecureRandom();

    private AdmittingApiServer(KubernetesServer api, URI webhook, Supplier<X509Certificate> trusted,
                               int port, SSLContext tls) throws IOException {
        String master = api.getClient().getMasterUrl().toString();
        this.target = URI.create(master.endsWith("/") ? master.substring(0, master.length() - 1) : master);
        this.webhook = webhook;
        this.trusted = trusted;
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        if (tls == null) {
            this.server = HttpServer.create(address, 64);
        } else {
            HttpsServer https = HttpsServer.create(address, 64);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            this.server = https;
        }
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /**
     * A front of {@code api} over HTTP on a free port whose image creations go through the webhook at
     * {@code webhook}.
     */
    public static AdmittingApiServer start(KubernetesServer api, URI webhook, Supplier<X509Certificate> trusted) {
        return start(api, webhook, trusted, 0, null);
    }

    /**
     * {@link #start(KubernetesServer, URI, Supplier)} on {@code port}, over HTTPS with {@code tls} when it is not null
     * (kubectl sends a bearer token over HTTPS only).
     */
    public static AdmittingApiServer start(KubernetesServer api, URI webhook, Supplier<X509Certificate> trusted,
                                           int port, SSLContext tls) {
        try {
            return new AdmittingApiServer(api, webhook, trusted, port, tls);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Where kubectl is pointed ({@code --server}). */
    public URI url() {
        return URI.create((server instanceof HttpsServer ? "https://" : "http://")
                + server.getAddress().getAddress().getHostAddress() + ":"
                + server.getAddress().getPort());
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            Optional<Identity> caller = authorization == null ? Optional.empty()
                    : ScriptedAuthenticator.identity(authorization.replaceFirst("(?i)^Bearer\\s+", ""));
            if (caller.isEmpty()) {
                reply(exchange, 401, status(401, "Unauthorized", "Unauthorized"));
                return;
            }
            byte[] body = exchange.getRequestBody().readAllBytes();
            String path = exchange.getRequestURI().getRawPath();
            if ("GET".equals(exchange.getRequestMethod()) && DISCOVERY.containsKey(path)) {
                reply(exchange, 200, DISCOVERY.get(path).getBytes(StandardCharsets.UTF_8));
                return;
            }
            Matcher images = IMAGES.matcher(path);
            if ("POST".equals(exchange.getRequestMethod()) && images.matches()) {
                ObjectNode image = (ObjectNode) JSON.readTree(body);
                named(image);
                body = JSON.writeValueAsBytes(image);
                String query = exchange.getRequestURI().getRawQuery();
                boolean dryRun = query != null && query.contains("dryRun=All");
                Optional<String> refused = admit(image, images.group(1), caller.get(), dryRun);
                if (refused.isPresent()) {
                    reply(exchange, refused.get().startsWith("admission webhook") ? 403 : 500,
                            status(refused.get().startsWith("admission webhook") ? 403 : 500,
                                    refused.get().startsWith("admission webhook") ? "Forbidden" : "InternalError",
                                    refused.get()));
                    return;
                }
                if (dryRun) {
                    reply(exchange, 201, JSON.writeValueAsBytes(image));
                    return;
                }
            }
            pass(exchange, body);
        } catch (Exception e) {
            reply(exchange, 500, status(500, "InternalError", "Internal error occurred: " + e));
        }
    }

    /** What the API server's registry does before admission: a name generated from {@code generateName}. */
    private void named(ObjectNode image) {
        ObjectNode metadata = metadata(image);
        if (!metadata.path("name").isTextual() && metadata.path("generateName").isTextual()) {
            StringBuilder name = new StringBuilder(metadata.path("generateName").asText());
            for (int i = 0; i < 5; i++) {
                name.append(NAME_CHARS.charAt(random.nextInt(NAME_CHARS.length())));
            }
            metadata.put("name", name.toString());
        }
    }

    private static ObjectNode metadata(ObjectNode object) {
        return object.get("metadata") instanceof ObjectNode m ? m : object.putObject("metadata");
    }

    /**
     * The AdmissionReview the API server sends a validating webhook before {@code image} is created in
     * {@code namespace} by {@code creator}.
     */
    public static ObjectNode review(String uid, Identity creator, String namespace, ObjectNode image, boolean dryRun) {
        ObjectNode review = JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1");
        review.put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", uid);
        request.putObject("kind").put("group", "harvesterhci.io").put("version", "v1beta1")
                .put("kind", "VirtualMachineImage");
        request.putObject("resource").put("group", "harvesterhci.io").put("version", "v1beta1")
                .put("resource", "virtualmachineimages");
        request.put("name", image.path("metadata").path("name").asText());
        request.put("namespace", namespace);
        request.put("operation", "CREATE");
        ObjectNode user = request.putObject("userInfo").put("username", creator.username());
        creator.groups().forEach(user.putArray("groups")::add);
        ObjectNode object = image.deepCopy();
        metadata(object).put("namespace", namespace);
        request.set("object", object);
        request.putNull("oldObject");
        request.put("dryRun", dryRun);
        return review;
    }

    /** Posts {@code body} to the webhook at {@code webhook} as the API server does: HTTPS trusting {@code trusted} alone. */
    public static HttpResponse<String> post(URI webhook, String body, X509Certificate trusted)
            throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().sslContext(WebhookCertificate.trusting(trusted))
                .connectTimeout(Duration.ofSeconds(5)).build();
        return client.send(HttpRequest.newBuilder(webhook).header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The webhook's refusal as the API server words it, or a failure to call it; empty when it allowed the image. */
    private Optional<String> admit(ObjectNode image, String namespace, Identity creator, boolean dryRun) {
        ObjectNode review = review(UUID.randomUUID().toString(), creator, namespace, image, dryRun);
        String uid = review.path("request").path("uid").asText();
        try {
            HttpResponse<String> answer = post(webhook, review.toString(), trusted.get());
            JsonNode response = JSON.readTree(answer.body()).path("response");
            if (answer.statusCode() != 200 || !uid.equals(response.path("uid").asText())) {
                return Optional.of("Internal error occurred: failed calling webhook \"" + WEBHOOK + "\": answered "
                        + answer.statusCode());
            }
            if (response.path("allowed").asBoolean(false)) {
                return Optional.empty();
            }
            return Optional.of("admission webhook \"" + WEBHOOK + "\" denied the request: "
                    + response.path("status").path("message").asText());
        } catch (Exception e) {
            return Optional.of("Internal error occurred: failed calling webhook \"" + WEBHOOK + "\": " + e);
        }
    }

    /** The call, passed on to the test API server as it came. */
    private void pass(HttpExchange exchange, byte[] body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(target + exchange.getRequestURI().toString()))
                .timeout(Duration.ofSeconds(30))
                .method(exchange.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        exchange.getRequestHeaders().forEach((name, values) -> {
            if (!HOP.contains(name.toLowerCase(Locale.ROOT))) {
                values.forEach(v -> request.header(name, v));
            }
        });
        HttpResponse<byte[]> response = forward.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        response.headers().map().forEach((name, values) -> {
            if (!HOP.contains(name.toLowerCase(Locale.ROOT)) && !name.startsWith(":")) {
                exchange.getResponseHeaders().put(name, List.copyOf(values));
            }
        });
        reply(exchange, response.statusCode(), response.body());
    }

    private static byte[] status(int code, String reason, String message) {
        ObjectNode status = JSON.createObjectNode();
        status.put("kind", "Status");
        status.put("apiVersion", "v1");
        status.putObject("metadata");
        status.put("status", "Failure");
        status.put("message", message);
        status.put("reason", reason);
        status.put("code", code);
        return status.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void reply(HttpExchange exchange, int code, byte[] body) throws IOException {
        if (!exchange.getResponseHeaders().containsKey("Content-Type")) {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
        }
        exchange.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
