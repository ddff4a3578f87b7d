package dev.vmexportguard.audit;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;

/** Where a request came from: its Kafka record. Kept with everything recorded about the request. */
@Embeddable
public record RequestSource(
        @Column(name = "source_topic") String topic,
        @Column(name = "source_partition") Integer partition,
        @Column(name = "source_offset") Long offset) {

    /** {@code topic-partition@offset}: unique per record, stable across redeliveries. */
    public String coordinates() {
        return topic + "-" + partition + "@" + offset;
    }

    /** The requestId given to a record that has no usable one of its own. */
    public String fallbackRequestId() {
        return "kafka:" + topic + ":" + partition + ":" + offset;
    }
}
