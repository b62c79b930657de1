//! PostgreSQL backend: the synchronous `postgres` client behind an r2d2 pool, with a
//! per-connection cache of prepared statements. Writes run at READ COMMITTED with explicit
//! row locks (`SELECT … FOR UPDATE`, counter rows updated in the transaction) so several
//! HQ instances stay correct; reads run at REPEATABLE READ for one consistent snapshot.
//!
//! Each `postgres::Client` owns a small tokio runtime, which must not be dropped on an async
//! worker thread; the pool is therefore dropped on a plain thread (see `Drop`).

use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{IsolationLevel, NoTls, Statement};

use super::{to_dollar_params, Backend, Col, Found, Lookup, Row, Tx, Value};
use super::{DbError, DbResult as Result};

/// Connections per HQ instance: `GRIDPATROL_PG_POOL_SIZE`, else twice this machine's cores
/// (at least 4, at most 16). PostgreSQL's backends are busy, not waiting, once a push is a
/// handful of statements; more connections than that only add contention (on 2 cores, 200
/// phones pushing: 4 connections 75k records/s, p99 325 ms; 8: 68k, 405 ms; 16: 63k, 470 ms).
pub const POOL_SIZE_ENV: &str = "GRIDPATROL_PG_POOL_SIZE";

fn pool_size() -> u32 {
    if let Some(n) = std::env::var(POOL_SIZE_ENV).ok().and_then(|v| v.trim().parse::<u32>().ok()) {
        return n.clamp(1, 256);
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    (2 * cores).clamp(4, 16)
}

pub struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn { client: self.config.connect(NoTls)?, statements: HashMap::new() })
    }
    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }
    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

pub struct PgDb {
    pool: Option<r2d2::Pool<Manager>>,
    /// One permit per pooled connection, handed out first come, first served: requests queue
    /// here in arrival order (r2d2's own wait is not fair, which showed as a long latency tail
    /// with many phones pushing at once) and never hold a blocking thread while they wait.
    gate: tokio::sync::Semaphore,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            // Off any async runtime thread: each client owns a runtime of its own.
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

pub(crate) fn db_err(e: postgres::Error) -> DbError {
    // Class 40 (deadlock, serialization failure): nothing was committed; the client retries.
    if let Some(d) = e.as_db_error().filter(|d| d.code().code().starts_with("40")) {
        tracing::warn!(sqlstate = d.code().code(), "transaction rolled back by PostgreSQL; client retries");
        return DbError::Busy { retry_after_s: 1 };
    }
    // SQLSTATE and constraint only: PostgreSQL's message and detail can quote row values.
    let detail = match e.as_db_error() {
        Some(d) => format!("postgres: {} {}", d.code().code(), d.constraint().unwrap_or("")),
        None => format!("postgres: {}", if e.is_closed() { "connection closed" } else { "client error" }),
    };
    DbError::Failed(detail)
}

impl PgDb {
    pub fn open(url: &str) -> Result<PgDb, String> {
        let config: postgres::Config = url.parse().map_err(|e| format!("bad PostgreSQL URL: {e}"))?;
        let size = pool_size();
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(Manager { config })
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
        Ok(PgDb { pool: Some(pool), gate: tokio::sync::Semaphore::new(size as usize) })
    }

    /// Wait for a connection's turn (see `gate`); hold the permit for the transaction.
    pub async fn turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        self.gate.acquire().await.map_err(|_| DbError::failed("postgres pool closed"))
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>> {
        let pool = self.pool.as_ref().ok_or_else(|| DbError::failed("pool closed"))?;
        pool.get().map_err(|e| DbError::failed(format!("postgres pool: {e}")))
    }

    pub fn write<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        self.run(IsolationLevel::ReadCommitted, false, f)
    }

    pub fn read<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        self.run(IsolationLevel::RepeatableRead, true, f)
    }

    fn run<T, E: From<DbError>>(
        &self,
        level: IsolationLevel,
        read_only: bool,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        let PgConn { client, statements } = &mut *conn;
        let tx = client.build_transaction().isolation_level(level).read_only(read_only).start().map_err(db_err)?;
        let mut ptx = PgTx { tx: Some(tx), statements };
        let out = f(&mut ptx)?;
        ptx.tx.take().ok_or_else(|| DbError::failed("transaction gone"))?.commit().map_err(db_err)?;
        Ok(out)
    }
}

struct PgTx<'a> {
    tx: Option<postgres::Transaction<'a>>,
    statements: &'a mut HashMap<String, Statement>,
}

/// A `Value` bound to whatever type PostgreSQL inferred for the placeholder.
struct Param<'a>(&'a Value);

impl std::fmt::Debug for Param<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print values (personal data); the kind is enough.
        f.write_str(match self.0 {
            Value::Null => "Null",
            Value::Int(_) => "Int",
            Value::Real(_) => "Real",
            Value::Text(_) | Value::Code(_) => "Text",
            Value::Bytes(_) => "Bytes",
        })
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_string().as_str().to_sql(ty, out),
            },
            Value::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(v) => v.as_str().to_sql(ty, out),
            Value::Code(v) => v.to_sql(ty, out),
            Value::Bytes(v) => v.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn read_row(r: &postgres::Row) -> Result<Row> {
    let mut vals = Vec::with_capacity(r.len());
    for (i, c) in r.columns().iter().enumerate() {
        let conv = |_: postgres::Error| DbError::failed(format!("postgres column {i}: {}", c.type_().name()));
        let v = match *c.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(conv)?.map(Value::Int),
            Type::INT4 => r.try_get::<_, Option<i32>>(i).map_err(conv)?.map(|v| Value::Int(v.into())),
            Type::INT2 => r.try_get::<_, Option<i16>>(i).map_err(conv)?.map(|v| Value::Int(v.into())),
            Type::BOOL => r.try_get::<_, Option<bool>>(i).map_err(conv)?.map(|v| Value::Int(v.into())),
            Type::FLOAT8 => r.try_get::<_, Option<f64>>(i).map_err(conv)?.map(Value::Real),
            Type::FLOAT4 => r.try_get::<_, Option<f32>>(i).map_err(conv)?.map(|v| Value::Real(v.into())),
            Type::VOID => None,
            Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i).map_err(conv)?.map(Value::Bytes),
            _ => r.try_get::<_, Option<String>>(i).map_err(conv)?.map(Value::Text),
        };
        vals.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(vals))
}

/// One column of a bulk insert, bound as one typed array.
enum Column<'a> {
    Text(Vec<Option<&'a str>>),
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
}

impl<'a> Column<'a> {
    fn new(ty: Col, n: usize) -> Self {
        match ty {
            Col::Text => Column::Text(Vec::with_capacity(n)),
            Col::Int => Column::Int(Vec::with_capacity(n)),
            Col::Real => Column::Real(Vec::with_capacity(n)),
        }
    }
    fn push(&mut self, v: &'a Value) -> Result<()> {
        match (self, v) {
            (Column::Text(c), Value::Null) => c.push(None),
            (Column::Int(c), Value::Null) => c.push(None),
            (Column::Real(c), Value::Null) => c.push(None),
            (Column::Text(c), Value::Text(s)) => c.push(Some(s.as_str())),
            (Column::Text(c), Value::Code(s)) => c.push(Some(s)),
            (Column::Int(c), Value::Int(i)) => c.push(Some(*i)),
            (Column::Real(c), Value::Real(f)) => c.push(Some(*f)),
            (Column::Real(c), Value::Int(i)) => c.push(Some(*i as f64)),
            _ => return Err(DbError::failed("bulk insert: a value does not match its column type")),
        }
        Ok(())
    }
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Column::Text(c) => c,
            Column::Int(c) => c,
            Column::Real(c) => c,
        }
    }
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let tx = self.tx.as_mut().ok_or_else(|| DbError::failed("transaction gone"))?;
        let stmt = tx.prepare(&to_dollar_params(sql)).map_err(db_err)?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

impl Tx for PgTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        let ps: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let tx = self.tx.as_mut().ok_or_else(|| DbError::failed("transaction gone"))?;
        tx.execute(&stmt, &refs).map_err(db_err)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        let ps: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let tx = self.tx.as_mut().ok_or_else(|| DbError::failed("transaction gone"))?;
        let rows = tx.query(&stmt, &refs).map_err(db_err)?;
        rows.iter().map(read_row).collect()
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn insert_rows(&mut self, into: &str, cols: &[Col], rows: &[Value], tail: &str) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        if cols.is_empty() || !rows.len().is_multiple_of(cols.len()) {
            return Err(DbError::failed("bulk insert: rows do not match the columns"));
        }
        let arrays: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = match c {
                    Col::Text => "text",
                    Col::Int => "int8",
                    Col::Real => "float8",
                };
                format!("${}::{ty}[]", i + 1)
            })
            .collect();
        let sql = format!("INSERT INTO {into} SELECT * FROM unnest({}) {tail}", arrays.join(", "));
        let n = rows.len() / cols.len();
        let mut columns: Vec<Column<'_>> = cols.iter().map(|c| Column::new(*c, n)).collect();
        for row in rows.chunks(cols.len()) {
            for (col, v) in columns.iter_mut().zip(row) {
                col.push(v)?;
            }
        }
        let stmt = self.statement(&sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = columns.iter().map(Column::as_sql).collect();
        let tx = self.tx.as_mut().ok_or_else(|| DbError::failed("transaction gone"))?;
        tx.execute(&stmt, &refs).map_err(db_err)
    }

    fn lookup(&mut self, lookups: &[Lookup<'_>]) -> Result<Vec<Found>> {
        let mut parts = Vec::new();
        let mut params: Vec<&[&str]> = Vec::new();
        for (i, l) in lookups.iter().enumerate().filter(|(_, l)| !l.keys.is_empty()) {
            params.push(l.keys);
            // One index probe per key, whatever the planner thinks of the table's size: a
            // plain `key = ANY($n)` is planned as a sequential scan while a table is young (no
            // statistics yet), which tested each row against every key of the batch.
            // `OFFSET 0` keeps the subquery a per-key nested loop.
            parts.push(format!(
                "SELECT {i}::int8, t.a, t.b FROM unnest(${}::text[]) AS k(key)
                 CROSS JOIN LATERAL (SELECT ({})::text AS a, ({})::text AS b FROM {} WHERE {} = k.key OFFSET 0) AS t",
                params.len(),
                l.out.0,
                l.out.1.unwrap_or("NULL"),
                l.table,
                l.key,
            ));
        }
        let mut out: Vec<Found> = lookups.iter().map(|_| Vec::new()).collect();
        if parts.is_empty() {
            return Ok(out);
        }
        let stmt = self.statement(&parts.join(" UNION ALL "))?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let tx = self.tx.as_mut().ok_or_else(|| DbError::failed("transaction gone"))?;
        for r in tx.query(&stmt, &refs).map_err(db_err)? {
            let which: i64 = r.try_get(0).map_err(db_err)?;
            let a: String = r.try_get(1).map_err(db_err)?;
            let b: Option<String> = r.try_get(2).map_err(db_err)?;
            if let Some(found) = out.get_mut(which as usize) {
                found.push((a, b));
            }
        }
        Ok(out)
    }
}
