package dev.vmexportguard.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.ResultEvent;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a job holds, read back: the subject and image of its events, its request, the VMs it stopped. */
final class JobContents {
    private JobContents() {
    }

    static ResultEvent.Subject subject(ExportJob job) {
        return new ResultEvent.Subject(job.requestId, job.namespace, job.vmName, job.volumeName, job.requestedBy,
                job.replyTo);
    }

    static ResultEvent.ImageRef image(ExportJob job) {
        return job.imageName == null ? null : ResultEvent.ImageRef.of(job.namespace, job.imageName, job.imageDisplayName);
    }

    static ExportRequest request(ExportJob job, ObjectMapper json) {
        try {
            return json.readValue(job.request, ExportRequest.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored request of " + job.requestId + " is unreadable", e);
        }
    }

    /** VM name to the runStrategy it had before the guard stopped it. */
    static Map<String, String> stoppedVms(ExportJob job, ObjectMapper json) {
        if (job.stoppedVms == null || job.stoppedVms.isBlank()) {
            return new LinkedHashMap<>();
        }
        try {
            return json.readValue(job.stoppedVms, new TypeReference<LinkedHashMap<String, String>>() {
            });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stopped VMs of " + job.requestId + " are unreadable", e);
        }
    }

    static String toJson(Object value, ObjectMapper json) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("not serializable", e);
        }
    }
}
