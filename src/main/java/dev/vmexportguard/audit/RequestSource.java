package dev.vmexportguard.audit;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;

/**
 * Where a request came from: its Kafka record, or, for an export started outside the guard, the admission review that
 * asked about it ({@link #admission}). Kept with everything recorded about the request.
 */
@Embeddable
public record RequestSource(
        @Column(name = "source_topic") String topic,
        @Column(name = "source_partition") Integer partition,
        @Column(name = "source_offset") Long offset) {

    /** What {@link #topic} holds for an admission review: no Kafka record. */
    public static final String ADMISSION = "admission";

    /** An admission review of an image created outside the guard. */
    public static RequestSource admission() {
        return new RequestSource(ADMISSION, null, null);
    }

    public boolean isAdmission() {
        return ADMISSION.equals(topic) && partition == null;
    }

    /** {@code topic-partition@offset}: unique per record, stable across redeliveries. */
    public String coordinates() {
        return topic + "-" + partition + "@" + offset;
    }

    /** The requestId given to a record that has no usable one of its own. */
    public String fallbackRequestId() {
        return "kafka:" + topic + ":" + partition + ":" + offset;
    }
}
