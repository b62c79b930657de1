-- Check-in trust: the phone's mock-location flag, and whether the check-in counts for 人到
-- (inside the grid by HQ's boundary, not mocked, accuracy within the template's limit).
-- Older check-ins are judged by the default rule (50 m).
ALTER TABLE checkpoint ADD COLUMN mock_location INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checkpoint ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;
UPDATE checkpoint SET trusted = CASE WHEN inside_grid = 1 AND accuracy_m IS NOT NULL AND accuracy_m <= 50 THEN 1 ELSE 0 END;
CREATE INDEX checkpoint_flagged ON checkpoint(trusted, at_ms);
