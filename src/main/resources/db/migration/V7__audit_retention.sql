-- Retention: audit rows older than a given age are removed, by the owner only, with nothing disabled on the way.
--
-- How a deletion gets past the trigger that refuses every DELETE:
-- * The runtime role has no DELETE on audit_entry (V6) and may not call the function below: PostgreSQL checks
--   privileges before any trigger runs, so it is refused whatever it tries.
-- * The owner has DELETE, but the trigger refuses the owner's too. Retention does not disable the trigger
--   (ALTER TABLE ... DISABLE TRIGGER, even inside one transaction): that takes the table's strongest lock, so the
--   guard could neither append nor read the audit while old rows are deleted, and while it is disabled any DELETE,
--   UPDATE or TRUNCATE in that transaction passes, a wrong WHERE clause included. Disabling the trigger would become
--   routine instead of the alarm it should be.
-- * Instead the trigger lets a DELETE through while the setting vm_export_guard.audit_expiry is 'on', and only
--   audit_entry_expire sets it: on just before its one DELETE, off right after (transaction-local, so an error,
--   which aborts the transaction or the savepoint, undoes it too; a SET clause on the function would be neater but
--   PostgreSQL lets only superusers attach a custom setting to a function). The function deletes only rows that
--   occurred before now() - older_than and refuses an age that is not positive. UPDATE and TRUNCATE stay refused
--   for every role.
-- * The setting is no secret and need not be: any session may set it, but it opens nothing to a role without
--   DELETE. For the owner (who could disable or drop the trigger anyway, as owners can) it keeps an ad hoc
--   "delete from audit_entry" an error: the only deletion that passes is the retention's.
-- * audit_entry_expire is SECURITY DEFINER and owned by the owner, with EXECUTE revoked from PUBLIC: the owner
--   (and superusers) may call it. An operator whose scheduled retention job should not hold the owner's password can
--   grant EXECUTE on this function alone to that job's role; it runs as the owner, with a fixed search_path, and
--   can do nothing but this deletion.
-- The guard calls it after every migration when guard.audit.retention is set (dev.vmexportguard.audit.AuditRetention).

create or replace function audit_entry_is_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' and current_setting('vm_export_guard.audit_expiry', true) = 'on' then
        return null;  -- the retention's deletion, from audit_entry_expire
    end if;
    raise exception 'audit_entry is append-only: % is not allowed', tg_op;
end;
$$;

create function audit_entry_expire(older_than interval) returns bigint
    language plpgsql
    security definer
    set search_path = "${flyway:defaultSchema}", pg_temp
as $$
declare
    removed bigint;
begin
    if older_than is null or older_than <= interval '0' then
        raise exception 'the audit retention must be a positive interval, not %', older_than;
    end if;
    perform set_config('vm_export_guard.audit_expiry', 'on', true);
    delete from audit_entry where occurred_at < now() - older_than;
    get diagnostics removed = row_count;
    perform set_config('vm_export_guard.audit_expiry', 'off', true);
    return removed;
end;
$$;

revoke execute on function audit_entry_expire(interval) from public;
