-- HQ schema, version 1 (SQLite). Times are Unix milliseconds. Booleans are 0/1 integers.
-- Every record from a phone keeps the device's capture time and HQ's receive time.

CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Counters allocated inside the writing transaction: `change` numbers the change log (its
-- row lock orders positions by commit, so a pull never skips a transaction in flight);
-- `reference` numbers reference-data versions.
CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counter (name, value) VALUES ('change', 0);
INSERT INTO counter (name, value) VALUES ('reference', 0);

CREATE TABLE community (
    id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE grid (
    id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, community_id TEXT NOT NULL, name TEXT NOT NULL,
    boundary TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE INDEX grid_community ON grid (community_id);
CREATE TABLE worker (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
    ref_version INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE worker_grid (worker_id TEXT NOT NULL, grid_id TEXT NOT NULL, PRIMARY KEY (worker_id, grid_id));
CREATE INDEX worker_grid_grid ON worker_grid (grid_id);
-- The worker's grids at each reference version: what a phone holding version v has, so a
-- pull can tell which grids to purge.
CREATE TABLE worker_ref_history (
    worker_id TEXT NOT NULL, version INTEGER NOT NULL, grid_ids TEXT NOT NULL,
    PRIMARY KEY (worker_id, version)
);
CREATE TABLE household (
    id TEXT PRIMARY KEY, grid_id TEXT NOT NULL, label TEXT NOT NULL, name TEXT NOT NULL, phone TEXT,
    care_tags TEXT NOT NULL, must_visit INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE INDEX household_grid ON household (grid_id);
CREATE TABLE template (
    id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, published_ms INTEGER NOT NULL,
    published_by TEXT NOT NULL, PRIMARY KEY (id, version)
);

CREATE TABLE operator (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, scope_ids TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, revoked_ms INTEGER
);
CREATE TABLE enrolment_code (
    code_hash TEXT PRIMARY KEY, worker_id TEXT NOT NULL, created_by TEXT NOT NULL, created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL, used_ms INTEGER, used_by_device TEXT
);
CREATE TABLE device (
    device_id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, epoch INTEGER NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    app_version TEXT NOT NULL, enrolled_ms INTEGER NOT NULL, revoked_ms INTEGER, last_seen_ms INTEGER,
    clock_skew_ms INTEGER, skew_at_ms INTEGER
);
CREATE INDEX device_worker ON device (worker_id);

-- Push bookkeeping: the last settled seq per device and epoch, and every mutation id seen
-- (from version 2, an applied visit's mutation id is kept in its `visit` row instead).
CREATE TABLE push_cursor (
    device_id TEXT NOT NULL, epoch INTEGER NOT NULL, last_seq INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, epoch)
);
CREATE TABLE mutation (
    mutation_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
    op TEXT NOT NULL, status TEXT NOT NULL, code TEXT, reason TEXT, hlc TEXT NOT NULL,
    device_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL
);

-- Observations: append-only.
CREATE TABLE patrol (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, grid_id TEXT NOT NULL, shift TEXT NOT NULL,
    template_id TEXT NOT NULL, template_version INTEGER NOT NULL, started_ms INTEGER NOT NULL,
    finished_ms INTEGER, outcome TEXT, note TEXT, device_id TEXT NOT NULL,
    device_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, effective_ms INTEGER NOT NULL,
    finish_received_ms INTEGER
);
CREATE INDEX patrol_grid ON patrol (grid_id, effective_ms);
CREATE TABLE patrol_track (
    patrol_id TEXT NOT NULL, n INTEGER NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL, accuracy_m REAL,
    at_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, PRIMARY KEY (patrol_id, n)
);
CREATE TABLE checkpoint (
    id TEXT PRIMARY KEY, patrol_id TEXT NOT NULL, at_ms INTEGER NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL,
    accuracy_m REAL, inside_grid_device INTEGER NOT NULL, inside_grid INTEGER NOT NULL, place_name TEXT,
    answers TEXT NOT NULL, received_ms INTEGER NOT NULL
);
CREATE INDEX checkpoint_patrol ON checkpoint (patrol_id);
CREATE TABLE visit (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, household_id TEXT NOT NULL, grid_id TEXT NOT NULL,
    visit_type TEXT NOT NULL, outcome TEXT NOT NULL, needs TEXT NOT NULL, note TEXT, satisfaction INTEGER,
    case_id TEXT, lat REAL, lng REAL, occurred_ms INTEGER NOT NULL, device_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL, effective_ms INTEGER NOT NULL
);
CREATE INDEX visit_grid ON visit (grid_id, effective_ms);
CREATE INDEX visit_household ON visit (household_id);
CREATE TABLE report (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, grid_id TEXT NOT NULL, category TEXT NOT NULL,
    urgency TEXT NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL, place_name TEXT, description TEXT NOT NULL,
    people_involved INTEGER NOT NULL, source TEXT NOT NULL, patrol_id TEXT, visit_id TEXT,
    occurred_ms INTEGER NOT NULL, case_id TEXT NOT NULL, device_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL, effective_ms INTEGER NOT NULL
);
CREATE INDEX report_grid ON report (grid_id, effective_ms);
CREATE INDEX report_patrol ON report (patrol_id);
-- Photo references; the blob may arrive later (or never: then it is visible as missing).
CREATE TABLE report_photo (report_id TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (report_id, sha256));

-- Cases and tasks: current state derived by server-side state machines from append-only events.
CREATE TABLE case_file (
    id TEXT PRIMARY KEY, report_id TEXT NOT NULL, grid_id TEXT NOT NULL, state TEXT NOT NULL,
    clear TEXT NOT NULL, deadline_ms INTEGER, dispatched INTEGER NOT NULL, closed_ms INTEGER,
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE INDEX case_grid ON case_file (grid_id);
CREATE TABLE case_event (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL, n INTEGER NOT NULL, from_state TEXT, to_state TEXT NOT NULL,
    actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, at_ms INTEGER NOT NULL, note TEXT, clear TEXT NOT NULL,
    photos TEXT NOT NULL, received_ms INTEGER NOT NULL, effective_ms INTEGER NOT NULL,
    UNIQUE (case_id, n)
);
CREATE TABLE task (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    target_unit TEXT NOT NULL, assignee_id TEXT NOT NULL, grid_id TEXT, deadline_ms INTEGER NOT NULL,
    status TEXT NOT NULL, result TEXT, dispatched_ms INTEGER NOT NULL, dispatched_by TEXT NOT NULL,
    done_ms INTEGER, updated_ms INTEGER NOT NULL
);
CREATE INDEX task_assignee ON task (assignee_id);
CREATE TABLE task_event (
    id TEXT PRIMARY KEY, task_id TEXT NOT NULL, action TEXT NOT NULL, from_status TEXT NOT NULL,
    to_status TEXT NOT NULL, actor_id TEXT NOT NULL, at_ms INTEGER NOT NULL, result TEXT, note TEXT,
    photos TEXT NOT NULL, received_ms INTEGER NOT NULL
);
CREATE INDEX task_event_task ON task_event (task_id);

-- What phones pull: one row per (change, audience). Tasks address a worker, cases a grid.
CREATE TABLE change_log (
    pos INTEGER NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL, worker_id TEXT, grid_id TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX change_worker ON change_log (kind, worker_id, pos);
CREATE INDEX change_grid ON change_log (kind, grid_id, pos);

-- Collisions resolved in HQ arrival order, kept visible for the street office. `resolution`:
-- `applied` (still legal from HQ's state) or `not_applied` (HQ had moved the record on).
CREATE TABLE conflict (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, entity_id TEXT NOT NULL, grid_id TEXT, device_id TEXT NOT NULL,
    worker_id TEXT NOT NULL, mutation_id TEXT NOT NULL, reason TEXT NOT NULL, hq_state TEXT NOT NULL,
    resolution TEXT NOT NULL, payload TEXT NOT NULL, created_ms INTEGER NOT NULL
);

-- Photos, content-addressed, stored in the database so any HQ instance can resume an upload.
CREATE TABLE attachment (
    sha256 TEXT PRIMARY KEY, total_bytes INTEGER NOT NULL, received_bytes INTEGER NOT NULL,
    complete INTEGER NOT NULL, device_id TEXT NOT NULL, created_ms INTEGER NOT NULL, completed_ms INTEGER
);
CREATE TABLE attachment_chunk (
    sha256 TEXT NOT NULL, start_byte INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sha256, start_byte)
);

-- 三零: petitions, accidents and criminal cases as the street records them.
CREATE TABLE incident (
    id TEXT PRIMARY KEY, community_id TEXT NOT NULL, kind TEXT NOT NULL, occurred_ms INTEGER NOT NULL,
    note TEXT, recorded_by TEXT NOT NULL, created_ms INTEGER NOT NULL
);
CREATE INDEX incident_community ON incident (community_id, occurred_ms);

-- Who changed or exported what (PIPL art. 51 readiness). Targets are ids, never personal data.
CREATE TABLE audit (
    id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL
);
