//! Schema migrations, run at start-up on both backends: a `schema_version` table, one DDL file
//! per backend and version, each applied in the start-up transaction. On PostgreSQL an
//! advisory lock makes HQ instances starting together take turns.

use super::{Backend, Tx};
use super::{DbError, DbResult as Result};
use crate::p;

pub const SCHEMA_VERSION: i64 = 12;

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../../sql/sqlite/001_init.sql")),
    (2, include_str!("../../sql/sqlite/002_visit_carries_mutation.sql")),
    (3, include_str!("../../sql/sqlite/003_identity_and_clocks.sql")),
    (4, include_str!("../../sql/sqlite/004_checkin_trust.sql")),
    (5, include_str!("../../sql/sqlite/005_units_and_routed_tasks.sql")),
    (6, include_str!("../../sql/sqlite/006_weekly_list.sql")),
    (7, include_str!("../../sql/sqlite/007_teams_and_buildings.sql")),
    (8, include_str!("../../sql/sqlite/008_unit_only_tasks.sql")),
    (9, include_str!("../../sql/sqlite/009_rate_buckets.sql")),
    (10, include_str!("../../sql/sqlite/010_console.sql")),
    (11, include_str!("../../sql/sqlite/011_device_wipe.sql")),
    (12, include_str!("../../sql/sqlite/012_figure_rollups.sql")),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../../sql/postgres/001_init.sql")),
    (2, include_str!("../../sql/postgres/002_visit_carries_mutation.sql")),
    (3, include_str!("../../sql/postgres/003_identity_and_clocks.sql")),
    (4, include_str!("../../sql/postgres/004_checkin_trust.sql")),
    (5, include_str!("../../sql/postgres/005_units_and_routed_tasks.sql")),
    (6, include_str!("../../sql/postgres/006_weekly_list.sql")),
    (7, include_str!("../../sql/postgres/007_teams_and_buildings.sql")),
    (8, include_str!("../../sql/postgres/008_unit_only_tasks.sql")),
    (9, include_str!("../../sql/postgres/009_rate_buckets.sql")),
    (10, include_str!("../../sql/postgres/010_console.sql")),
    (11, include_str!("../../sql/postgres/011_device_wipe.sql")),
    (12, include_str!("../../sql/postgres/012_figure_rollups.sql")),
];

/// Any fixed number: the advisory lock that serialises migrations across HQ instances.
const MIGRATION_LOCK: i64 = 0x6770_6871; // "gphq"

pub fn migrate(tx: &mut dyn Tx) -> Result<()> {
    let steps = match tx.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => {
            tx.query("SELECT pg_advisory_xact_lock(?)", p![MIGRATION_LOCK])?;
            POSTGRES
        }
    };
    let int = match tx.backend() {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "BIGINT",
    };
    tx.exec(
        &format!("CREATE TABLE IF NOT EXISTS schema_version (version {int} PRIMARY KEY, applied_ms {int} NOT NULL)"),
        p![],
    )?;
    let current = tx.query_i64("SELECT COALESCE(MAX(version), 0) FROM schema_version", p![])?;
    if current > SCHEMA_VERSION {
        return Err(DbError::failed(format!(
            "database schema version {current} is newer than this HQ ({SCHEMA_VERSION}); upgrade HQ"
        )));
    }
    for (version, ddl) in steps.iter().filter(|(v, _)| *v > current) {
        for stmt in statements(ddl) {
            tx.exec(&stmt, p![])?;
        }
        tx.exec("INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)", p![*version, crate::now_ms()])?;
    }
    Ok(())
}

/// Split a DDL file into statements (comment lines dropped; no `;` inside statements).
fn statements(ddl: &str) -> Vec<String> {
    let code: String = ddl.lines().filter(|l| !l.trim_start().starts_with("--")).map(|l| format!("{l}\n")).collect();
    code.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two backends' DDL files, version by version, describe the same tables and indexes.
    #[test]
    fn backends_have_the_same_objects() {
        let names = |ddl: &str| -> Vec<String> {
            statements(ddl).iter().map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).collect()
        };
        assert_eq!(SQLITE.len(), POSTGRES.len());
        for ((v1, a), (v2, b)) in SQLITE.iter().zip(POSTGRES) {
            assert_eq!(v1, v2);
            assert_eq!(names(a), names(b));
        }
        assert_eq!(SQLITE.last().unwrap().0, SCHEMA_VERSION);
        assert!(statements(SQLITE[0].1).len() > 30);
    }

    /// A version-1 SQLite database with records in it is upgraded at start-up: its visits and
    /// mutation rows are kept, and visits have the new column (empty for the old ones).
    #[test]
    fn sqlite_version_1_with_data_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = rusqlite::Connection::open(dir.path().join(super::super::sqlite::DB_FILE)).unwrap();
            c.execute_batch("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)")
                .unwrap();
            for stmt in statements(SQLITE[0].1) {
                c.execute_batch(&stmt).unwrap();
            }
            c.execute_batch(
                "INSERT INTO schema_version VALUES (1, 0);
                 INSERT INTO visit (id, worker_id, household_id, grid_id, visit_type, outcome, needs, occurred_ms,
                                    device_ms, received_ms, effective_ms)
                   VALUES ('v-1', 'w-1', 'h-1', 'g-1', 'routine', 'met', '[]', 1, 2, 3, 4);
                 INSERT INTO mutation VALUES ('m-1', 'd-1', 1, 1, 'record_visit', 'applied', NULL, NULL, 'h', 2, 3);",
            )
            .unwrap();
        }
        let db = super::super::Db::open(&super::super::DatabaseUrl::Sqlite(dir.path().to_path_buf())).unwrap();
        let (visit, mutation, version) = db
            .write(|tx| {
                let v = tx.query_opt("SELECT id, effective_ms, mutation_id FROM visit", p![])?.unwrap();
                let m = tx.query_i64("SELECT seq FROM mutation WHERE mutation_id = 'm-1'", p![])?;
                let version = tx.query_i64("SELECT MAX(version) FROM schema_version", p![])?;
                Ok::<_, DbError>(((v.text(0)?, v.i64(1)?, v.opt_text(2)?), m, version))
            })
            .unwrap();
        assert_eq!(visit, ("v-1".to_string(), 4, None));
        assert_eq!((mutation, version), (1, SCHEMA_VERSION));
    }
}
