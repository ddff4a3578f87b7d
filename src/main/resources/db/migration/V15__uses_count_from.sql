-- From when a pod or VMI that a watch saw mounting an export's volume counts as a use during its copy: the guard's
-- time just before the fresh read that let the export start. A watch event received before that read told of a state
-- the read saw afterwards (a VMI still shutting down after a stop, say); that read found the volume free, so such an
-- event, handled late, must not fail the export.
alter table export_job add column uses_count_from timestamptz;

-- The runtime role's grants on export_job (V6: select, insert, update on the table) cover the new column.
