-- Figures kept as they happen (admin::rollups), so the board and the map read a period's
-- counts instead of recounting a year of records. Written in the transaction that writes the
-- record; rebuilt from the records at start-up when missing or built in another time zone.
-- Visits and reports per grid, worker, street-local day (YYYY-MM-DD) and report category
-- ('' for visits).
CREATE TABLE record_day (
    day TEXT NOT NULL, grid_id TEXT NOT NULL, worker_id TEXT NOT NULL, kind TEXT NOT NULL, category TEXT NOT NULL,
    n BIGINT NOT NULL, PRIMARY KEY (day, grid_id, worker_id, kind, category)
);
-- Each patrol's 三到 verdict, refreshed whenever the patrol, a check-in or a report of it arrives.
CREATE TABLE patrol_figure (
    patrol_id TEXT PRIMARY KEY, grid_id TEXT NOT NULL, worker_id TEXT NOT NULL, shift TEXT NOT NULL,
    effective_ms BIGINT NOT NULL, finished BIGINT NOT NULL, complete BIGINT NOT NULL, trusted BIGINT NOT NULL
);
CREATE INDEX patrol_figure_time ON patrol_figure (effective_ms);
-- The few raw reads left: a period's ragged ends, must-visit windows, closures, tasks, the map.
CREATE INDEX visit_time ON visit (effective_ms);
CREATE INDEX visit_household_time ON visit (household_id, effective_ms);
CREATE INDEX report_time ON report (effective_ms);
CREATE INDEX case_closed ON case_file (closed_ms);
CREATE INDEX case_created ON case_file (created_ms);
CREATE INDEX task_dispatched ON task (dispatched_ms);
