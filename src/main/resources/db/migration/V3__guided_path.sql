-- The guided path: VMs stopped for the export (with the run strategy to put back), backups taken first.
alter table export_job add column stopped_vms        text not null default '';  -- JSON object: VM name -> runStrategy
alter table export_job add column stop_requested_at  timestamptz;
alter table export_job add column backups            text not null default '';  -- comma-separated backup names
alter table export_job add column backup_started_at  timestamptz;
alter table export_job add column backups_ready      boolean not null default false;
alter table export_job add column restart_done       boolean not null default false;
