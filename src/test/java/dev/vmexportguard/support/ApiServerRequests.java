package dev.vmexportguard.support;

import io.fabric8.mockwebserver.http.RecordedRequest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * What reached the test API server, in the order it arrived: the server records every request it serves, and this
 * reads them. {@link #drain} takes what arrived since the last call; {@link #recordInBackground} keeps taking them
 * on a thread of its own (for a server shared with processes), so that {@link #all} holds every request so far.
 */
public final class ApiServerRequests implements AutoCloseable {
    private static final Set<String> CHANGING = Set.of("POST", "PUT", "PATCH", "DELETE");

    /** One request as the server received it, with the test's clock when it was taken. */
    public record Request(String method, String path, String body, long atMillis) {
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
    private final List<Request> all = new CopyOnWriteArrayList<>();
    private volatile Thread recorder;

    public ApiServerRequests(KubernetesServer server) {
        this.server = server;
    }

    /** Every request that reached the server since the last drain (waiting for none). */
    public List<Request> drain() {
        List<Request> taken = new ArrayList<>();
        try {
            RecordedRequest r;
            while ((r = server.getKubernetesMockServer().takeRequest(1, TimeUnit.MILLISECONDS)) != null) {
                Request request = of(r);
                taken.add(request);
                all.add(request);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return taken;
    }

    /** A copy of what the server recorded; the body is read without consuming it (the server still reads it). */
    private static Request of(RecordedRequest r) {
        GuardApiCalls.recordIfGuard(r);
        String body = r.getBody() == null ? "" : new String(r.getBody().getBytes(), StandardCharsets.UTF_8);
        return new Request(r.getMethod(), r.getPath(), body, System.currentTimeMillis());
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
                    RecordedRequest r = server.getKubernetesMockServer().takeRequest(200, TimeUnit.MILLISECONDS);
                    if (r != null) {
                        all.add(of(r));
                    }
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
