package dev.vmexportguard.concurrent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Tasks at the same time unless they share a key, in order where they do, groups in turn, a bounded number held. */
class KeyedTasksTest {

    @Test
    void tasksWithoutASharedKeyRunAtTheSameTime() throws Exception {
        try (KeyedTasks tasks = new KeyedTasks("test-tasks", 2, 10)) {
            CountDownLatch both = new CountDownLatch(2);
            CountDownLatch done = new CountDownLatch(2);
            for (String key : List.of("a", "b")) {
                tasks.submit("g", Set.of(key), () -> {
                    both.countDown();
                    // each waits for the other: only ends if both run at once
                    await(both);
                    done.countDown();
                });
            }
            assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void tasksSharingAKeyRunInTheOrderSubmitted() throws Exception {
        try (KeyedTasks tasks = new KeyedTasks("test-tasks", 4, 100)) {
            List<String> order = new CopyOnWriteArrayList<>();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(4);
            tasks.submit("g", Set.of("vm:web", "request:1"), () -> {
                await(release);
                order.add("first");
                done.countDown();
            });
            // shares the VM with the first, the volume with the third
            tasks.submit("g", Set.of("vm:web", "volume:disk"), () -> {
                order.add("second");
                done.countDown();
            });
            tasks.submit("g", Set.of("volume:disk"), () -> {
                order.add("third");
                done.countDown();
            });
            CountDownLatch unrelated = new CountDownLatch(1);
            tasks.submit("g", Set.of("volume:other"), () -> {
                order.add("unrelated");
                unrelated.countDown();
                done.countDown();
            });
            assertThat(unrelated.await(5, TimeUnit.SECONDS)).isTrue();
            release.countDown();
            assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(order).containsExactly("unrelated", "first", "second", "third");
        }
    }

    @Test
    void groupsTakeTurnsSoABusyGroupDoesNotHoldAnotherBack() throws Exception {
        try (KeyedTasks tasks = new KeyedTasks("test-tasks", 1, 100)) {
            List<String> order = new CopyOnWriteArrayList<>();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(12);
            tasks.submit("slow", Set.of("s0"), () -> {
                await(release);
                order.add("slow");
                done.countDown();
            });
            for (int i = 1; i < 11; i++) {
                tasks.submit("slow", Set.of("s" + i), () -> {
                    order.add("slow");
                    done.countDown();
                });
            }
            tasks.submit("other", Set.of("o"), () -> {
                order.add("other");
                done.countDown();
            });
            release.countDown();
            assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
            // the one thread was busy with the first slow task; the other group's task comes next
            assertThat(order.indexOf("other")).isEqualTo(2);
        }
    }

    @Test
    void noMoreThanMaxHeldAreTakenIn() throws Exception {
        try (KeyedTasks tasks = new KeyedTasks("test-tasks", 1, 2)) {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch ran = new CountDownLatch(3);
            CompletionStage<Void> first = tasks.submit("g", Set.of("a"), () -> {
                await(release);
                ran.countDown();
            });
            CompletionStage<Void> second = tasks.submit("g", Set.of("b"), ran::countDown);
            CompletionStage<Void> third = tasks.submit("g", Set.of("c"), ran::countDown);

            assertThat(first.toCompletableFuture()).isDone();
            assertThat(second.toCompletableFuture()).isDone();
            assertThat(third.toCompletableFuture()).isNotDone();
            assertThat(tasks.held()).isEqualTo(3);

            release.countDown();
            third.toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void aTaskThatThrowsFreesItsKeys() throws Exception {
        try (KeyedTasks tasks = new KeyedTasks("test-tasks", 1, 10)) {
            CountDownLatch after = new CountDownLatch(1);
            tasks.submit("g", Set.of("a"), () -> {
                throw new IllegalStateException("expected in this test");
            });
            tasks.submit("g", Set.of("a"), after::countDown);
            assertThat(after.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
