-- An outbox row is published, then audited and removed, in steps of their own: a row whose step keeps failing is
-- set aside after a few attempts (kept, with its last error) and the rows behind it go out.
alter table outbox_event add column published    text;         -- the event as published, once it is
alter table outbox_event add column attempts     integer not null default 0;
alter table outbox_event add column last_error   text;
alter table outbox_event add column parked_at    timestamptz;  -- set aside: no more attempts
create index outbox_event_pending on outbox_event (id) where parked_at is null;

-- the relay now records on the row that it published it, and its failed attempts
grant update on outbox_event to "${guardRuntimeRole}";
