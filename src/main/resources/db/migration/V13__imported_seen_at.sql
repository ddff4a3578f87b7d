-- When the guard first saw an export's image Imported=True. Harvester writes the condition's time only as
-- lastUpdateTime (whole seconds); when an image carries no time at all, this is the ready time the guard goes by:
-- no earlier than the real one, so a use of the volume before it still fails the export.
alter table export_job add column imported_seen_at timestamptz;

-- The runtime role's grants on export_job (V6: select, insert, update on the table) cover the new column.
