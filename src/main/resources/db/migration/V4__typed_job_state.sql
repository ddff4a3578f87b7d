-- A job's request, locked VMs, stopped VMs and backups, and an outbox row's event, become typed JSON (jsonb)
-- that the guard maps to records and lists; rows written in the older shapes are carried over.

-- the validated request, JSON text -> jsonb
alter table export_job alter column request type jsonb using request::jsonb;

-- 'vm-a,vm-b' -> ["vm-a","vm-b"]
alter table export_job alter column locked_vms drop default;
alter table export_job alter column locked_vms type jsonb using
    case when locked_vms = '' then '[]'::jsonb else to_jsonb(string_to_array(locked_vms, ',')) end;
alter table export_job alter column locked_vms set default '[]'::jsonb;

alter table export_job alter column backups drop default;
alter table export_job alter column backups type jsonb using
    case when backups = '' then '[]'::jsonb else to_jsonb(string_to_array(backups, ',')) end;
alter table export_job alter column backups set default '[]'::jsonb;

-- {"vm-a":"Always","vm-b":null} -> [{"name":"vm-a","runStrategy":"Always"},{"name":"vm-b","runStrategy":null}],
-- in the order they were recorded
create function pg_temp.stopped_vms(old text) returns jsonb language sql immutable as $$
    select coalesce(jsonb_agg(jsonb_build_object('name', e.key, 'runStrategy', e.value) order by e.n), '[]'::jsonb)
    from json_each_text(case when old is null or old = '' then '{}' else old end::json) with ordinality as e(key, value, n)
$$;
alter table export_job alter column stopped_vms drop default;
alter table export_job alter column stopped_vms type jsonb using pg_temp.stopped_vms(stopped_vms);
alter table export_job alter column stopped_vms set default '[]'::jsonb;

-- the result event, JSON text -> jsonb
alter table outbox_event alter column event type jsonb using event::jsonb;
