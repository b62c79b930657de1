//! SQLite backend: one database file in the data folder, WAL; one writer connection whose
//! transactions are `BEGIN IMMEDIATE` (no read-to-write upgrade deadlocks) and a small set of
//! reader connections that never block it. Every commit is on disk before anyone hears of it
//! or reads it (`wal_sync`: the fsync runs on a thread of its own, off the writer's path).
//!
//! Group commit. SQLite has one writer, and each commit waits for the disk (about 1 ms here),
//! so with many phones pushing at once the fsyncs, not the work, would set the pace. HQ's
//! write transactions therefore go, in arrival order, to one writer thread that
//! runs every transaction already waiting inside one SQLite transaction, each after the first
//! in its own SAVEPOINT, and commits once for all of them (at most `MAX_GROUP` transactions or
//! `MAX_GROUP_AGE` per group). Nothing changes for a caller: its transaction is all or nothing
//! (a failure rolls back its own savepoint only, or the whole transaction when it is the
//! first; the others go on), and its result, say a
//! push's acknowledgement, is handed back only after the COMMIT is on disk; if the COMMIT
//! fails, every member of the group gets the error and nothing of any of them is kept. A
//! push's operations and its device's cursor therefore still commit together, or not at all.
//! When nothing else is waiting (one phone syncing) a group is just that one transaction.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::wal_sync::WalSync;
use super::{Backend, Col, Found, Lookup, Row, Tx, Value};
use super::{DbError, DbResult as Result};

pub const DB_FILE: &str = "hq.db";
const MAX_IDLE_READERS: usize = 8;
/// Most transactions committed together, and the longest a group stays open for more. Short:
/// the answers of a group wait for its commit, and a phone keeping several pushes in flight
/// sends its next ones only as answers come back; a group that swallowed them all would leave
/// the writer idle until they arrive.
const MAX_GROUP: usize = 64;
const MAX_GROUP_AGE: Duration = Duration::from_millis(5);
/// Rows per multi-row INSERT statement (17 columns × 32 rows stays far below SQLite's
/// parameter limit).
const INSERT_CHUNK: usize = 32;
/// Prepared statements kept per connection (bulk inserts and lookups add a few each).
const STATEMENT_CACHE: usize = 256;

pub struct SqliteDb {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    /// To the group-commit writer thread; `None` once closing.
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    wal: Arc<WalSync>,
    syncer: Option<std::thread::JoinHandle<()>>,
    /// Closing this stops the checkpointer thread.
    stop_checkpoints: Option<mpsc::Sender<()>>,
    checkpointer: Option<std::thread::JoinHandle<()>>,
    readers: Mutex<Vec<Connection>>,
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        // The threads end when their channels close (the syncer's with the writer); wait for
        // them so that the database is closed when this returns (a new HQ may open it right after).
        self.jobs.take();
        self.stop_checkpoints.take();
        for t in [self.thread.take(), self.syncer.take(), self.checkpointer.take()].into_iter().flatten() {
            let _ = t.join();
        }
    }
}

/// How often the checkpointer copies committed WAL frames into the database file, and the
/// WAL size (pages) at which a committing writer checkpoints by itself all the same (the
/// backstop should the checkpointer fall behind).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 20_000;

/// Checkpoints off the commit path. With SQLite's default, the commit that pushes the WAL
/// past 1,000 pages copies them into the database file and fsyncs it (about 6 ms here, every
/// ~7th push of 1,000 records). Here a thread of its own does that (PASSIVE: it never blocks
/// the writer or readers). Durability is unchanged: every commit is on disk in the WAL
/// (`wal_sync`) before anyone hears of it; a checkpoint only moves committed pages.
fn checkpoint_loop(path: PathBuf, stop: mpsc::Receiver<()>) {
    let Ok(conn) = Connection::open(&path) else { return };
    let _ = conn.busy_timeout(Duration::from_millis(100));
    let _ = conn.pragma_update(None, "synchronous", "FULL");
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %error_kind(&e), "background checkpoint failed; the writer checkpoints instead");
        }
    }
}

/// One write transaction waiting for the writer thread.
trait Job: Send {
    /// Run the caller's work; true when it succeeded (its savepoint is kept).
    fn run(&mut self, tx: &mut dyn Tx) -> bool;
    /// Hand the result back: the work's own, or `failure` when the group did not commit.
    fn finish(self: Box<Self>, failure: Option<DbError>);
}

struct TypedJob<T, E, F> {
    f: Option<F>,
    out: Option<Result<T, E>>,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<T: Send, E: From<DbError> + Send, F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send> Job for TypedJob<T, E, F> {
    fn run(&mut self, tx: &mut dyn Tx) -> bool {
        let Some(f) = self.f.take() else { return false };
        let out = f(tx);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, failure: Option<DbError>) {
        let result = match (self.out, failure) {
            (Some(Err(own)), _) => Err(own),
            (_, Some(e)) => Err(e.into()),
            (Some(out), None) => out,
            // It panicked: nothing of it was kept.
            (None, None) => Err(DbError::failed("write transaction panicked").into()),
        };
        let _ = self.reply.send(result);
    }
}

/// A group whose COMMIT was attempted, numbered for `WalSync`, on its way to the syncer.
struct Committed {
    n: u64,
    group: Vec<Box<dyn Job>>,
    failure: Option<DbError>,
}

/// The writer thread: one group after another, each in arrival order.
fn writer_loop(conn: Arc<Mutex<Connection>>, jobs: mpsc::Receiver<Box<dyn Job>>, w: Writer) {
    while let Ok(first) = jobs.recv() {
        let c = lock(&conn);
        let mut next = Some(first);
        while let Some(job) = next.take() {
            next = run_group(&c, job, &jobs, &w);
        }
    }
}

/// What the writer thread hands committed groups to.
struct Writer {
    wal: Arc<WalSync>,
    syncer: mpsc::Sender<Committed>,
}

/// The syncer thread: fsync the WAL for every group committed meanwhile, then answer them.
fn syncer_loop(wal: Arc<WalSync>, committed: mpsc::Receiver<Committed>) {
    while let Ok(first) = committed.recv() {
        let mut batch = vec![first];
        batch.extend(committed.try_iter());
        let through = batch.iter().map(|c| c.n).max().unwrap_or(0);
        let synced = if batch.iter().any(|c| c.failure.is_none()) {
            wal.sync_through(through).map_err(|e| {
                tracing::error!(error = %e.kind(), "fsync of the WAL failed; the writes are answered with an error");
                DbError::failed("the database could not be written to disk")
            })
        } else {
            wal.settled(through);
            Ok(())
        };
        for c in batch {
            let failure = c.failure.or_else(|| synced.clone().err());
            for j in c.group {
                j.finish(failure.clone());
            }
        }
    }
}

/// One group: `first`, then whatever else is waiting. Returns a job to start the next group
/// with when `first` failed on its own (its transaction was rolled back alone).
fn run_group(
    c: &Connection,
    first: Box<dyn Job>,
    jobs: &mpsc::Receiver<Box<dyn Job>>,
    w: &Writer,
) -> Option<Box<dyn Job>> {
    let mut group = vec![first];
    if let Err(e) = c.execute_batch("BEGIN IMMEDIATE") {
        group.pop()?.finish(Some(db_err(e)));
        return None;
    }
    let opened = Instant::now();
    // The first member needs no savepoint (one costs a sub-journal write per page touched):
    // if it fails, the whole transaction is its own and is rolled back.
    if !run_guarded(c, group[0].as_mut()) {
        let _ = c.execute_batch("ROLLBACK");
        group.pop()?.finish(None);
        return jobs.try_recv().ok();
    }
    let mut failure = rolled_back(c);
    while failure.is_none() && group.len() < MAX_GROUP && opened.elapsed() < MAX_GROUP_AGE {
        let Ok(mut j) = jobs.try_recv() else { break };
        let outcome = run_member(c, j.as_mut()).and_then(|()| rolled_back(c).map_or(Ok(()), Err));
        group.push(j);
        if let Err(e) = outcome {
            failure = Some(e);
        }
    }
    let n = w.wal.begin();
    if failure.is_none() {
        failure = c.execute_batch("COMMIT").err().map(db_err);
    }
    if failure.is_some() {
        let _ = c.execute_batch("ROLLBACK");
    }
    // Answered once the commit is on disk, while this thread goes on with the next group.
    if let Err(mpsc::SendError(c)) = w.syncer.send(Committed { n, group, failure }) {
        w.wal.settled(n);
        for j in c.group {
            j.finish(Some(DbError::failed("database syncer stopped")));
        }
    }
    None
}

/// SQLite ends the whole transaction by itself on some errors (disk full, I/O): whatever the
/// members' own results, nothing of the group then stands.
fn rolled_back(c: &Connection) -> Option<DbError> {
    c.is_autocommit().then(|| DbError::failed("sqlite: the transaction was rolled back"))
}

/// Run a job's work; a panic counts as a failure (its reply then says so).
fn run_guarded(c: &Connection, job: &mut dyn Job) -> bool {
    std::panic::catch_unwind(AssertUnwindSafe(|| job.run(&mut SqliteTx { conn: c }))).unwrap_or(false)
}

/// One transaction of a group, in its own savepoint. Err: the group cannot go on.
fn run_member(c: &Connection, job: &mut dyn Job) -> Result<()> {
    c.execute_batch("SAVEPOINT member").map_err(db_err)?;
    if !run_guarded(c, job) {
        c.execute_batch("ROLLBACK TO member").map_err(db_err)?;
    }
    c.execute_batch("RELEASE member").map_err(db_err)
}

/// One of the backend's own threads, named for `top` and the logs.
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<std::thread::JoinHandle<()>, String> {
    std::thread::Builder::new().name(name.into()).spawn(f).map_err(|e| format!("cannot start thread {name}: {e}"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic mid-transaction leaves nothing half-written (SQLite rolls back); carry on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn db_err(e: rusqlite::Error) -> DbError {
    // The error code only: messages can quote values (personal data) from constraints.
    let detail = match &e {
        rusqlite::Error::SqliteFailure(f, _) => format!("sqlite: {:?} ({})", f.code, f.extended_code),
        other => format!("sqlite: {}", error_kind(other)),
    };
    DbError::Failed(detail)
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
            // NORMAL: COMMIT does not wait for the disk; `wal_sync` does, before anyone hears
            // of it (a push acknowledged to a phone is on disk: the phone then drops its copy).
            writer.pragma_update(None, "synchronous", "NORMAL")?;
            writer.pragma_update(None, "foreign_keys", false)?;
            writer.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
            // Savepoints of a group keep their undo pages in memory, not in a temporary file.
            writer.pragma_update(None, "temp_store", "MEMORY")?;
            writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            Ok(())
        };
        setup().map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        let writer = Arc::new(Mutex::new(writer));
        let wal = Arc::new(WalSync::new(&path));
        let (to_syncer, committed) = mpsc::channel();
        let w = wal.clone();
        let syncer = spawn("hq-sqlite-sync", move || syncer_loop(w, committed))?;
        let (jobs, queue) = mpsc::channel();
        let conn = writer.clone();
        let w = Writer { wal: wal.clone(), syncer: to_syncer };
        let thread = spawn("hq-sqlite-writer", move || writer_loop(conn, queue, w))?;
        let (stop_checkpoints, stop) = mpsc::channel();
        let at = path.clone();
        let checkpointer = spawn("hq-sqlite-checkpoint", move || checkpoint_loop(at, stop))?;
        Ok(SqliteDb {
            path,
            writer,
            jobs: Some(jobs),
            thread: Some(thread),
            wal,
            syncer: Some(syncer),
            stop_checkpoints: Some(stop_checkpoints),
            checkpointer: Some(checkpointer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// A write transaction through the group-commit writer thread (see the module doc).
    pub async fn write_async<T: Send + 'static, E: From<DbError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        self.submit(f).await
    }

    /// Put a write transaction in the writer's queue now (transactions submitted later run
    /// after it); the future is its result.
    pub fn submit<T: Send + 'static, E: From<DbError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, E>> + Send + 'static {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob { f: Some(f), out: None, reply });
        let sent = match self.jobs.as_ref() {
            None => Err(DbError::failed("database closed")),
            Some(jobs) => jobs.send(job).map_err(|_| DbError::failed("database writer stopped")),
        };
        async move {
            sent?;
            answer.await.map_err(|_| DbError::failed("write transaction panicked"))?
        }
    }

    /// A write transaction on the calling thread (start-up), outside any group; on disk when
    /// it returns.
    pub fn write<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let out = f(&mut SqliteTx { conn: &tx })?;
        let n = self.wal.begin();
        if let Err(e) = tx.commit() {
            self.wal.settled(n);
            return Err(db_err(e).into());
        }
        self.wal.sync_through(n).map_err(|e| DbError::failed(format!("fsync: {}", e.kind())))?;
        Ok(out)
    }

    pub fn read<T, E: From<DbError>>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(db_err)?;
                c.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
                c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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
        drop(pool);
        let out = out?;
        end?;
        // What this read saw leaves HQ only once it is on disk.
        self.wal.wait_for_begun();
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
            Value::Code(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
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
        if cols.is_empty() || !rows.len().is_multiple_of(cols.len()) {
            return Err(DbError::failed("bulk insert: rows do not match the columns"));
        }
        // Full chunks of INSERT_CHUNK rows in one statement (fewer steps and resets), the rest
        // one row at a time; two cached statements per table. OR FAIL: a constraint failure
        // fails the caller's whole transaction anyway, so SQLite need not keep a statement
        // journal to undo half a statement (a copy of every page the statement touches).
        let width = cols.len();
        let one = format!("({})", vec!["?"; width].join(", "));
        let mut n = 0;
        let mut chunks = rows.chunks_exact(width * INSERT_CHUNK);
        if chunks.len() > 0 {
            let many = vec![one.as_str(); INSERT_CHUNK].join(", ");
            let mut stmt = self
                .conn
                .prepare_cached(&format!("INSERT OR FAIL INTO {into} VALUES {many} {tail}"))
                .map_err(db_err)?;
            for chunk in &mut chunks {
                n += stmt.execute(rusqlite::params_from_iter(chunk.iter())).map_err(db_err)?;
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut stmt =
                self.conn.prepare_cached(&format!("INSERT OR FAIL INTO {into} VALUES {one} {tail}")).map_err(db_err)?;
            for row in rest.chunks(width) {
                n += stmt.execute(rusqlite::params_from_iter(row.iter())).map_err(db_err)?;
            }
        }
        Ok(n as u64)
    }

    fn lookup(&mut self, lookups: &[Lookup<'_>]) -> Result<Vec<Found>> {
        let mut out = Vec::with_capacity(lookups.len());
        for l in lookups {
            let mut found = Found::new();
            if !l.keys.is_empty() {
                // All the keys in one statement (a JSON array walked inside SQLite): one step
                // per row found instead of a bind, a step and a reset per key.
                let sql = format!(
                    "SELECT {}, {} FROM {} WHERE {} IN (SELECT value FROM json_each(?))",
                    l.out.0,
                    l.out.1.unwrap_or("NULL"),
                    l.table,
                    l.key
                );
                let keys = serde_json::to_string(l.keys).map_err(|e| DbError::failed(format!("lookup keys: {e}")))?;
                let mut stmt = self.conn.prepare_cached(&sql).map_err(db_err)?;
                let mut rows = stmt.query([keys]).map_err(db_err)?;
                while let Some(r) = rows.next().map_err(db_err)? {
                    found.push((r.get(0).map_err(db_err)?, r.get(1).map_err(db_err)?));
                }
            }
            out.push(found);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p;

    fn open() -> (tempfile::TempDir, Arc<SqliteDb>) {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path()).unwrap();
        db.write(|tx| tx.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)", p![]).map(|_| ())).unwrap();
        (dir, Arc::new(db))
    }

    fn insert(k: &str) -> impl FnOnce(&mut dyn Tx) -> Result<()> + Send + 'static {
        let k = k.to_string();
        move |tx| tx.exec("INSERT INTO t (k, v) VALUES (?, 1)", p![k]).map(|_| ())
    }

    fn keys(db: &SqliteDb) -> Vec<String> {
        db.read(|tx| tx.query("SELECT k FROM t ORDER BY k", p![])?.iter().map(|r| r.text(0)).collect()).unwrap()
    }

    /// Transactions queued behind a busy writer commit together; each one's failure (an
    /// error after it wrote, or a panic) undoes only its own writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_keeps_each_transaction_all_or_nothing() {
        let (_dir, db) = open();
        let (started, wait) = std::sync::mpsc::channel::<()>();
        let first = {
            let db = db.clone();
            tokio::spawn(async move {
                db.write_async(move |tx| {
                    tx.exec("INSERT INTO t (k, v) VALUES ('a', 1)", p![])?;
                    started.send(()).unwrap();
                    // Hold the writer while the others queue up behind.
                    std::thread::sleep(Duration::from_millis(200));
                    Ok::<(), DbError>(())
                })
                .await
            })
        };
        wait.recv().unwrap();
        let mut others = Vec::new();
        for (i, kind) in ["ok", "fail", "ok", "panic", "ok"].into_iter().enumerate() {
            let db = db.clone();
            let k = format!("b{i}");
            others.push(tokio::spawn(async move {
                db.write_async(move |tx| {
                    insert(&k)(tx)?;
                    match kind {
                        "fail" => Err(DbError::failed("refused after writing")),
                        "panic" => panic!("a bug after writing"),
                        _ => Ok(()),
                    }
                })
                .await
            }));
            // Keep the queue in this order.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(first.await.unwrap().is_ok());
        let results: Vec<bool> = futures_ok(others).await;
        assert_eq!(results, [true, false, true, false, true]);
        assert_eq!(keys(&db), ["a", "b0", "b2", "b4"]);
    }

    /// The first transaction of a group failing is rolled back alone; those queued behind it
    /// still apply.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_first_transaction_does_not_take_the_queue_with_it() {
        let (_dir, db) = open();
        let (started, wait) = std::sync::mpsc::channel::<()>();
        let first = {
            let db = db.clone();
            tokio::spawn(async move {
                db.write_async(move |tx| {
                    tx.exec("INSERT INTO t (k, v) VALUES ('a', 1)", p![])?;
                    started.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(200));
                    Err::<(), _>(DbError::failed("no"))
                })
                .await
            })
        };
        wait.recv().unwrap();
        let mut others = Vec::new();
        for k in ["b", "c"] {
            let db = db.clone();
            others.push(tokio::spawn(async move { db.write_async(insert(k)).await }));
        }
        assert!(first.await.unwrap().is_err());
        assert_eq!(futures_ok(others).await, [true, true]);
        assert_eq!(keys(&db), ["b", "c"]);
        // A duplicate key (a constraint failure inside SQLite) is that transaction's error only.
        assert!(db.write_async(insert("b")).await.is_err());
        assert!(db.write_async(insert("d")).await.is_ok());
        assert_eq!(keys(&db), ["b", "c", "d"]);
    }

    /// A push is acknowledged only once its commit is on disk: when the WAL's fsync fails
    /// (fault injected), the transactions of that commit are answered with an error (the phone
    /// keeps its records and sends them again); the next ones are answered as usual.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fault_injected_failed_fsync_answers_with_an_error() {
        let (_dir, db) = open();
        db.wal.fail_next_sync();
        let e = db.write_async(insert("a")).await.unwrap_err();
        assert!(matches!(e, DbError::Failed(_)), "{e:?}");
        assert!(db.write_async(insert("b")).await.is_ok());
        // Readers are not held up by the failed sync.
        assert_eq!(keys(&db).last().map(String::as_str), Some("b"));
    }

    async fn futures_ok(handles: Vec<tokio::task::JoinHandle<Result<()>>>) -> Vec<bool> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap().is_ok());
        }
        out
    }
}
