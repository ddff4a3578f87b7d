-- Append-only record of every request received and every event published.
create table audit_entry (
    id               bigserial primary key,
    request_id       text        not null,
    entry_type       text        not null,  -- RECEIVED for a request, else the event type
    event_id         text,
    reason           text,
    message          text,
    requested_by     text,
    namespace        text,
    vm_name          text,
    volume_name      text,
    image_namespace  text,
    image_name       text,
    image_display_name text,
    reply_to         text,
    observed         jsonb,
    payload          text,                  -- the request as received (cut at 64 KiB)
    source_topic     text,
    source_partition integer,
    source_offset    bigint,
    occurred_at      timestamptz not null,
    recorded_at      timestamptz not null default now()
);

create index audit_entry_request_id on audit_entry (request_id, id);
create index audit_entry_namespace on audit_entry (namespace, id);
create index audit_entry_vm_name on audit_entry (vm_name, id);
create index audit_entry_requested_by on audit_entry (requested_by, id);
create index audit_entry_type on audit_entry (entry_type, id);
create index audit_entry_occurred_at on audit_entry (occurred_at);

create function audit_entry_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_entry is append-only: % is not allowed', tg_op;
end;
$$;

create trigger audit_entry_no_update_or_delete
    before update or delete or truncate on audit_entry
    for each statement execute function audit_entry_is_append_only();
