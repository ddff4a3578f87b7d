package dev.vmexportguard.cluster;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Answers of the API server reused for a short time, as its own webhook authenticator and authorizer reuse theirs:
 * each for as long as {@code ttl} says for that answer (a grant may live longer than a refusal). Callers that ask
 * the same question at the same time wait for one call, made on the first caller's thread (so within its deadline);
 * a call that fails is not kept. At most {@code maximumSize} answers are kept, the least used dropped first.
 */
public final class ReusedAnswers<K, V> {
    private final AsyncCache<K, V> answers;

    public ReusedAnswers(long maximumSize, Function<V, Duration> ttl) {
        this.answers = Caffeine.newBuilder()
                .maximumSize(maximumSize)
                .expireAfter(new Expiry<K, V>() {
                    @Override
                    public long expireAfterCreate(K key, V value, long currentTime) {
                        return ttl.apply(value).toNanos();
                    }

                    @Override
                    public long expireAfterUpdate(K key, V value, long currentTime, long currentDuration) {
                        return ttl.apply(value).toNanos();
                    }

                    @Override
                    public long expireAfterRead(K key, V value, long currentTime, long currentDuration) {
                        return currentDuration;
                    }
                })
                .buildAsync();
    }

    /** The answer kept for {@code key}, or the one another caller is asking for now, or {@code ask}'s. */
    public V answer(K key, Supplier<V> ask) {
        CompletableFuture<V> mine = new CompletableFuture<>();
        CompletableFuture<V> known = answers.asMap().putIfAbsent(key, mine);
        if (known != null) {
            try {
                return known.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException failure) {
                    throw failure;
                }
                throw e;
            }
        }
        try {
            V answer = ask.get();
            mine.complete(answer);
            return answer;
        } catch (RuntimeException | Error e) {
            // failed futures are dropped from the cache: the next caller asks again
            mine.completeExceptionally(e);
            throw e;
        }
    }
}
