package dev.vmexportguard.outbox;

import dev.vmexportguard.decision.ResultEvent;

/** Where result events go: the result topic. The relay hands each event over and waits until it is taken. */
public interface ResultChannel {

    /** Publishes the event and waits for the broker's acknowledgement; returns the event exactly as published. */
    String publish(ResultEvent event);
}
