package dev.vmexportguard.concurrent;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Runs tasks on a fixed number of threads, at the same time except where they share a key: tasks that share any key
 * run one after another, in the order they were submitted. Among the tasks free to run, groups take turns (round
 * robin), so a group with many slow tasks holds back another group's tasks by one turn, not by all of its own.
 * <p>
 * At most {@code maxHeld} tasks are held (submitted and not yet ended): {@link #submit} answers a stage that completes
 * once its task is taken in, at once while there is room, else when an earlier task ends. A submitter that waits for
 * that stage before it submits the next holds no more than {@code maxHeld} tasks in memory, however many come.
 * <p>
 * Tasks that share keys are ordered by submission, so the oldest task waiting is always first on each of its keys:
 * the tasks always make progress. A task that throws is logged; its keys are freed as if it had ended.
 */
public final class KeyedTasks implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KeyedTasks.class);

    private final class Task {
        final String group;
        final Set<String> keys;
        final Runnable work;
        /** Keys on which an earlier task is still held. */
        int blockedOn;

        Task(String group, Set<String> keys, Runnable work) {
            this.group = group;
            this.keys = keys;
            this.work = work;
        }
    }

    private record Admission(Task task, CompletableFuture<Void> admitted) {
    }

    private final String name;
    private final int threads;
    private final int maxHeld;
    private final ExecutorService executor;
    /** Per key, the held tasks that have it, oldest first; the first is running or free to run. */
    private final Map<String, Deque<Task>> byKey = new HashMap<>();
    /** Per group, its tasks free to run, oldest first; {@link #turns} holds each group that has some, once. */
    private final Map<String, Deque<Task>> ready = new HashMap<>();
    private final Deque<String> turns = new ArrayDeque<>();
    /** Tasks submitted while {@code maxHeld} were held, waiting to be taken in. */
    private final Deque<Admission> waiting = new ArrayDeque<>();
    private int held;
    private int running;
    private boolean closed;

    public KeyedTasks(String name, int threads, int maxHeld) {
        if (threads < 1 || maxHeld < 1) {
            throw new IllegalArgumentException("threads and maxHeld must be at least 1");
        }
        this.name = name;
        this.threads = threads;
        this.maxHeld = maxHeld;
        AtomicInteger count = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(threads, r -> {
            Thread thread = new Thread(r, name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Takes {@code work} in, to run once no earlier task with one of its {@code keys} is held, in {@code group}'s
     * turn. The stage completes when the task is taken in (not when it ends); it never completes once this is
     * closed.
     */
    public CompletionStage<Void> submit(String group, Set<String> keys, Runnable work) {
        Task task = new Task(group, Set.copyOf(keys), work);
        List<Task> toRun;
        synchronized (this) {
            if (closed) {
                return new CompletableFuture<>();
            }
            if (held >= maxHeld || !waiting.isEmpty()) {
                Admission admission = new Admission(task, new CompletableFuture<>());
                waiting.addLast(admission);
                return admission.admitted();
            }
            take(task);
            toRun = dispatch();
        }
        start(toRun);
        return CompletableFuture.completedFuture(null);
    }

    /** Tasks submitted and not yet ended, the ones waiting to be taken in included. */
    public synchronized int held() {
        return held + waiting.size();
    }

    /** Lets running tasks end (waiting at most {@code wait}), and starts no other. */
    public void close(Duration wait) {
        synchronized (this) {
            closed = true;
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warnf("%s: tasks in hand did not end within %s; interrupting them", name, wait);
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }

    /** Holds the task: last on each of its keys, free to run when it is first on all of them. */
    private void take(Task task) {
        held++;
        for (String key : task.keys) {
            Deque<Task> queue = byKey.computeIfAbsent(key, k -> new ArrayDeque<>());
            if (!queue.isEmpty()) {
                task.blockedOn++;
            }
            queue.addLast(task);
        }
        if (task.blockedOn == 0) {
            makeReady(task);
        }
    }

    private void makeReady(Task task) {
        Deque<Task> groupReady = ready.computeIfAbsent(task.group, g -> new ArrayDeque<>());
        if (groupReady.isEmpty()) {
            turns.addLast(task.group);
        }
        groupReady.addLast(task);
    }

    /** The tasks to start now: one of each group in turn, while threads are free. */
    private List<Task> dispatch() {
        List<Task> toRun = new ArrayList<>();
        while (!closed && running < threads && !turns.isEmpty()) {
            String group = turns.pollFirst();
            Deque<Task> groupReady = ready.get(group);
            toRun.add(groupReady.pollFirst());
            if (groupReady.isEmpty()) {
                ready.remove(group);
            } else {
                turns.addLast(group);
            }
            running++;
        }
        return toRun;
    }

    private void start(List<Task> tasks) {
        for (Task task : tasks) {
            try {
                executor.execute(() -> run(task));
            } catch (RejectedExecutionException e) {
                // closed meanwhile: the task does not run
                synchronized (this) {
                    running--;
                }
            }
        }
    }

    private void run(Task task) {
        try {
            task.work.run();
        } catch (RuntimeException | Error e) {
            LOG.errorf(e, "%s: a task failed", name);
        } finally {
            ended(task);
        }
    }

    private void ended(Task task) {
        List<Task> toRun;
        List<CompletableFuture<Void>> admitted = new ArrayList<>();
        synchronized (this) {
            running--;
            held--;
            for (String key : task.keys) {
                Deque<Task> queue = byKey.get(key);
                queue.pollFirst();
                if (queue.isEmpty()) {
                    byKey.remove(key);
                } else {
                    Task next = queue.peekFirst();
                    if (--next.blockedOn == 0) {
                        makeReady(next);
                    }
                }
            }
            while (!closed && held < maxHeld && !waiting.isEmpty()) {
                Admission admission = waiting.pollFirst();
                take(admission.task());
                admitted.add(admission.admitted());
            }
            toRun = dispatch();
        }
        start(toRun);
        // outside the lock: whoever waits for the admission may submit again from here
        admitted.forEach(a -> a.complete(null));
    }
}
