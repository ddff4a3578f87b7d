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

    public ExportSteps(ExportStarter starter, StopStep stopping, BackupStep backingUp, ExportFollower follower,
                       ExportEnding ending, RestartStep restarting) {
        this.starter = starter;
        this.stopping = stopping;
        this.backingUp = backingUp;
        this.follower = follower;
        this.ending = ending;
        this.restarting = restarting;
    }

    /** One step; a job that a step leaves STARTING (its VMs stopped, its backups ready) is started at once. */
    void advance(ExportJob job) {
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
