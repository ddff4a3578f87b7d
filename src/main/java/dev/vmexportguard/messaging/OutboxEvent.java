package dev.vmexportguard.messaging;

import dev.vmexportguard.service.RequestSource;
import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** An event decided but not yet on the result topic. */
@Entity
@Table(name = "outbox_event")
public class OutboxEvent {
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "event_id")
    public String eventId;

    @Column(name = "request_id")
    public String requestId;

    /** The result event, JSON. */
    public String event;

    /** The Kafka record of the request. */
    @Embedded
    public RequestSource source;
}
