-- Two roles: the owner, which runs these migrations and owns every table, and the runtime role the running guard
-- connects as (placeholder guardRuntimeRole, quarkus.flyway.placeholders.guardRuntimeRole, default vm_export_guard).
-- The runtime role gets only what the guard's code does:
--   audit_entry   select, insert                   (AuditLog: append and read; never changed)
--   export_job    select, insert, update           (ExportJobs: accepted, advanced; ended jobs stay)
--   outbox_event  select, insert, delete           (EventOutbox adds, OutboxRelay publishes then removes)
--   guard_key     select, insert                   (Callers: the intake's seal, made once, then read)
--   their id sequences: usage (nextval of the bigserial columns)
--   the schema history: select, so that a guard that does not migrate can still validate the schema
-- Leader and relay locks are advisory locks, which every role may take. Without UPDATE, DELETE or TRUNCATE on
-- audit_entry, and not owning it, the runtime role can neither change nor remove audit rows, nor disable the trigger,
-- nor drop the table. Later migrations grant the runtime role what it needs on tables they add, explicitly.
--
-- The runtime role must exist before this migration runs (README, "Audit log" has the SQL that creates both roles):
-- a role that is missing, is the owner itself, can act as the owner or is a superuser is refused, since the audit
-- would then be append-only in name only.
do $$
declare
    runtime constant text := '${guardRuntimeRole}';
    role_row pg_roles%rowtype;
begin
    select * into role_row from pg_roles where rolname = runtime;
    if not found then
        raise exception 'the guard''s runtime role "%" does not exist: create it before migrating (see the README, '
            'Audit log), or name the existing one with quarkus.flyway.placeholders.guardRuntimeRole', runtime;
    end if;
    if runtime = current_user or pg_has_role(runtime, current_user, 'MEMBER') then
        raise exception 'the guard''s runtime role "%" is, or is a member of, the role that migrates (%): the guard '
            'must connect as a role that does not own the audit', runtime, current_user;
    end if;
    if role_row.rolsuper then
        raise exception 'the guard''s runtime role "%" is a superuser: it could change the audit', runtime;
    end if;

    -- what the role may do is exactly what follows, whatever it was given before
    execute format('revoke all on audit_entry, export_job, outbox_event, guard_key from %I', runtime);
    revoke all on audit_entry from public;
    execute format('grant select, insert on audit_entry to %I', runtime);
    execute format('grant select, insert, update on export_job to %I', runtime);
    execute format('grant select, insert, delete on outbox_event to %I', runtime);
    execute format('grant select, insert on guard_key to %I', runtime);
    execute format('grant usage on sequence %s, %s, %s to %I',
        pg_get_serial_sequence('audit_entry', 'id'),
        pg_get_serial_sequence('export_job', 'seq'),
        pg_get_serial_sequence('outbox_event', 'id'),
        runtime);
    execute format('grant select on %I to %I', '${flyway:table}', runtime);
end;
$$;
