//! Schema migrations, run at start-up on both backends: a `schema_version` table, one DDL file
//! per backend and version, each applied in the start-up transaction. On PostgreSQL an
//! advisory lock makes HQ instances starting together take turns.

use super::{Backend, Tx};
use crate::error::{ApiError, Result};
use crate::p;

pub const SCHEMA_VERSION: i64 = 1;

const SQLITE: &[(i64, &str)] = &[(1, include_str!("../../sql/sqlite/001_init.sql"))];
const POSTGRES: &[(i64, &str)] = &[(1, include_str!("../../sql/postgres/001_init.sql"))];

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
        return Err(ApiError::internal(format!(
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

    /// The two DDL files describe the same tables and indexes.
    #[test]
    fn backends_have_the_same_objects() {
        let names = |ddl: &str| -> Vec<String> {
            statements(ddl).iter().map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).collect()
        };
        for ((v1, a), (v2, b)) in SQLITE.iter().zip(POSTGRES) {
            assert_eq!(v1, v2);
            assert_eq!(names(a), names(b));
        }
        assert_eq!(SQLITE.last().unwrap().0, SCHEMA_VERSION);
        assert!(statements(SQLITE[0].1).len() > 30);
    }
}
