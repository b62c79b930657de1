-- Lost or handed-back phones (docs/SYNC.md, "Wiping a phone" and "Handing a phone back").
-- What the phone said was unsent at its last contact (counts only, never content) and when;
-- the wipe order (the device is revoked with it) and the phone's confirmation; an
-- authorisation to discard unsent work at the next switch of worker, used at most once.
ALTER TABLE device ADD COLUMN contact_ms INTEGER;
ALTER TABLE device ADD COLUMN unsent_records INTEGER;
ALTER TABLE device ADD COLUMN unsent_photos INTEGER;
ALTER TABLE device ADD COLUMN unsent_photo_bytes INTEGER;
ALTER TABLE device ADD COLUMN wipe_ordered_ms INTEGER;
ALTER TABLE device ADD COLUMN wipe_confirmed_ms INTEGER;
ALTER TABLE device ADD COLUMN discard_authorised_ms INTEGER;
ALTER TABLE device ADD COLUMN discard_used_ms INTEGER;
-- An audit entry's particulars (the counts a wipe or discard concerned), when it has any.
ALTER TABLE audit ADD COLUMN detail TEXT;
