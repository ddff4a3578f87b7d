-- Fencing of the export lifecycle. The leader (the holder of the Kubernetes Lease) bumps the epoch when it becomes
-- leader, before it acts; every write of the lifecycle to a job locks this row (FOR SHARE) and checks, in the same
-- transaction, that the epoch is still the one it acts under. A bump waits for the writes under the old epoch that
-- are in flight, and every later one fails: a replica that lost leadership fails its write before it calls the
-- cluster. The request path's insert of an accepted job is not fenced (any replica accepts requests).
create table leader_epoch (
    id         integer primary key check (id = 1),
    epoch      bigint      not null,
    holder     text,
    started_at timestamptz
);
insert into leader_epoch (id, epoch) values (1, 0);

-- optimistic locking of a job: a write based on an older version of the row fails
alter table export_job add column version bigint not null default 0;

-- select for share needs update as well
grant select, update on leader_epoch to "${guardRuntimeRole}";
