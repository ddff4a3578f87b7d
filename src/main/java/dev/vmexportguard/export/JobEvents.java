package dev.vmexportguard.export;

import dev.vmexportguard.decision.ResultEvent;

/** The parts of an event that come from the job it is about. */
final class JobEvents {
    private JobEvents() {
    }

    static ResultEvent.Subject subject(ExportJob job) {
        return new ResultEvent.Subject(job.requestId, job.namespace, job.vmName, job.volumeName, job.requestedBy,
                job.replyTo);
    }

    static ResultEvent.ImageRef image(ExportJob job) {
        return job.imageName == null ? null : ResultEvent.ImageRef.of(job.namespace, job.imageName, job.imageDisplayName);
    }
}
