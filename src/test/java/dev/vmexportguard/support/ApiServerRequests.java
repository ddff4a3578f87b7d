package dev.vmexportguard.support;

import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * What reached the test API server, in the order it arrived, with the body as it came and the status code it was
 * answered: a dispatcher put in front of the server's own (its CRUD store and the tests' expectations) takes each
 * request before that one reads its body, and its answer after. {@link #drain} takes what arrived since the last call;
 * {@link #recordInBackground} keeps taking them on a thread of its own (for a server shared with processes), so that
 * {@link #all} holds every request so far.
 */
public final class ApiServerRequests implements AutoCloseable {
    private static final Set<String> CHANGING = Set.of("POST", "PUT", "PATCH", "DELETE");

    /** One request as the server received it, the status code of its answer, and the test's clock when it came. */
    public record Request(String method, String path, String body, int code, long atMillis) {
        /** Answered with a 2xx: what it asked was done. */
        public boolean succeeded() {
            return code >= 200 && code < 300;
        }

        public boolean changes() {
            return CHANGING.contains(method) && !path.contains("/subjectaccessreviews")
                    && !path.contains("/tokenreviews") && !path.contains("/selfsubjectaccessreviews");
        }

        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    private final KubernetesServer server;
    private final Recording recording;
    private final List<Request> all = new CopyOnWriteArrayList<>();
    private volatile Thread recorder;

    public ApiServerRequests(KubernetesServer server) {
        this.server = server;
        this.recording = Recording.of(server);
    }

    /** Every request that reached the server since the last drain (waiting for none). */
    public List<Request> drain() {
        List<Request> taken = new ArrayList<>();
        recording.taken.drainTo(taken);
        all.addAll(taken);
        discardServerQueue();
        return taken;
    }

    /**
     * The server keeps its own queue of what it received, from its start on (the guard's first calls and its
     * watches, opened before any recording dispatcher is put in, are there): the guard's calls in it go to
     * {@link GuardApiCalls}, and it is emptied.
     */
    private void discardServerQueue() {
        try {
            RecordedRequest r;
            while ((r = server.getKubernetesMockServer().takeRequest(0, TimeUnit.MILLISECONDS)) != null) {
                GuardApiCalls.recordIfGuard(r);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The dispatcher in front of the server's own: it copies each request's body before the server's dispatcher reads
     * it, and records the status code of the answer. Put in once per server; the server's own dispatcher keeps
     * serving the tests' expectations and custom resources (it is still the one the server is configured with).
     */
    private static final class Recording extends Dispatcher {
        private final Dispatcher served;
        final BlockingQueue<Request> taken = new LinkedBlockingQueue<>();

        private Recording(Dispatcher served) {
            this.served = served;
        }

        static synchronized Recording of(KubernetesServer server) {
            MockWebServer web = TestApiServer.webServer(server);
            Dispatcher current = TestApiServer.dispatcherOf(web);
            if (current instanceof Recording recording) {
                return recording;
            }
            Recording recording = new Recording(current);
            web.setDispatcher(recording);
            return recording;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String body = request.getBody() == null ? "" : new String(request.getBody().getBytes(), StandardCharsets.UTF_8);
            long at = System.currentTimeMillis();
            MockResponse response = served.dispatch(request);
            taken.add(new Request(request.getMethod(), request.getPath(), body, response == null ? 0 : response.code(), at));
            return response;
        }

        @Override
        public void shutdown() {
            served.shutdown();
        }
    }

    /** Requests that change something (creates, updates, patches, deletes; reviews only ask and are left out). */
    public static List<Request> changes(List<Request> requests) {
        return requests.stream().filter(Request::changes).toList();
    }

    /** Starts taking requests as they arrive, on a daemon thread; {@link #all} then holds them all. */
    public ApiServerRequests recordInBackground() {
        Thread t = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Request r = recording.taken.poll(200, TimeUnit.MILLISECONDS);
                    if (r != null) {
                        all.add(r);
                    }
                    discardServerQueue();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "api-server-requests");
        t.setDaemon(true);
        t.start();
        recorder = t;
        return this;
    }

    /** Every request taken so far, in the order of arrival. */
    public List<Request> all() {
        return List.copyOf(all);
    }

    @Override
    public void close() {
        Thread t = recorder;
        if (t != null) {
            t.interrupt();
        }
    }
}
