package dev.vmexportguard.concurrent;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * One background thread that runs tasks one at a time: some at a fixed delay, others when woken. Waking a task
 * that is already waiting to run does nothing more, so a burst of wake-ups costs one run. A task that throws is
 * logged and runs again at its next turn; nothing stops the thread but {@link #close}.
 */
public final class SerialWorker implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SerialWorker.class);

    private final String name;
    private final ScheduledExecutorService executor;

    public SerialWorker(String name) {
        this.name = name;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, name));
    }

    /** Runs {@code task} now, then {@code interval} after each run ends. */
    public void every(Duration interval, String what, Runnable task) {
        executor.scheduleWithFixedDelay(guarded(what, task), 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * A trigger that runs {@code task} on this worker soon; triggering it again before that run starts does
     * nothing more. Safe from any thread, also once the worker is closed (then it does nothing).
     */
    public Runnable trigger(String what, Runnable task) {
        AtomicBoolean pending = new AtomicBoolean();
        Runnable guarded = guarded(what, task);
        return () -> {
            if (!executor.isShutdown() && pending.compareAndSet(false, true)) {
                try {
                    executor.execute(() -> {
                        pending.set(false);
                        guarded.run();
                    });
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // closed meanwhile: nothing more runs
                }
            }
        };
    }

    /** Lets the task in hand end (waiting at most {@code wait}), then runs nothing more. */
    public void close(Duration wait) {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warnf("%s: the task in hand did not end within %s", name, wait);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }

    private Runnable guarded(String what, Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.warnf(e, "%s failed; trying again on the next round", what);
            }
        };
    }
}
