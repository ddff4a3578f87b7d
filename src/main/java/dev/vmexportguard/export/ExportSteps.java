package dev.vmexportguard.export;

import jakarta.enterprise.context.ApplicationScoped;

/** Takes one job one step on, by its state: the one place that knows which step follows which state. */
@ApplicationScoped
public class ExportSteps {
    /** A start can lead straight to another start (VMs already stopped, nothing to back up); never more often. */
    private static final int STARTS_IN_A_ROW = 3;

    private final ExportStarter starter;
    private final StopStep stopping;
    private final BackupStep backingUp;
    private final ExportFollower follower;
    private final ExportEnding ending;
    private final RestartStep restarting;
    private final ExportJobs jobs;

    public ExportSteps(ExportStarter starter, StopStep stopping, BackupStep backingUp, ExportFollower follower,
                       ExportEnding ending, RestartStep restarting, ExportJobs jobs) {
        this.jobs = jobs;
        this.starter = starter;
        this.stopping = stopping;
        this.backingUp = backingUp;
        this.follower = follower;
        this.ending = ending;
        this.restarting = restarting;
    }

    /**
     * One step; a job that a step leaves STARTING (its VMs stopped, its backups ready) is started at once. Nothing is
     * read from or done in the cluster unless this replica still leads under the epoch the job was loaded in, and the
     * job is unchanged since ({@link ExportJobs#claim}); the steps' own writes are fenced the same way.
     */
    void advance(ExportJob job) {
        jobs.claim(job);
        switch (job.state) {
            case STOPPING -> stopping.check(job);
            case BACKING_UP -> backingUp.check(job);
            case RUNNING -> follower.follow(job);
            case ENDING -> ending.finish(job);
            case RESTARTING -> restarting.check(job);
            default -> {
            }
        }
        for (int i = 0; i < STARTS_IN_A_ROW && job.state == ExportJob.State.STARTING; i++) {
            starter.start(job);
        }
    }
}
