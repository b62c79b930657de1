-- Version 3. Device identity belongs to HQ: an installation's id is kept (hashed) so that the
-- same installation re-enrolling is told apart from another presenting its device id, and a
-- device made for a copy of a store names the one it was copied from.
ALTER TABLE device ADD COLUMN installation_hash TEXT;
ALTER TABLE device ADD COLUMN forked_from TEXT;
-- A duplicate is the same operation: the content of each operation kept in `mutation`.
ALTER TABLE mutation ADD COLUMN content_hash TEXT;
-- Every time a phone reports is stored on HQ's clock too (the phone's reading kept beside it).
ALTER TABLE patrol ADD COLUMN finish_device_ms INTEGER;
ALTER TABLE patrol_track ADD COLUMN effective_ms INTEGER;
ALTER TABLE checkpoint ADD COLUMN effective_ms INTEGER;
ALTER TABLE task_event ADD COLUMN effective_ms INTEGER;
