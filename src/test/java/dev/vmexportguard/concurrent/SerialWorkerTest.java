package dev.vmexportguard.concurrent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The one background mechanism: tasks one at a time, wake-ups coalesced, failures survived, a clean stop. */
class SerialWorkerTest {

    @Test
    void wakeUpsWhileARunIsWaitingCostOneRun() throws Exception {
        try (SerialWorker worker = new SerialWorker("test-worker")) {
            CountDownLatch blocker = new CountDownLatch(1);
            CountDownLatch blocking = new CountDownLatch(1);
            AtomicInteger runs = new AtomicInteger();
            Runnable block = worker.trigger("block", () -> {
                blocking.countDown();
                await(blocker);
            });
            Runnable count = worker.trigger("count", runs::incrementAndGet);

            block.run();
            assertThat(blocking.await(5, TimeUnit.SECONDS)).isTrue();
            for (int i = 0; i < 100; i++) {
                count.run();
            }
            blocker.countDown();
            CountDownLatch after = new CountDownLatch(1);
            worker.trigger("after", after::countDown).run();
            assertThat(after.await(5, TimeUnit.SECONDS)).isTrue();

            assertThat(runs.get()).isEqualTo(1);
        }
    }

    @Test
    void aTriggerRunsAgainOnceItsRunHasStarted() throws Exception {
        try (SerialWorker worker = new SerialWorker("test-worker")) {
            CountDownLatch twice = new CountDownLatch(2);
            Runnable task = worker.trigger("task", twice::countDown);

            task.run();
            Thread.sleep(100);
            task.run();

            assertThat(twice.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void tasksRunOneAtATimeInTheOrderTheyWereWoken() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        try (SerialWorker worker = new SerialWorker("test-worker")) {
            CountDownLatch done = new CountDownLatch(3);
            for (String name : List.of("a", "b", "c")) {
                worker.trigger(name, () -> {
                    if (inside.incrementAndGet() > 1) {
                        overlaps.incrementAndGet();
                    }
                    sleep(30);
                    seen.add(name);
                    inside.decrementAndGet();
                    done.countDown();
                }).run();
            }
            assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(seen).containsExactly("a", "b", "c");
        assertThat(overlaps.get()).isZero();
    }

    @Test
    void aFailingTaskRunsAgainAtItsNextTurn() throws Exception {
        CountDownLatch threeRuns = new CountDownLatch(3);
        try (SerialWorker worker = new SerialWorker("test-worker")) {
            worker.every(Duration.ofMillis(10), "failing", () -> {
                threeRuns.countDown();
                throw new IllegalStateException("boom");
            });
            assertThat(threeRuns.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void closeLetsTheTaskInHandEndAndRunsNothingMore() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(1);
        SerialWorker worker = new SerialWorker("test-worker");
        Runnable slow = worker.trigger("slow", () -> {
            started.countDown();
            sleep(200);
            runs.incrementAndGet();
        });
        slow.run();
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

        worker.close(Duration.ofSeconds(5));
        slow.run();
        Thread.sleep(300);

        assertThat(runs.get()).isEqualTo(1);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
