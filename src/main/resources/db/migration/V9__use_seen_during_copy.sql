-- A pod or VMI that a watch saw mounting the volume while it was copied, even if it was gone by the next look.
alter table export_job add column used_during_copy    text;
alter table export_job add column used_during_copy_at timestamptz;
