-- The image an export is about to create, recorded before the create call: the API server can create it and the
-- answer still be lost (a timeout, a 5xx, a connection dropped), so the name is known before anything may exist.
alter table export_job add column planned_image_name text;

-- The type of an ended export's final event (REJECTED, COMPLETED, FAILED). The sweep of orphaned objects keeps a
-- COMPLETED export's image as its result, and reports what other ended exports left in the cluster.
alter table export_job add column outcome text;

-- Exports that ended before this column: their final event is in the audit, or still in the outbox.
update export_job j set outcome = (
    select a.entry_type from audit_entry a
    where a.request_id = j.request_id and a.entry_type in ('REJECTED', 'COMPLETED', 'FAILED')
    order by a.id limit 1)
where j.state in ('ENDING', 'ENDED');
update export_job j set outcome = (
    select o.event::jsonb ->> 'type' from outbox_event o
    where o.request_id = j.request_id and o.event::jsonb ->> 'type' in ('REJECTED', 'COMPLETED', 'FAILED')
    order by o.id limit 1)
where j.state in ('ENDING', 'ENDED') and j.outcome is null;

-- The runtime role's grants on export_job (V6: select, insert, update on the table) cover the new columns.
