//! Schema and `PRAGMA user_version` migrations. A fresh database is created at the current
//! version in one step (`init`); an older one is walked up one version at a time
//! (`upgrade_from`). A test holds the two paths to exactly the same schema.

use rusqlite::Connection;

use crate::{CoreError, Result};

pub const VERSION: i64 = 10;

/// The current schema, as a fresh install creates it.
const CURRENT: &str = r#"
CREATE TABLE device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    installation_id TEXT,
    seq_base INTEGER NOT NULL DEFAULT 0,
    needs_identity INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE community (id TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE grid (
    id TEXT PRIMARY KEY, code TEXT NOT NULL, community_id TEXT NOT NULL REFERENCES community(id),
    name TEXT NOT NULL, boundary TEXT NOT NULL
);
CREATE TABLE worker (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, grid_ids TEXT NOT NULL);
CREATE TABLE household (
    id TEXT PRIMARY KEY, grid_id TEXT NOT NULL REFERENCES grid(id), label TEXT NOT NULL,
    name TEXT NOT NULL, phone TEXT, care_tags TEXT NOT NULL, must_visit INTEGER NOT NULL
);
CREATE INDEX household_must_visit ON household(grid_id) WHERE must_visit = 1;
CREATE TABLE template (
    id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, active INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE patrol (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, grid_id TEXT NOT NULL REFERENCES grid(id),
    shift TEXT NOT NULL, template_id TEXT NOT NULL, template_version INTEGER NOT NULL,
    started_ms INTEGER NOT NULL, finished_ms INTEGER, outcome TEXT, note TEXT,
    in_progress INTEGER NOT NULL
);
CREATE INDEX patrol_in_progress ON patrol(worker_id) WHERE in_progress = 1;
CREATE TABLE patrol_track (
    patrol_id TEXT NOT NULL REFERENCES patrol(id), n INTEGER NOT NULL,
    lat REAL NOT NULL, lng REAL NOT NULL, accuracy_m REAL, at_ms INTEGER NOT NULL,
    PRIMARY KEY (patrol_id, n)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
    id TEXT PRIMARY KEY, patrol_id TEXT NOT NULL REFERENCES patrol(id), at_ms INTEGER NOT NULL,
    lat REAL NOT NULL, lng REAL NOT NULL, accuracy_m REAL, inside_grid INTEGER NOT NULL,
    place_name TEXT, answers TEXT NOT NULL, mock_location INTEGER NOT NULL DEFAULT 0,
    trusted INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX checkpoint_patrol ON checkpoint(patrol_id);
CREATE TABLE visit (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, household_id TEXT NOT NULL REFERENCES household(id),
    grid_id TEXT NOT NULL, visit_type TEXT NOT NULL, outcome TEXT NOT NULL, needs TEXT NOT NULL,
    note TEXT, satisfaction INTEGER, case_id TEXT, occurred_ms INTEGER NOT NULL, lat REAL, lng REAL
) WITHOUT ROWID;
CREATE INDEX visit_household ON visit(household_id, occurred_ms);
CREATE TABLE report (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, grid_id TEXT NOT NULL REFERENCES grid(id),
    category TEXT NOT NULL, urgency TEXT NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL,
    place_name TEXT, description TEXT NOT NULL, people_involved INTEGER NOT NULL,
    source TEXT NOT NULL, patrol_id TEXT, visit_id TEXT, occurred_ms INTEGER NOT NULL,
    case_id TEXT NOT NULL
);
CREATE INDEX report_patrol ON report(patrol_id) WHERE patrol_id IS NOT NULL;
CREATE TABLE report_photo (
    report_id TEXT NOT NULL REFERENCES report(id), sha256 TEXT NOT NULL,
    PRIMARY KEY (report_id, sha256)
) WITHOUT ROWID;
CREATE TABLE case_file (
    id TEXT PRIMARY KEY, report_id TEXT NOT NULL, grid_id TEXT NOT NULL, state TEXT NOT NULL,
    deadline_ms INTEGER, clear TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE case_event (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES case_file(id), n INTEGER NOT NULL,
    from_state TEXT, to_state TEXT NOT NULL, actor_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
    note TEXT, clear TEXT NOT NULL, photos TEXT NOT NULL, hlc TEXT NOT NULL,
    UNIQUE (case_id, n)
);
CREATE TABLE task (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    target_unit TEXT NOT NULL, assignee_id TEXT NOT NULL, grid_id TEXT, deadline_ms INTEGER NOT NULL,
    status TEXT NOT NULL, result TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    details TEXT
);
CREATE INDEX task_open ON task(deadline_ms) WHERE status NOT IN ('done', 'cancelled');
CREATE TABLE task_event (
    id TEXT PRIMARY KEY, task_id TEXT NOT NULL REFERENCES task(id), action TEXT NOT NULL,
    from_status TEXT NOT NULL, to_status TEXT NOT NULL, at_ms INTEGER NOT NULL, result TEXT,
    photos TEXT NOT NULL, lat REAL, lng REAL
);
CREATE TABLE attachment (
    sha256 TEXT PRIMARY KEY, mime TEXT NOT NULL, bytes INTEGER NOT NULL, file_name TEXT NOT NULL,
    added_ms INTEGER NOT NULL, upload_state TEXT NOT NULL, lat REAL, lng REAL,
    uploaded_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE attachment_blob (
    sha256 TEXT NOT NULL, kind TEXT NOT NULL, bytes BLOB NOT NULL, UNIQUE (sha256, kind)
);
CREATE INDEX attachment_pending ON attachment(added_ms) WHERE upload_state = 'pending';
CREATE INDEX case_file_state ON case_file(state);
CREATE INDEX case_file_open_due ON case_file(deadline_ms)
    WHERE state IN ('reported', 'accepted', 'opened', 'dispatched', 'handling', 'verified', 'sent_back',
                    'extension_requested', 'backlog') AND deadline_ms IS NOT NULL;
CREATE INDEX case_file_updated ON case_file(updated_ms);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    mutation_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    op TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    device_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_rejected ON outbox(seq) WHERE state = 'rejected';
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    acked_through_seq INTEGER NOT NULL DEFAULT 0,
    last_attempt_ms INTEGER,
    last_success_ms INTEGER,
    last_error TEXT,
    hq_url TEXT,
    device_token TEXT,
    reference_version INTEGER NOT NULL DEFAULT 0,
    tasks_cursor INTEGER NOT NULL DEFAULT 0,
    cases_cursor INTEGER NOT NULL DEFAULT 0,
    clock_skew_ms INTEGER,
    reconciled_ms INTEGER
);
INSERT INTO sync_state (id) VALUES (1);
CREATE TABLE handover (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    discard_authorised INTEGER NOT NULL DEFAULT 0,
    report TEXT
);
INSERT INTO handover (id) VALUES (1);
"#;

/// Version 1, frozen: the first release's schema, kept verbatim so old phones upgrade and the
/// upgrade test has a real starting point. Never edit; add a step instead.
#[cfg_attr(not(test), allow(dead_code))]
const V1: &str = r#"
CREATE TABLE device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE community (id TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE grid (
    id TEXT PRIMARY KEY, code TEXT NOT NULL, community_id TEXT NOT NULL REFERENCES community(id),
    name TEXT NOT NULL, boundary TEXT NOT NULL
);
CREATE TABLE worker (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, grid_ids TEXT NOT NULL);
CREATE TABLE household (
    id TEXT PRIMARY KEY, grid_id TEXT NOT NULL REFERENCES grid(id), label TEXT NOT NULL,
    name TEXT NOT NULL, phone TEXT, care_tags TEXT NOT NULL, must_visit INTEGER NOT NULL
);
CREATE INDEX household_must_visit ON household(grid_id) WHERE must_visit = 1;
CREATE TABLE template (
    id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, active INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE patrol (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, grid_id TEXT NOT NULL REFERENCES grid(id),
    shift TEXT NOT NULL, template_id TEXT NOT NULL, template_version INTEGER NOT NULL,
    started_ms INTEGER NOT NULL, finished_ms INTEGER, outcome TEXT, note TEXT,
    in_progress INTEGER NOT NULL
);
CREATE INDEX patrol_in_progress ON patrol(worker_id) WHERE in_progress = 1;
CREATE TABLE patrol_track (
    patrol_id TEXT NOT NULL REFERENCES patrol(id), n INTEGER NOT NULL,
    lat REAL NOT NULL, lng REAL NOT NULL, accuracy_m REAL, at_ms INTEGER NOT NULL,
    PRIMARY KEY (patrol_id, n)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
    id TEXT PRIMARY KEY, patrol_id TEXT NOT NULL REFERENCES patrol(id), at_ms INTEGER NOT NULL,
    lat REAL NOT NULL, lng REAL NOT NULL, accuracy_m REAL, inside_grid INTEGER NOT NULL,
    place_name TEXT, answers TEXT NOT NULL
);
CREATE INDEX checkpoint_patrol ON checkpoint(patrol_id);
CREATE TABLE visit (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, household_id TEXT NOT NULL REFERENCES household(id),
    grid_id TEXT NOT NULL, visit_type TEXT NOT NULL, outcome TEXT NOT NULL, needs TEXT NOT NULL,
    note TEXT, satisfaction INTEGER, case_id TEXT, occurred_ms INTEGER NOT NULL, lat REAL, lng REAL
);
CREATE INDEX visit_household ON visit(household_id, occurred_ms);
CREATE TABLE report (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, grid_id TEXT NOT NULL REFERENCES grid(id),
    category TEXT NOT NULL, urgency TEXT NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL,
    place_name TEXT, description TEXT NOT NULL, people_involved INTEGER NOT NULL,
    source TEXT NOT NULL, patrol_id TEXT, visit_id TEXT, occurred_ms INTEGER NOT NULL,
    case_id TEXT NOT NULL
);
CREATE INDEX report_patrol ON report(patrol_id) WHERE patrol_id IS NOT NULL;
CREATE TABLE report_photo (
    report_id TEXT NOT NULL REFERENCES report(id), sha256 TEXT NOT NULL,
    PRIMARY KEY (report_id, sha256)
) WITHOUT ROWID;
CREATE TABLE case_file (
    id TEXT PRIMARY KEY, report_id TEXT NOT NULL, grid_id TEXT NOT NULL, state TEXT NOT NULL,
    deadline_ms INTEGER, clear TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE case_event (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES case_file(id), n INTEGER NOT NULL,
    from_state TEXT, to_state TEXT NOT NULL, actor_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
    note TEXT, clear TEXT NOT NULL, photos TEXT NOT NULL, hlc TEXT NOT NULL,
    UNIQUE (case_id, n)
);
CREATE TABLE task (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    target_unit TEXT NOT NULL, assignee_id TEXT NOT NULL, grid_id TEXT, deadline_ms INTEGER NOT NULL,
    status TEXT NOT NULL, result TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE INDEX task_open ON task(deadline_ms) WHERE status NOT IN ('done', 'cancelled');
CREATE TABLE task_event (
    id TEXT PRIMARY KEY, task_id TEXT NOT NULL REFERENCES task(id), action TEXT NOT NULL,
    from_status TEXT NOT NULL, to_status TEXT NOT NULL, at_ms INTEGER NOT NULL, result TEXT,
    photos TEXT NOT NULL
);
CREATE TABLE attachment (
    sha256 TEXT PRIMARY KEY, mime TEXT NOT NULL, bytes INTEGER NOT NULL, file_name TEXT NOT NULL,
    added_ms INTEGER NOT NULL, upload_state TEXT NOT NULL
);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    mutation_id TEXT NOT NULL UNIQUE,
    hlc TEXT NOT NULL,
    op TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    device_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_rejected ON outbox(seq) WHERE state = 'rejected';
"#;

/// Version 2: photos keep their capture location as data (EXIF is stripped from the file
/// except GPS), and sync bookkeeping (HQ's cursor, last outcome) lives beside the data.
const V1_TO_V2: &str = r#"
ALTER TABLE attachment ADD COLUMN lat REAL;
ALTER TABLE attachment ADD COLUMN lng REAL;
CREATE INDEX attachment_pending ON attachment(added_ms) WHERE upload_state = 'pending';
CREATE INDEX case_file_state ON case_file(state);
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    acked_through_seq INTEGER NOT NULL DEFAULT 0,
    last_attempt_ms INTEGER,
    last_success_ms INTEGER,
    last_error TEXT
);
INSERT INTO sync_state (id) VALUES (1);
"#;

/// Version 3: the sync client's state (HQ address, device token, pull cursors, last clock
/// skew) and resumable photo uploads.
const V2_TO_V3: &str = r#"
ALTER TABLE attachment ADD COLUMN uploaded_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN hq_url TEXT;
ALTER TABLE sync_state ADD COLUMN device_token TEXT;
ALTER TABLE sync_state ADD COLUMN reference_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN tasks_cursor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN cases_cursor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN clock_skew_ms INTEGER;
"#;

/// Version 4: device identity (docs/SYNC.md). The installation id the store belongs to (a copy
/// notices it is one at open), the offset from the outbox's own numbering to the seqs of the
/// current identity (a new epoch sends the unsent rows again, numbered from 1), whether the
/// store must take an identity of its own before its next push, and when it last did.
const V3_TO_V4: &str = r#"
ALTER TABLE device ADD COLUMN installation_id TEXT;
ALTER TABLE device ADD COLUMN seq_base INTEGER NOT NULL DEFAULT 0;
ALTER TABLE device ADD COLUMN needs_identity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_state ADD COLUMN reconciled_ms INTEGER;
"#;

/// v5: check-in trust. Old check-ins are judged by the default rule (inside, accuracy known
/// and within 50 m); none was marked as mocked, since phones did not say.
const V4_TO_V5: &str = r#"
ALTER TABLE checkpoint ADD COLUMN mock_location INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checkpoint ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;
UPDATE checkpoint SET trusted = (inside_grid = 1 AND accuracy_m IS NOT NULL AND accuracy_m <= 50);
"#;

/// v6: a routed task's particulars (unit, masked caller, place, category, case) and the GPS
/// fix of an "arrived" step.
const V5_TO_V6: &str = r#"
ALTER TABLE task ADD COLUMN details TEXT;
ALTER TABLE task_event ADD COLUMN lat REAL;
ALTER TABLE task_event ADD COLUMN lng REAL;
"#;

/// v7: the case inbox reads open cases by deadline and the rest by last change without
/// sorting them all (screens over a year of cases).
const V6_TO_V7: &str = r#"
CREATE INDEX case_file_open_due ON case_file(deadline_ms)
    WHERE state IN ('reported', 'accepted', 'opened', 'dispatched', 'handling', 'verified', 'sent_back',
                    'extension_requested', 'backlog') AND deadline_ms IS NOT NULL;
CREATE INDEX case_file_updated ON case_file(updated_ms);
"#;

/// v8: photos live inside the (encrypted) database instead of files beside it; the files of
/// an older store are moved in at open (`attachments::absorb_files`).
const V7_TO_V8: &str = r#"
CREATE TABLE attachment_blob (
    sha256 TEXT NOT NULL, kind TEXT NOT NULL, bytes BLOB NOT NULL, UNIQUE (sha256, kind)
);
"#;

/// v9: a phone handed back (`crate::wipe`). Whether HQ authorised discarding unsent work at
/// the next switch of worker, and the report of a discard not yet delivered to HQ (with the
/// token and address it is to go to).
const V8_TO_V9: &str = r#"
CREATE TABLE handover (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    discard_authorised INTEGER NOT NULL DEFAULT 0,
    report TEXT
);
INSERT INTO handover (id) VALUES (1);
"#;

/// v10: fewer pages written per recording, which matters once every page is encrypted: the
/// visit and check-in tables are keyed by their id alone (`WITHOUT ROWID`: no separate index
/// for the id) and the outbox drops its unique index on the mutation id (made here as a UUIDv7,
/// and never looked up on the phone; HQ deduplicates by it). A recorded visit now writes three
/// B-tree pages instead of five. Tables are rebuilt in place; rows are kept as they are.
const V9_TO_V10: &str = r#"
ALTER TABLE checkpoint RENAME TO checkpoint_v9;
CREATE TABLE checkpoint (
    id TEXT PRIMARY KEY, patrol_id TEXT NOT NULL REFERENCES patrol(id), at_ms INTEGER NOT NULL,
    lat REAL NOT NULL, lng REAL NOT NULL, accuracy_m REAL, inside_grid INTEGER NOT NULL,
    place_name TEXT, answers TEXT NOT NULL, mock_location INTEGER NOT NULL DEFAULT 0,
    trusted INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO checkpoint (id, patrol_id, at_ms, lat, lng, accuracy_m, inside_grid, place_name, answers, mock_location, trusted)
    SELECT id, patrol_id, at_ms, lat, lng, accuracy_m, inside_grid, place_name, answers, mock_location, trusted FROM checkpoint_v9;
DROP TABLE checkpoint_v9;
CREATE INDEX checkpoint_patrol ON checkpoint(patrol_id);
ALTER TABLE visit RENAME TO visit_v9;
CREATE TABLE visit (
    id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, household_id TEXT NOT NULL REFERENCES household(id),
    grid_id TEXT NOT NULL, visit_type TEXT NOT NULL, outcome TEXT NOT NULL, needs TEXT NOT NULL,
    note TEXT, satisfaction INTEGER, case_id TEXT, occurred_ms INTEGER NOT NULL, lat REAL, lng REAL
) WITHOUT ROWID;
INSERT INTO visit (id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction, case_id, occurred_ms, lat, lng)
    SELECT id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction, case_id, occurred_ms, lat, lng FROM visit_v9;
DROP TABLE visit_v9;
CREATE INDEX visit_household ON visit(household_id, occurred_ms);
ALTER TABLE outbox RENAME TO outbox_v9;
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    mutation_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    op TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    device_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
INSERT INTO outbox (seq, device_id, epoch, mutation_id, hlc, op, entity_id, payload, device_ms, state, attempts, last_error)
    SELECT seq, device_id, epoch, mutation_id, hlc, op, entity_id, payload, device_ms, state, attempts, last_error FROM outbox_v9;
DROP TABLE outbox_v9;
CREATE INDEX outbox_rejected ON outbox(seq) WHERE state = 'rejected';
"#;

/// Bring the database to `VERSION`. Runs inside one IMMEDIATE transaction so a crash during
/// a migration leaves the old version intact.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(CoreError::SchemaTooNew { found, supported: VERSION });
    }
    if found == 0 {
        init(&tx)?;
    } else {
        let mut v = found;
        while v < VERSION {
            upgrade_from(&tx, v)?;
            v += 1;
        }
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

/// A fresh database at the current version.
fn init(conn: &Connection) -> Result<()> {
    conn.execute_batch(CURRENT)?;
    Ok(())
}

/// One step: from `v` to `v + 1`.
fn upgrade_from(conn: &Connection, v: i64) -> Result<()> {
    match v {
        1 => conn.execute_batch(V1_TO_V2)?,
        2 => conn.execute_batch(V2_TO_V3)?,
        3 => conn.execute_batch(V3_TO_V4)?,
        4 => conn.execute_batch(V4_TO_V5)?,
        5 => conn.execute_batch(V5_TO_V6)?,
        6 => conn.execute_batch(V6_TO_V7)?,
        7 => conn.execute_batch(V7_TO_V8)?,
        8 => conn.execute_batch(V8_TO_V9)?,
        9 => conn.execute_batch(V9_TO_V10)?,
        other => return Err(CoreError::Corrupt(format!("no migration from schema version {other}"))),
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn create_v1(conn: &Connection) -> Result<()> {
    conn.execute_batch(V1)?;
    conn.pragma_update(None, "user_version", 1)?;
    Ok(())
}

/// A comparable description of a schema: every table's columns and every index's definition.
#[cfg(test)]
pub(crate) fn describe(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    let objects: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect();
    for (ty, name, _tbl) in objects {
        if ty == "table" {
            let mut cols = conn.prepare(&format!("PRAGMA table_xinfo('{name}')")).unwrap();
            let rows = cols
                .query_map([], |r| {
                    Ok(format!(
                        "{name}.{}:{}:notnull={}:default={:?}:pk={}",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, i64>(5)?
                    ))
                })
                .unwrap();
            out.extend(rows.map(|r| r.unwrap()));
            // How the table is keyed and which indexes SQLite made for its constraints.
            let sql: String =
                conn.query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [&name], |r| r.get(0)).unwrap();
            out.push(format!("{name} without_rowid={}", sql.contains("WITHOUT ROWID")));
            let mut idx = conn.prepare(&format!("PRAGMA index_list('{name}')")).unwrap();
            let rows = idx
                .query_map([], |r| {
                    Ok(format!(
                        "{name} index {}:unique={}:origin={}",
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?
                    ))
                })
                .unwrap();
            let mut indexes: Vec<String> = rows.map(|r| r.unwrap()).collect();
            indexes.sort();
            out.extend(indexes);
        } else {
            let sql: Option<String> =
                conn.query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [&name], |r| r.get(0)).unwrap();
            out.push(format!("{ty} {name}: {sql:?}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// v9 → v10 rebuilds three tables: every row comes along unchanged.
    #[test]
    fn the_v10_rebuild_keeps_every_row() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", false).unwrap(); // as the store opens it
        create_v1(&conn).unwrap();
        for v in 1..9 {
            upgrade_from(&conn, v).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO checkpoint (id, patrol_id, at_ms, lat, lng, accuracy_m, inside_grid, place_name, answers, mock_location, trusted)
                 VALUES ('c1', 'p1', 5, 31.2, 121.4, 8.0, 1, '北门', '[]', 0, 1);
             INSERT INTO visit (id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction, case_id, occurred_ms, lat, lng)
                 VALUES ('v1', 'w1', 'h1', 'g1', 'routine', 'met', '[]', '走访', 5, NULL, 7, NULL, NULL);
             INSERT INTO outbox (seq, device_id, epoch, mutation_id, hlc, op, entity_id, payload, device_ms, state, attempts, last_error)
                 VALUES (1, 'd', 1, 'm1', 'h', 'record_visit', 'v1', '{}', 7, 'rejected', 2, 'bad');",
        )
        .unwrap();
        let rows = |c: &Connection| -> Vec<String> {
            ["SELECT * FROM checkpoint", "SELECT * FROM visit", "SELECT * FROM outbox"]
                .iter()
                .map(|q| {
                    c.query_row(q, [], |r| {
                        Ok((0..r.as_ref().column_count())
                            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                            .collect::<Vec<_>>()
                            .join("|"))
                    })
                    .unwrap()
                })
                .collect()
        };
        let before = rows(&conn);
        upgrade_from(&conn, 9).unwrap();
        assert_eq!(rows(&conn), before);
        let rejected: i64 =
            conn.query_row("SELECT count(*) FROM outbox WHERE state = 'rejected'", [], |r| r.get(0)).unwrap();
        assert_eq!(rejected, 1);
    }

    #[test]
    fn upgraded_schema_equals_fresh_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();

        let mut old = Connection::open_in_memory().unwrap();
        create_v1(&old).unwrap();
        migrate(&mut old).unwrap();

        assert_eq!(describe(&fresh), describe(&old));
        let v: i64 = old.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, VERSION);
        // Not vacuous: the description covers every table and index.
        assert!(describe(&fresh).len() > 60);
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", VERSION + 1).unwrap();
        assert!(matches!(migrate(&mut c), Err(CoreError::SchemaTooNew { .. })));
    }
}
