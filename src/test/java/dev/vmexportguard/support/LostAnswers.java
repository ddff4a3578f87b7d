package dev.vmexportguard.support;

import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.utils.ResponseProvider;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * An API server whose answer to a create is lost: it stores the object (or not) and answers 500, as one does when
 * etcd commits but the request times out on the way back, or a webhook fails after admission. The object is stored
 * by the test server's own CRUD store, in the same call, before the answer is sent.
 */
public final class LostAnswers {

    private LostAnswers() {
    }

    /** The path of a namespaced collection, e.g. {@code path("/apis/harvesterhci.io/v1beta1", ns, "virtualmachineimages")}. */
    public static String path(String apiPrefix, String ns, String plural) {
        return apiPrefix + "/namespaces/" + ns + "/" + plural;
    }

    public static Status serverError() {
        return new StatusBuilder().withStatus("Failure").withCode(500).withReason("InternalError")
                .withMessage("etcdserver: request timed out").build();
    }

    /**
     * Every POST to {@code path} is stored (when {@code store}), then answered 500; counts the POSTs in {@code posts}.
     * {@code times} answers like this, then the CRUD store answers as usual (negative: always).
     */
    public static void createThenFail(KubernetesServer server, String path, boolean store, int times,
                                      AtomicInteger posts) {
        Dispatcher crud = crudDispatcher(server);
        var expectation = server.expect().post().withPath(path).andReply(500, (RecordedRequest request) -> {
            posts.incrementAndGet();
            if (store) {
                crud.dispatch(request);   // 201, or 409 when an earlier attempt stored it
            }
            return Serialization.asJson(serverError());
        });
        if (times < 0) {
            expectation.always();
        } else {
            expectation.times(times);
        }
    }

    /**
     * Every GET of exactly {@code path} (a list without a query) is answered 503 while {@code away} says so, and by
     * the CRUD store otherwise: an API server that gives the guard no answer to that read for a while, so that it
     * looks at what the read shows only once it answers again. Watches and reads of single objects are answered.
     */
    public static void unansweredWhile(KubernetesServer server, String path, BooleanSupplier away) {
        Dispatcher crud = crudDispatcher(server);
        server.expect().get().withPath(path).andReply(new ResponseProvider<Object>() {
            private Headers headers = new Headers.Builder().build();

            @Override
            public Object getBody(RecordedRequest request) {
                return away.getAsBoolean() ? Serialization.asJson(unavailable()) : crud.dispatch(request).getBody().readUtf8();
            }

            @Override
            public int getStatusCode(RecordedRequest request) {
                return away.getAsBoolean() ? 503 : crud.dispatch(request).code();
            }

            @Override
            public Headers getHeaders() {
                return headers;
            }

            @Override
            public void setHeaders(Headers headers) {
                this.headers = headers;
            }
        }).always();
    }

    /**
     * Every POST to {@code path} is served by the CRUD store as usual; once one is, {@code afterCreate} runs (e.g. to
     * make the API server fail the calls that come next).
     */
    public static void afterCreate(KubernetesServer server, String path, Runnable afterCreate) {
        Dispatcher crud = crudDispatcher(server);
        server.expect().post().withPath(path).andReply(new ResponseProvider<Object>() {
            private Headers headers = new Headers.Builder().build();
            private final java.util.Map<RecordedRequest, io.fabric8.mockwebserver.http.MockResponse> served =
                    java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

            private io.fabric8.mockwebserver.http.MockResponse serve(RecordedRequest request) {
                return served.computeIfAbsent(request, r -> {
                    io.fabric8.mockwebserver.http.MockResponse response = crud.dispatch(r);
                    if (response.code() / 100 == 2) {
                        afterCreate.run();
                    }
                    return response;
                });
            }

            @Override
            public Object getBody(RecordedRequest request) {
                return serve(request).getBody().readUtf8();
            }

            @Override
            public int getStatusCode(RecordedRequest request) {
                return serve(request).code();
            }

            @Override
            public Headers getHeaders() {
                return headers;
            }

            @Override
            public void setHeaders(Headers headers) {
                this.headers = headers;
            }
        }).always();
    }

    private static Status unavailable() {
        return new StatusBuilder().withStatus("Failure").withCode(503).withReason("ServiceUnavailable")
                .withMessage("the server is currently unable to handle the request").build();
    }

    /** The test server's CRUD store, which answers whatever no expectation does. */
    private static Dispatcher crudDispatcher(KubernetesServer server) {
        try {
            Object mixed = field(server.getKubernetesMockServer(), "dispatcher");
            return (Dispatcher) field(mixed, "kubernetesCrudDispatcher");
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the test server's CRUD dispatcher is not where it was", e);
        }
    }

    private static Object field(Object owner, String name) throws ReflectiveOperationException {
        for (Class<?> c = owner.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(owner);
            } catch (NoSuchFieldException e) {
                // up one class
            }
        }
        throw new NoSuchFieldException(name);
    }
}
