-- Units a task is routed to (110 non-police diversion: justice, urban management, market
-- regulation, lawyers…), with their own operator accounts (role `unit`, scope = the unit id).
CREATE TABLE unit (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, contact TEXT,
    community_ids TEXT NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL
);
-- A routed task's unit (for the unit's own list) and its particulars (caller, place,
-- category, case) as JSON; the GPS fix of an "arrived" step.
ALTER TABLE task ADD COLUMN unit_id TEXT;
ALTER TABLE task ADD COLUMN details TEXT;
CREATE INDEX task_unit ON task (unit_id);
ALTER TABLE task_event ADD COLUMN lat DOUBLE PRECISION;
ALTER TABLE task_event ADD COLUMN lng DOUBLE PRECISION;
