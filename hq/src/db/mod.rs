//! One storage abstraction over SQLite and PostgreSQL, so that the business logic is written
//! once: synchronous code over `&mut dyn Tx`, SQL written once with `?` placeholders (turned
//! into `$n` for PostgreSQL), values as a small `Value` enum. Differences stay here:
//! - `FOR UPDATE` row locks matter on PostgreSQL (several HQ instances); SQLite drops the
//!   clause, its single `BEGIN IMMEDIATE` writer already serialises every write.
//! - DDL is per backend (`sql/sqlite`, `sql/postgres`); integers are 64-bit on both
//!   (BIGINT in PostgreSQL) and booleans are stored as 0/1 integers.
//!
//! Both clients are synchronous; the HTTP layer runs every transaction in `spawn_blocking`.

mod migrate;
mod postgres;
mod sqlite;
mod wal_sync;
/// The SQLite database file inside an HQ data folder.
pub use sqlite::DB_FILE as SQLITE_DB_FILE;

use std::path::PathBuf;

pub use migrate::SCHEMA_VERSION;

/// What the storage layer can fail with: its own error, mapped to HTTP at the edge
/// (`crate::error`), so storage knows nothing of HTTP. Messages hold no personal data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DbError {
    /// The database refused this transaction for now (PostgreSQL: a serialization failure or
    /// deadlock): nothing was committed, and the same request may be sent again.
    #[error("the database was busy; retry in {retry_after_s} s")]
    Busy { retry_after_s: u64 },
    /// Anything else: a short, data-free description for the log.
    #[error("{0}")]
    Failed(String),
}

impl DbError {
    pub fn failed(detail: impl std::fmt::Display) -> DbError {
        DbError::Failed(detail.to_string())
    }
}

pub type DbResult<T, E = DbError> = std::result::Result<T, E>;
use DbResult as Result;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// A fixed text of the program's own (a code such as `must_visit`, never user data): bound
    /// like `Text`, without allocating a copy per row.
    Code(&'static str),
    Bytes(Vec<u8>),
}

macro_rules! from_int {
    ($($t:ty),*) => { $(impl From<$t> for Value { fn from(v: $t) -> Value { Value::Int(v as i64) } })* };
}
from_int!(i64, i32, u32, u8, u16);

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bytes(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Clone + Into<Value>> From<&Option<T>> for Value {
    fn from(v: &Option<T>) -> Value {
        v.clone().map_or(Value::Null, Into::into)
    }
}

/// `p![a, b, c]`: a parameter list for `Tx::exec`/`Tx::query`.
#[macro_export]
macro_rules! p {
    ($($v:expr),* $(,)?) => { &[$($crate::db::Value::from($v)),*] as &[$crate::db::Value] };
}

/// One result row, read by column position.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

fn col_err(i: usize, want: &str) -> DbError {
    DbError::failed(format!("column {i}: expected {want}"))
}

impl Row {
    fn at(&self, i: usize) -> Result<&Value> {
        self.0.get(i).ok_or_else(|| col_err(i, "a column"))
    }
    pub fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?.ok_or_else(|| col_err(i, "an integer"))
    }
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            _ => Err(col_err(i, "an integer")),
        }
    }
    pub fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.i64(i)? != 0)
    }
    pub fn f64(&self, i: usize) -> Result<f64> {
        self.opt_f64(i)?.ok_or_else(|| col_err(i, "a number"))
    }
    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Real(v) => Ok(Some(*v)),
            Value::Int(v) => Ok(Some(*v as f64)),
            _ => Err(col_err(i, "a number")),
        }
    }
    pub fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| col_err(i, "text"))
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            Value::Code(v) => Ok(Some(v.to_string())),
            _ => Err(col_err(i, "text")),
        }
    }
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        match self.at(i)? {
            Value::Bytes(v) => Ok(v.clone()),
            _ => Err(col_err(i, "bytes")),
        }
    }
    /// A JSON column.
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T> {
        serde_json::from_str(&self.text(i)?).map_err(|e| DbError::failed(format!("column {i}: bad JSON: {e}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A column's type in a bulk insert (PostgreSQL binds each column as one typed array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Text,
    Int,
    Real,
}

/// One key lookup of `Tx::lookup`: `SELECT out.0, out.1 FROM table WHERE key IN keys`, each
/// output column text (or NULL).
pub struct Lookup<'a> {
    pub table: &'a str,
    pub key: &'a str,
    pub out: (&'a str, Option<&'a str>),
    pub keys: &'a [&'a str],
}

/// A lookup's answer: (first column, second column) per row found.
pub type Found = Vec<(String, Option<String>)>;

/// A database transaction. Business logic sees only this.
pub trait Tx {
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;
    fn backend(&self) -> Backend;

    /// Insert many rows at once: `into` is `table (col, …)`, `cols` the columns' types,
    /// `rows` the values row after row, `tail` what follows (`ON CONFLICT … DO NOTHING`, or
    /// nothing). PostgreSQL: one statement (`SELECT * FROM unnest(…)` over one array per
    /// column), so one round trip however many rows; SQLite: prepared multi-row statements
    /// (no round trips to save there, but fewer steps).
    fn insert_rows(&mut self, into: &str, cols: &[Col], rows: &[Value], tail: &str) -> Result<u64>;

    /// Several key lookups at once: PostgreSQL answers them all in one round trip; SQLite
    /// probes its indexes key by key with one prepared statement per lookup.
    fn lookup(&mut self, lookups: &[Lookup<'_>]) -> Result<Vec<Found>>;

    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row> {
        self.query_opt(sql, params)?.ok_or_else(|| DbError::failed("query returned no row"))
    }
    fn query_i64(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        self.query_one(sql, params)?.i64(0)
    }
}

/// Where HQ keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A folder holding `hq.db` (and `admin-token` after the first start).
    Sqlite(PathBuf),
    /// `postgres://user:password@host:port/dbname[?options=...]`.
    Postgres(String),
}

impl DatabaseUrl {
    /// `postgres://…` / `postgresql://…` is PostgreSQL; anything else is a data folder
    /// (an optional `sqlite:` prefix is stripped).
    pub fn parse(s: &str) -> DatabaseUrl {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            DatabaseUrl::Postgres(s.to_string())
        } else {
            DatabaseUrl::Sqlite(PathBuf::from(s.strip_prefix("sqlite:").unwrap_or(s)))
        }
    }

    pub fn data_dir(&self) -> Option<&std::path::Path> {
        match self {
            DatabaseUrl::Sqlite(p) => Some(p),
            DatabaseUrl::Postgres(_) => None,
        }
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(DatabaseUrl::parse(s))
    }
}

pub enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

impl Db {
    /// Open (and migrate) the database. Blocking: call from `spawn_blocking`.
    pub fn open(url: &DatabaseUrl) -> Result<Db, String> {
        let db = match url {
            DatabaseUrl::Sqlite(dir) => Db::Sqlite(sqlite::SqliteDb::open(dir)?),
            DatabaseUrl::Postgres(url) => Db::Postgres(postgres::PgDb::open(url)?),
        };
        db.write(|tx| migrate::migrate(tx)).map_err(|e: DbError| format!("schema migration failed: {e}"))?;
        if let Db::Sqlite(sqlite) = &db {
            // One reader opened now, its schema read, and kept in the pool: the first request
            // (a phone's pull, say) does not pay for it.
            sqlite
                .read(|tx| tx.query_i64("SELECT COUNT(*) FROM schema_version", crate::p![]))
                .map_err(|e: DbError| format!("cannot read the database: {e}"))?;
        }
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A write transaction: committed when `f` returns Ok, rolled back otherwise. `f` fails
    /// with its own error type (HQ's handlers: `ApiError`), which storage failures convert into.
    pub fn write<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        match self {
            Db::Sqlite(db) => db.write(f),
            Db::Postgres(db) => db.write(f),
        }
    }

    /// A read-only transaction over one consistent snapshot.
    pub fn read<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        match self {
            Db::Sqlite(db) => db.read(f),
            Db::Postgres(db) => db.read(f),
        }
    }
}

/// `?` placeholders to PostgreSQL's `$1, $2, …`, leaving string literals alone.
pub fn to_dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut in_str = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                in_str = !in_str;
                out.push(c);
            }
            '?' if !in_str => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_literals() {
        assert_eq!(
            to_dollar_params("SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)"
        );
    }

    #[test]
    fn database_url_picks_backend() {
        assert_eq!(DatabaseUrl::parse("postgres://u@h/db"), DatabaseUrl::Postgres("postgres://u@h/db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite:/var/hq"), DatabaseUrl::Sqlite("/var/hq".into()));
        assert_eq!(DatabaseUrl::parse("./data"), DatabaseUrl::Sqlite("./data".into()));
    }
}
