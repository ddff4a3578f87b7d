-- The W3C trace context (traceparent, tracestate) a request came with, kept with its export and with each of its
-- outbox rows, so that every result event of the request carries it on the result topic. Null when none came.
alter table export_job add column traceparent text, add column tracestate text;
alter table outbox_event add column traceparent text, add column tracestate text;
