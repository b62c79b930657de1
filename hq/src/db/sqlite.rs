//! SQLite backend: one database file in the data folder, WAL, `synchronous=FULL`; one writer
//! connection whose transactions are `BEGIN IMMEDIATE` (no read-to-write upgrade deadlocks)
//! and a small set of reader connections that never block it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{Backend, Col, Row, Tx, Value};
use crate::error::{ApiError, Result};

pub const DB_FILE: &str = "hq.db";
const MAX_IDLE_READERS: usize = 8;

pub struct SqliteDb {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic mid-transaction leaves nothing half-written (SQLite rolls back); carry on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn db_err(e: rusqlite::Error) -> ApiError {
    // The error code only: messages can quote values (personal data) from constraints.
    let detail = match &e {
        rusqlite::Error::SqliteFailure(f, _) => format!("sqlite: {:?} ({})", f.code, f.extended_code),
        other => format!("sqlite: {}", error_kind(other)),
    };
    ApiError::internal(detail)
}

fn error_kind(e: &rusqlite::Error) -> &'static str {
    match e {
        rusqlite::Error::QueryReturnedNoRows => "no rows",
        rusqlite::Error::InvalidColumnType(..) => "column type",
        rusqlite::Error::InvalidParameterCount(..) => "parameter count",
        _ => "other",
    }
}

impl SqliteDb {
    pub fn open(dir: &Path) -> Result<SqliteDb, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data folder {}: {e}", dir.display()))?;
        let path = dir.join(DB_FILE);
        let writer = Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let setup = || -> rusqlite::Result<()> {
            writer.busy_timeout(Duration::from_secs(10))?;
            let mode: String = writer.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            if mode != "wal" {
                return Err(rusqlite::Error::InvalidQuery);
            }
            // FULL: a push acknowledged to a phone is on disk (the phone then drops its copy).
            writer.pragma_update(None, "synchronous", "FULL")?;
            writer.pragma_update(None, "foreign_keys", false)?;
            Ok(())
        };
        setup().map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        Ok(SqliteDb { path, writer: Mutex::new(writer), readers: Mutex::new(Vec::new()) })
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let out = f(&mut SqliteTx { conn: &tx })?;
        tx.commit().map_err(db_err)?;
        Ok(out)
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(db_err)?;
                c.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
                c
            }
        };
        // A deferred transaction: one snapshot for every query of `f`.
        conn.execute_batch("BEGIN").map_err(db_err)?;
        let out = f(&mut SqliteTx { conn: &conn });
        let end = conn.execute_batch("COMMIT").map_err(db_err);
        let mut pool = lock(&self.readers);
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
        let out = out?;
        end?;
        Ok(out)
    }
}

struct SqliteTx<'a> {
    conn: &'a Connection,
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

/// Row locks are PostgreSQL's business; SQLite's single writer already holds the database.
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains(" FOR UPDATE") {
        std::borrow::Cow::Owned(sql.replace(" FOR UPDATE", ""))
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(&sqlite_sql(sql)).map_err(db_err)?;
        let n = stmt.execute(rusqlite::params_from_iter(params.iter())).map_err(db_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(&sqlite_sql(sql)).map_err(db_err)?;
        let cols = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter())).map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db_err)? {
            let mut vals = Vec::with_capacity(cols);
            for i in 0..cols {
                vals.push(match r.get_ref(i).map_err(db_err)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn insert_rows(&mut self, into: &str, cols: &[Col], rows: &[Value], tail: &str) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        if cols.is_empty() || rows.len() % cols.len() != 0 {
            return Err(ApiError::internal("bulk insert: rows do not match the columns"));
        }
        let marks = vec!["?"; cols.len()].join(", ");
        let mut stmt = self.conn.prepare_cached(&format!("INSERT INTO {into} VALUES ({marks}) {tail}")).map_err(db_err)?;
        let mut n = 0;
        for row in rows.chunks(cols.len()) {
            n += stmt.execute(rusqlite::params_from_iter(row.iter())).map_err(db_err)?;
        }
        Ok(n as u64)
    }

    fn select_in(&mut self, select: &str, column: &str, keys: &[&str]) -> Result<Vec<Row>> {
        let sql = format!("{select} WHERE {column} = ?");
        let mut out = Vec::new();
        for k in keys {
            out.extend(self.query(&sql, &[Value::Text(k.to_string())])?);
        }
        Ok(out)
    }
}
