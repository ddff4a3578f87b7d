-- Who sent a request, proven (TokenReview or the intake's seal), beside who it was for (requested_by).
alter table audit_entry add column caller text;
alter table export_job add column caller text;
create index audit_entry_caller on audit_entry (caller, id);

-- Keys only the guard's replicas hold: the seal of requests the HTTP intake puts on the request topic.
create table guard_key (
    name       text primary key,
    secret     bytea       not null,
    created_at timestamptz not null default now()
);
