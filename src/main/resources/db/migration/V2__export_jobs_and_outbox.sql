-- The exports the guard owns, from acceptance to their end. Unlike the audit log, rows change as exports move on.
create table export_job (
    request_id         text primary key,
    seq                bigserial not null unique,   -- acceptance order: the queue order
    namespace          text        not null,
    volume_name        text        not null,
    vm_name            text,
    requested_by       text        not null,
    reply_to           text,
    request            text        not null,        -- the validated request (JSON), to check it again when it leaves the queue
    state              text        not null,        -- PENDING, QUEUED, STARTING, RUNNING, ENDING, ENDED
    image_name         text,
    image_display_name text,
    locked_vms         text        not null default '',  -- comma-separated names of the VMs the guard locked
    progress_step      integer     not null default -1,
    delete_image       boolean     not null default false,
    source_topic       text,
    source_partition   integer,
    source_offset      bigint,
    accepted_at        timestamptz not null,
    started_at         timestamptz,
    ended_at           timestamptz
);

-- One export per volume at a time, whatever the number of guard replicas.
create unique index export_job_one_active_per_volume on export_job (namespace, volume_name) where state <> 'ENDED';
create index export_job_state on export_job (state, seq);

-- Events decided but not yet on the result topic. Written in the same transaction as the state they report;
-- published in order, then audited and removed.
create table outbox_event (
    id               bigserial primary key,
    event_id         text        not null,
    request_id       text        not null,
    event            text        not null,             -- the result event (JSON)
    source_topic     text,
    source_partition integer,
    source_offset    bigint,
    created_at       timestamptz not null default now()
);

-- The event exactly as published, so that it can be published again unchanged (same eventId).
alter table audit_entry add column event text;
