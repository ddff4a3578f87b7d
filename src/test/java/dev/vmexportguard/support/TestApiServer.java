package dev.vmexportguard.support;

import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.utils.ResponseProvider;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.lang.reflect.Field;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Function;

/**
 * What the tests need of the Kubernetes API test server beyond its DSL: answers computed from the request (status code
 * included), its CRUD store, and the web server that dispatches to it.
 */
public final class TestApiServer {

    private TestApiServer() {
    }

    /** A status code and a body. */
    public record Reply(int code, String body) {
    }

    /**
     * An answer computed from the request, once: the server asks for the code and for the body of one request
     * separately, and both come from the same {@link Reply}.
     */
    public static ResponseProvider<Object> answer(Function<RecordedRequest, Reply> answer) {
        Map<RecordedRequest, Reply> replies = Collections.synchronizedMap(new WeakHashMap<>());
        return new ResponseProvider<>() {
            private Headers headers = new Headers.Builder().build();

            @Override
            public Object getBody(RecordedRequest request) {
                return replies.computeIfAbsent(request, answer).body();
            }

            @Override
            public int getStatusCode(RecordedRequest request) {
                return replies.computeIfAbsent(request, answer).code();
            }

            @Override
            public Headers getHeaders() {
                return headers;
            }

            @Override
            public void setHeaders(Headers headers) {
                this.headers = headers;
            }
        };
    }

    /** The server's CRUD store, which answers whatever no expectation does. */
    public static Dispatcher crudDispatcher(KubernetesServer server) {
        return (Dispatcher) field(field(server.getKubernetesMockServer(), "dispatcher"), "kubernetesCrudDispatcher");
    }

    /**
     * Makes the test server answer a JSON patch whose {@code test} operation fails (or that cannot be applied) as
     * the API server does, {@code 422} with a Status (k8s.io/apiserver {@code handlers/patch.go}: {@code
     * NewGenericServerResponse(http.StatusUnprocessableEntity, ...)}); its CRUD store throws instead, and the client
     * gets no answer at all.
     */
    public static void answerFailedPatchesAsTheApiServerDoes(KubernetesServer server) {
        MockWebServer web = webServer(server);
        Dispatcher served = dispatcherOf(web);
        if (served instanceof PatchFailures) {
            return;
        }
        web.setDispatcher(new PatchFailures(served));
    }

    private static final class PatchFailures extends Dispatcher {
        private final Dispatcher served;

        PatchFailures(Dispatcher served) {
            this.served = served;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            try {
                return served.dispatch(request);
            } catch (RuntimeException e) {
                for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                    if (cause.getClass().getName().startsWith("io.fabric8.zjsonpatch.")) {
                        return new MockResponse().setResponseCode(422).setHeader("Content-Type", "application/json")
                                .setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                        + "\"status\":\"Failure\",\"message\":" + quoted(cause.getMessage())
                                        + ",\"reason\":\"Invalid\",\"code\":422}");
                    }
                }
                throw e;
            }
        }

        @Override
        public void shutdown() {
            served.shutdown();
        }

        private static String quoted(String text) {
            return "\"" + String.valueOf(text).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
    }

    /** The web server under the test server, and the dispatcher it hands each request to. */
    static MockWebServer webServer(KubernetesServer server) {
        return (MockWebServer) field(server.getKubernetesMockServer(), "server");
    }

    static Dispatcher dispatcherOf(MockWebServer web) {
        return (Dispatcher) field(web, "dispatcher");
    }

    private static Object field(Object owner, String name) {
        for (Class<?> c = owner.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(owner);
            } catch (NoSuchFieldException e) {
                // up one class
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("the test server's " + name + " cannot be read", e);
            }
        }
        throw new IllegalStateException("the test server's " + name + " is not where it was");
    }
}
