-- A task may go to a unit alone, with no grid worker: the assignee becomes optional. Rebuilt
-- as on SQLite (same columns, same indexes), so both backends run the same steps.
CREATE TABLE task_new (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    target_unit TEXT NOT NULL, assignee_id TEXT, grid_id TEXT, deadline_ms BIGINT NOT NULL,
    status TEXT NOT NULL, result TEXT, dispatched_ms BIGINT NOT NULL, dispatched_by TEXT NOT NULL,
    done_ms BIGINT, updated_ms BIGINT NOT NULL, unit_id TEXT, details TEXT
);
INSERT INTO task_new (id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result,
                      dispatched_ms, dispatched_by, done_ms, updated_ms, unit_id, details)
    SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result,
           dispatched_ms, dispatched_by, done_ms, updated_ms, unit_id, details FROM task;
DROP TABLE task;
ALTER TABLE task_new RENAME TO task;
CREATE INDEX task_assignee ON task (assignee_id);
CREATE INDEX task_unit ON task (unit_id);
