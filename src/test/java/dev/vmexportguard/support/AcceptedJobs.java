package dev.vmexportguard.support;

import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.export.ExportJob;
import java.time.Instant;
import java.util.List;

/** Export jobs as another replica writes them when it accepts a request, for tests that put one in the database. */
public final class AcceptedJobs {

    private AcceptedJobs() {
    }

    /**
     * A job accepted just now and waiting for the dispatch: a request by {@code replica-test} to export
     * {@code volume} in {@code namespace}, refused if a VM using it runs.
     */
    public static ExportJob pending(String requestId, String namespace, String volume) {
        ExportJob job = new ExportJob();
        job.requestId = requestId;
        job.namespace = namespace;
        job.volumeName = volume;
        job.requestedBy = "replica-test";
        job.request = new ExportRequest(requestId, namespace, null, volume, "replica-test", null, null,
                ExportRequest.OnRunning.REJECT, false, null, null, null, false, null, List.of(), null);
        job.state = ExportJob.State.PENDING;
        job.acceptedAt = Instant.now();
        return job;
    }
}
