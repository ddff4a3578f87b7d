-- restartAfter: an export whose VMs the guard stopped waits after its end for each of them to reach Stopped, to start
-- it again, until this time (its end plus guard.exports.restart-deadline, fixed when the end is recorded). What
-- became of each VM is kept with it in stopped_vms. The runtime role's update on export_job covers the column.
alter table export_job add column restart_deadline timestamptz;
