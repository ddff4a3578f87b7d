package dev.vmexportguard.service;

/** Where a request came from: its Kafka record. */
public record RequestSource(String topic, int partition, long offset) {

    /** {@code topic-partition@offset}: unique per record, stable across redeliveries. */
    public String coordinates() {
        return topic + "-" + partition + "@" + offset;
    }

    /** The requestId given to a record that has no usable one of its own. */
    public String fallbackRequestId() {
        return "kafka:" + topic + ":" + partition + ":" + offset;
    }
}
