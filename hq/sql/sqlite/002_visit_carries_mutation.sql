-- Version 2. Visits, the bulk of what phones push, carry the id of the mutation that recorded
-- them: HQ writes no separate `mutation` row for an applied visit (the visit row is its record,
-- and a resent one is recognised by it). Rows that existed before keep their mutation rows.
-- SQLite only: `visit` and `mutation` are keyed by their ids directly (WITHOUT ROWID), one
-- b-tree less to write per row. SQLite cannot change that in place: each table is copied.
CREATE TABLE visit_v2 (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, household_id TEXT NOT NULL, grid_id TEXT NOT NULL,
    visit_type TEXT NOT NULL, outcome TEXT NOT NULL, needs TEXT NOT NULL, note TEXT, satisfaction INTEGER,
    case_id TEXT, lat REAL, lng REAL, occurred_ms INTEGER NOT NULL, device_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL, effective_ms INTEGER NOT NULL, mutation_id TEXT
) WITHOUT ROWID;
INSERT INTO visit_v2 (id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction,
                      case_id, lat, lng, occurred_ms, device_ms, received_ms, effective_ms)
    SELECT id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction,
           case_id, lat, lng, occurred_ms, device_ms, received_ms, effective_ms FROM visit;
DROP TABLE visit;
ALTER TABLE visit_v2 RENAME TO visit;
CREATE INDEX visit_grid ON visit (grid_id, effective_ms);
CREATE INDEX visit_household ON visit (household_id);
CREATE TABLE mutation_v2 (
    mutation_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
    op TEXT NOT NULL, status TEXT NOT NULL, code TEXT, reason TEXT, hlc TEXT NOT NULL,
    device_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO mutation_v2 SELECT * FROM mutation;
DROP TABLE mutation;
ALTER TABLE mutation_v2 RENAME TO mutation;
