package dev.vmexportguard.bench;

import dev.vmexportguard.cluster.KubernetesResources;
import dev.vmexportguard.support.HarvesterApiSetup;
import dev.vmexportguard.support.HarvesterCluster;
import dev.vmexportguard.support.HarvesterSimulator;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The simulated Harvester cluster of the benchmark: the Kubernetes API test server in CRUD mode set up as Harvester's
 * ({@link HarvesterApiSetup}: KubeVirt's and Harvester's resources, SubjectAccessReviews and TokenReviews answered
 * by the scripted authorizer and authenticator), its store indexed by resource and namespace ({@link IndexedCrudStore}),
 * seeded with {@code vms} VMs spread over {@code namespaces}
 * namespaces, each with a bound PVC of its own: the even ones running (a Running VMI and a virt-launcher pod
 * mounting the PVC, as {@link HarvesterSimulator#runningVm} leaves them), the odd ones stopped. VM {@code i} is
 * {@code vm-i} in namespace {@code bench-((i / 2) % namespaces)}, so every namespace holds both kinds. Harvester's
 * image controller is played too: each image the guard creates is imported {@code copySeconds} later.
 */
final class BenchCluster implements AutoCloseable {
    private final KubernetesServer api;
    private final KubernetesClient client;
    private final HarvesterCluster cluster;
    private final HarvesterSimulator simulator;
    private final int namespaces;
    private final ScheduledExecutorService imageController = Executors.newScheduledThreadPool(2, daemon("image-controller"));
    private final AtomicInteger imported = new AtomicInteger();
    private volatile Watch imageWatch;
    private volatile boolean closed;
    private boolean indexed;
    private final Thread requestLogDrain;

    private BenchCluster(KubernetesServer api, int namespaces) {
        this.api = api;
        this.client = api.getClient();
        this.cluster = new HarvesterCluster(client);
        this.simulator = new HarvesterSimulator(client);
        this.namespaces = namespaces;
        // the test server keeps every request it received in a queue of its own; a run of the benchmark sends
        // hundreds of thousands, so they are taken off as they come
        this.requestLogDrain = new Thread(() -> {
            while (!closed) {
                try {
                    RecordedRequest r = api.getKubernetesMockServer().takeRequest(1, TimeUnit.SECONDS);
                    if (r != null && GUARD_AUTHORIZATION.equals(r.getHeader("Authorization"))) {
                        guardRequests.computeIfAbsent(kind(r.getMethod(), r.getPath()), k -> new LongAdder()).increment();
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    // the server is stopping
                }
            }
        }, "api-request-log-drain");
        requestLogDrain.setDaemon(true);
        requestLogDrain.start();
    }

    /**
     * The bearer token the guard's client is given (the simulated API server takes any): it tells the guard's
     * requests from the benchmark's own.
     */
    static final String GUARD_TOKEN = "bench-guard-token";
    private static final String GUARD_AUTHORIZATION = "Bearer " + GUARD_TOKEN;
    private final Map<String, LongAdder> guardRequests = new ConcurrentHashMap<>();

    /**
     * {@code verb resource[.group][/subresource]} of a request, as the guard's metric names its calls ({@code list
     * pods}, {@code create subjectaccessreviews.authorization.k8s.io}); {@code watch} for a watch.
     */
    static String kind(String method, String path) {
        int q = path.indexOf('?');
        String query = q < 0 ? "" : path.substring(q);
        String[] seg = (q < 0 ? path : path.substring(0, q)).replaceFirst("^/", "").split("/");
        int i;
        String group = "";
        if (seg[0].equals("api") && seg.length > 2) {
            i = 2;
        } else if (seg[0].equals("apis") && seg.length > 3) {
            group = "." + seg[1];
            i = 3;
        } else {
            return method + " " + path;
        }
        if (seg[i].equals("namespaces") && seg.length > i + 2) {
            i += 2;
        }
        String name = seg.length > i + 1 ? seg[i + 1] : null;
        String sub = seg.length > i + 2 ? "/" + seg[i + 2] : "";
        String verb = switch (method) {
            case "GET" -> query.contains("watch=true") ? "watch" : name != null ? "get" : "list";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> "delete";
            default -> method.toLowerCase(Locale.ROOT);
        };
        return verb + " " + seg[i] + group + sub;
    }

    /** The requests the guard sent that reached the API server so far, by {@link #kind}. */
    Map<String, Double> guardRequests() {
        Map<String, Double> counts = new HashMap<>();
        guardRequests.forEach((k, v) -> counts.put(k, v.doubleValue()));
        return counts;
    }

    static BenchCluster start(int namespaces) {
        KubernetesServer api = new KubernetesServer(false, true, InetAddress.getLoopbackAddress(), 0, List.of());
        api.before();
        boolean indexed = IndexedCrudStore.install(api);
        new HarvesterApiSetup().accept(api);
        BenchCluster cluster = new BenchCluster(api, namespaces);
        cluster.indexed = indexed;
        return cluster;
    }

    /** Whether the API server's store is indexed by resource and namespace ({@link IndexedCrudStore}). */
    boolean indexed() {
        return indexed;
    }

    String masterUrl() {
        return client.getMasterUrl().toString();
    }

    static String namespace(int vm, int namespaces) {
        return "bench-" + ((vm / 2) % namespaces);
    }

    static String vmName(int vm) {
        return "vm-" + vm;
    }

    static String volumeName(int vm) {
        return vmName(vm) + "-disk-0";
    }

    static boolean running(int vm) {
        return vm % 2 == 0;
    }

    /** Creates the VMs, their PVCs, and the running ones' VMIs and launcher pods, on {@code threads} threads. */
    void seed(int vms, int threads) throws Exception {
        long t0 = System.nanoTime();
        AtomicInteger done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, daemon("seed"));
        try {
            List<Future<?>> work = new ArrayList<>();
            AtomicInteger next = new AtomicInteger();
            for (int t = 0; t < threads; t++) {
                work.add(pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < vms && !closed; i = next.getAndIncrement()) {
                        String ns = namespace(i, namespaces);
                        cluster.volume(ns, volumeName(i));
                        if (running(i)) {
                            simulator.runningVm(ns, vmName(i), "RerunOnFailure", volumeName(i));
                        } else {
                            cluster.vm(ns, vmName(i), "Stopped", volumeName(i));
                        }
                        done.incrementAndGet();
                    }
                    return null;
                }));
            }
            int reported = 0;
            long lastReport = System.nanoTime();
            for (Future<?> f : work) {
                while (true) {
                    try {
                        f.get(1, TimeUnit.SECONDS);
                        break;
                    } catch (java.util.concurrent.TimeoutException notYet) {
                        int now = done.get();
                        if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(10) && now > reported) {
                            double s = (System.nanoTime() - t0) / 1e9;
                            System.out.printf("  seeded %d/%d VMs (%.0f s, %.0f VMs/s)%n", now, vms, s, now / s);
                            reported = now;
                            lastReport = System.nanoTime();
                        }
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("  seeded %d VMs in %d namespaces in %.0f s (%.0f VMs/s)%n", vms, namespaces, s, vms / s);
    }

    /**
     * Times {@code n} namespace lists (pods, then VMs) from this process, one at a time: what one API call costs on
     * this simulated API server, before the guard runs. Milliseconds, sorted.
     */
    double[] listLatencies(int n) {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            String ns = "bench-" + (i % namespaces);
            long t = System.nanoTime();
            if (i % 2 == 0) {
                client.pods().inNamespace(ns).list();
            } else {
                client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE).inNamespace(ns).list();
            }
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return ms;
    }

    /**
     * Plays Harvester's image controller for the guard's images: each one added is imported (progress 100,
     * Imported=True) {@code copySeconds} later, as {@link HarvesterSimulator#complete} writes it.
     */
    void importImagesAfter(int copySeconds) {
        imageWatch = client.genericKubernetesResources(KubernetesResources.VIRTUAL_MACHINE_IMAGE).inAnyNamespace()
                .watch(new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, GenericKubernetesResource image) {
                        Map<String, String> labels = image.getMetadata().getLabels();
                        if (action != Action.ADDED || labels == null || !KubernetesResources.MANAGED_BY_VALUE.equals(
                                labels.get(KubernetesResources.LABEL_MANAGED_BY))) {
                            return;
                        }
                        String ns = image.getMetadata().getNamespace();
                        String name = image.getMetadata().getName();
                        imageController.schedule(() -> {
                            try {
                                simulator.complete(ns, name, 10_737_418_240L);
                                imported.incrementAndGet();
                            } catch (RuntimeException e) {
                                // deleted meanwhile (the export failed): nothing to import
                            }
                        }, copySeconds, TimeUnit.SECONDS);
                    }

                    @Override
                    public void onClose(WatcherException cause) {
                        if (!closed) {
                            System.out.println("  the image controller's watch closed: " + cause);
                        }
                    }
                });
    }

    int imported() {
        return imported.get();
    }

    @Override
    public void close() {
        closed = true;
        imageController.shutdownNow();
        if (imageWatch != null) {
            imageWatch.close();
        }
        requestLogDrain.interrupt();
        api.after();
    }

    static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
