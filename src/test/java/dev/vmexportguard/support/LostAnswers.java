package dev.vmexportguard.support;

import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
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
        Dispatcher crud = TestApiServer.crudDispatcher(server);
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
        Dispatcher crud = TestApiServer.crudDispatcher(server);
        server.expect().get().withPath(path).andReply(TestApiServer.answer(request -> {
            if (away.getAsBoolean()) {
                return new TestApiServer.Reply(503, Serialization.asJson(unavailable()));
            }
            MockResponse response = crud.dispatch(request);
            return new TestApiServer.Reply(response.code(), response.getBody().readUtf8());
        })).always();
    }

    /**
     * Every POST to {@code path} is served by the CRUD store as usual; once one is, {@code afterCreate} runs (e.g. to
     * make the API server fail the calls that come next).
     */
    public static void afterCreate(KubernetesServer server, String path, Runnable afterCreate) {
        Dispatcher crud = TestApiServer.crudDispatcher(server);
        server.expect().post().withPath(path).andReply(TestApiServer.answer(request -> {
            MockResponse response = crud.dispatch(request);
            if (response.code() / 100 == 2) {
                afterCreate.run();
            }
            return new TestApiServer.Reply(response.code(), response.getBody().readUtf8());
        })).always();
    }

    private static Status unavailable() {
        return new StatusBuilder().withStatus("Failure").withCode(503).withReason("ServiceUnavailable")
                .withMessage("the server is currently unable to handle the request").build();
    }
}
