package dev.vmexportguard.bench;

import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesResponseComposer;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.AttributeType;
import io.fabric8.mockwebserver.crud.CrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import java.lang.reflect.Field;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;

/**
 * fabric8's CRUD store of the test API server, indexed by resource and namespace. The store it extends looks at every
 * object it holds for each request (a get by name, a namespace's list, the lookup before a create, an update or a
 * patch); with a cluster of thousands of VMs that costs the simulated API server far more than the guard's requests
 * themselves, and the benchmark would measure the stand-in. Here the requests that name a resource and a namespace look
 * only at that resource's objects in that namespace, matched exactly as the store matches them; everything else (watches,
 * lists across namespaces, deletes, the answers themselves) is the store's own.
 */
final class IndexedCrudStore extends KubernetesCrudDispatcher {
    private final Index index = new Index();
    private final ReadWriteLock lock;
    private final AtomicLong resourceVersion;

    private IndexedCrudStore() throws ReflectiveOperationException {
        Field map = CrudDispatcher.class.getDeclaredField("map");
        map.setAccessible(true);
        map.set(this, index);
        lock = (ReadWriteLock) field(KubernetesCrudDispatcher.class, "lock").get(this);
        resourceVersion = (AtomicLong) field(KubernetesCrudDispatcher.class, "resourceVersion").get(this);
    }

    /**
     * Puts an indexed store in place of the server's own, which must still be empty (before any resource is
     * registered or created); false, with the server left as it was, if fabric8's classes are no longer as expected.
     */
    static boolean install(KubernetesServer server) {
        try {
            Object mixed = field(server.getKubernetesMockServer().getClass(), "dispatcher")
                    .get(server.getKubernetesMockServer());
            Field crud = field(mixed.getClass(), "kubernetesCrudDispatcher");
            crud.set(mixed, new IndexedCrudStore());
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.out.println("  (the simulated API server keeps fabric8's own store, which scans every object for "
                    + "each request: " + e + ")");
            return false;
        }
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException e) {
                // up one class
            }
        }
        throw new NoSuchFieldException(type.getName() + "." + name);
    }

    @Override
    public MockResponse handleGet(String path) {
        String bucket;
        AttributeSet query;
        try {
            String q = new URI(path).getQuery();
            if (q != null && q.contains("watch=true")) {
                return super.handleGet(path);
            }
            query = attributeExtractor.fromPath(path);
            bucket = bucket(query);
        } catch (Exception e) {
            return super.handleGet(path);
        }
        if (bucket == null) {
            return super.handleGet(path);
        }
        lock.readLock().lock();
        try {
            List<String> items = new ArrayList<>();
            for (Map.Entry<AttributeSet, String> entry : index.candidates(bucket)) {
                if (entry.getKey().matches(query)) {
                    items.add(entry.getValue());
                }
            }
            MockResponse response = new MockResponse();
            if (query.containsKey(KubernetesAttributesExtractor.NAME)) {
                if (items.isEmpty()) {
                    response.setResponseCode(HttpURLConnection.HTTP_NOT_FOUND);
                } else {
                    response.setBody(items.get(0));
                    response.setResponseCode(HttpURLConnection.HTTP_OK);
                }
            } else {
                response.setBody(((KubernetesResponseComposer) responseComposer).compose(items,
                        String.valueOf(resourceVersion.get())));
                response.setResponseCode(HttpURLConnection.HTTP_OK);
            }
            return response;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Map.Entry<AttributeSet, String> findResource(AttributeSet attributes) {
        String bucket = bucket(attributes);
        if (bucket == null) {
            return super.findResource(attributes);
        }
        for (Map.Entry<AttributeSet, String> entry : index.candidates(bucket)) {
            if (entry.getKey().matches(attributes)) {
                return entry;
            }
        }
        return null;
    }

    /** {@code plural/namespace} when both are named plainly, else null (such a request looks at everything). */
    private static String bucket(AttributeSet attributes) {
        String plural = plain(attributes.getAttribute(KubernetesAttributesExtractor.PLURAL));
        String namespace = plain(attributes.getAttribute(KubernetesAttributesExtractor.NAMESPACE));
        return plural == null || namespace == null ? null : plural + "/" + namespace;
    }

    private static String plain(Attribute attribute) {
        if (attribute == null || attribute.getType() != AttributeType.WITH || attribute.getValues().size() != 1) {
            return null;
        }
        String value = attribute.getValues().get(0).toString();
        return value == null || value.equals("*") ? null : value;
    }

    /**
     * The store's map, in insertion order as before, with each object also under its {@code plural/namespace};
     * objects stored without either are candidates for every request.
     */
    private static final class Index extends AbstractMap<AttributeSet, String> {
        private final Map<AttributeSet, String> all = new LinkedHashMap<>();
        private final Map<String, Map<AttributeSet, String>> buckets = new HashMap<>();
        private final Map<AttributeSet, String> elsewhere = new LinkedHashMap<>();

        @Override
        public synchronized String put(AttributeSet key, String value) {
            String old = all.put(key, value);
            String bucket = bucket(key);
            (bucket == null ? elsewhere : buckets.computeIfAbsent(bucket, b -> new LinkedHashMap<>())).put(key, value);
            return old;
        }

        @Override
        public synchronized String remove(Object key) {
            String old = all.remove(key);
            if (old != null) {
                String bucket = bucket((AttributeSet) key);
                if (bucket == null) {
                    elsewhere.remove(key);
                } else {
                    Map<AttributeSet, String> objects = buckets.get(bucket);
                    objects.remove(key);
                    if (objects.isEmpty()) {
                        buckets.remove(bucket);
                    }
                }
            }
            return old;
        }

        @Override
        public synchronized String get(Object key) {
            return all.get(key);
        }

        @Override
        public synchronized boolean containsKey(Object key) {
            return all.containsKey(key);
        }

        @Override
        public synchronized int size() {
            return all.size();
        }

        @Override
        public synchronized void clear() {
            all.clear();
            buckets.clear();
            elsewhere.clear();
        }

        /** As the store's map: read under the store's lock. */
        @Override
        public Set<Entry<AttributeSet, String>> entrySet() {
            return all.entrySet();
        }

        synchronized List<Map.Entry<AttributeSet, String>> candidates(String bucket) {
            Map<AttributeSet, String> objects = buckets.getOrDefault(bucket, Map.of());
            List<Map.Entry<AttributeSet, String>> candidates = new ArrayList<>(objects.size() + elsewhere.size());
            objects.forEach((k, v) -> candidates.add(Map.entry(k, v)));
            elsewhere.forEach((k, v) -> candidates.add(Map.entry(k, v)));
            return candidates;
        }
    }
}
