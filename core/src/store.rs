//! The store: one SQLite database in a folder (plus the photos beside it), one writer
//! connection and one reader connection, each behind a mutex. Every recording operation
//! runs in one `BEGIN IMMEDIATE` transaction that also appends its outbox row, and commits
//! with `synchronous=FULL`, so a worker's action is on disk when the call returns (only the
//! sync's own bookkeeping, which HQ can say again, skips the wait: `write_tx_lazy`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::config::GridConfig;
use crate::domain::{Lang, TaskStatus, WorkerRole};
use crate::geo::Ring;
use crate::hlc::Hlc;
use crate::key::{self, StoreKey};
use crate::outbox;
use crate::records::{Command, TaskInput};
use crate::template::Template;
use crate::{schema, CoreError, Result};

pub const DB_FILE: &str = "gridpatrol.db";

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: what a worker's phone always uses.
    Full,
    /// `synchronous=OFF`: only for seeding benchmark and demo stores quickly. Never in the field.
    SeedingOnly,
}

#[derive(Clone)]
pub struct StoreOptions {
    pub clock: Arc<dyn Clock>,
    /// Offset of the worker's local time from UTC, for "today" (default +08:00).
    pub tz_offset_minutes: i32,
    pub durability: Durability,
    /// This installation's id, kept by the shell where backups and file copies do not reach
    /// (Android: a file in `noBackupFilesDir`; iOS: a Keychain item with
    /// `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`), made once at random (16..64
    /// characters of letters, digits, `-`, `_`, `.`). A store opened with an id other than the
    /// one it was made with is a copy (a cloned phone, a restored backup): it takes a device
    /// identity of its own at its next sync, before pushing anything (docs/SYNC.md). `None`: the
    /// store keeps an id of its own, and only HQ's fork rule notices copies.
    pub installation_id: Option<String>,
    /// The language every screen model's labels come in (`Store::set_language` changes it).
    pub language: Lang,
    /// How photos are stored at capture: longest side (default 1600 px), JPEG quality
    /// (default 80), thumbnail size (default 320 px). Checked at open (`InvalidInput` naming
    /// the setting).
    pub photos: crate::photo::PhotoOptions,
    /// The key the store is encrypted with (SQLCipher, `key.rs`), from the app's key provider.
    /// A clear-text store opened with a key is encrypted in place first; an encrypted store
    /// opened without one is `StoreKeyMissing`, with the wrong one `StoreKeyWrong`. `None`
    /// keeps a clear-text store: tests, benchmarks' baselines, and the terminal shell when no
    /// key is configured — never a phone app (the bindings always pass a key).
    pub key: Option<crate::key::StoreKey>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            clock: Arc::new(SystemClock),
            tz_offset_minutes: 8 * 60,
            durability: Durability::Full,
            installation_id: None,
            language: Lang::Both,
            photos: crate::photo::PhotoOptions::default(),
            key: None,
        }
    }
}

/// Who this device is: its id, its install epoch and the worker it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DeviceInfo {
    pub device_id: String,
    pub epoch: i64,
    pub worker_id: String,
}

/// Reference data the writes check against, loaded once and replaced when HQ sends new.
#[derive(Debug, Clone)]
pub(crate) struct RefData {
    pub worker_name: String,
    pub worker_role: WorkerRole,
    pub worker_grids: Vec<String>,
    pub grids: HashMap<String, GridRef>,
    pub active_template: Template,
    pub templates: HashMap<(String, u32), Template>,
}

#[derive(Debug, Clone)]
pub(crate) struct GridRef {
    pub name: String,
    pub boundary: Ring,
    pub community_name: String,
}

impl RefData {
    /// Nothing: what a wiped store holds.
    fn empty() -> RefData {
        RefData {
            worker_name: String::new(),
            worker_role: WorkerRole::Volunteer,
            worker_grids: Vec::new(),
            grids: HashMap::new(),
            active_template: Template::default_3456(),
            templates: HashMap::new(),
        }
    }
    pub fn is_own_grid(&self, grid_id: &str) -> bool {
        self.worker_grids.iter().any(|g| g == grid_id)
    }
    pub fn own_grid(&self, field: &str, grid_id: &str) -> Result<&GridRef> {
        if !self.is_own_grid(grid_id) {
            return Err(CoreError::invalid(field, "is not one of this worker's grids"));
        }
        self.grids.get(grid_id).ok_or_else(|| CoreError::not_found("grid", grid_id))
    }
    pub fn template(&self, id: &str, version: u32) -> Result<&Template> {
        self.templates
            .get(&(id.to_string(), version))
            .ok_or_else(|| CoreError::Corrupt(format!("template {id} v{version} missing")))
    }
}

struct Writer {
    conn: Connection,
    next_seq: i64,
    hlc: Hlc,
}

/// What a recording operation sees inside its transaction.
pub(crate) struct WriteCtx<'a> {
    pub tx: &'a Transaction<'a>,
    pub now_ms: i64,
    pub hlc: Hlc,
    pub device: &'a DeviceInfo,
    pub refdata: &'a RefData,
}

pub struct Store {
    dir: PathBuf,
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
    /// Changes only when the store takes a new identity (enrolment, a fork).
    device: RwLock<DeviceInfo>,
    refdata: RwLock<Arc<RefData>>,
    pub(crate) opts: StoreOptions,
    language: RwLock<Lang>,
    /// Counts committed writes: a screen subscribed with `changes()` re-reads after each.
    changes: tokio::sync::watch::Sender<u64>,
    /// HQ ordered this store wiped and it was erased: every operation is `DeviceWiped`
    /// (`crate::wipe`).
    wiped: std::sync::atomic::AtomicBool,
}

fn open_conn(path: &Path, durability: Durability, key: Option<&StoreKey>) -> Result<Connection> {
    let conn = Connection::open(path)?;
    key::apply(&conn, key)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // WAL: readers never block the writer; FULL: the WAL is fsynced at every commit.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if mode != "wal" {
        return Err(CoreError::Corrupt(format!("could not enable WAL (got {mode})")));
    }
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::SeedingOnly => "OFF",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    // Temp tables in memory: Android's tmp dir is not always writable.
    conn.pragma_update(None, "temp_store", 2)?;
    // Reference data is replaced wholesale by HQ while local records keep their grid ids
    // as history, so foreign keys document the model but are not enforced.
    conn.pragma_update(None, "foreign_keys", false)?;
    Ok(conn)
}

fn open_reader(path: &Path, key: Option<&StoreKey>) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    key::apply(&conn, key)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// A poisoned mutex only means another thread panicked mid-call; SQLite's own transaction
/// rollback keeps the data consistent, so recover the guard rather than panic again.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Create (or re-initialise) a store in `dir` for `worker_id` from a grid configuration.
    /// Re-initialising for another worker is refused while records are unsent, unless HQ
    /// authorised discarding them (`crate::wipe`, a phone handed back).
    pub fn init(dir: &Path, config: &GridConfig, worker_id: &str, opts: StoreOptions) -> Result<Store> {
        crate::wipe::refuse_if_wiped(dir)?;
        config.validate()?;
        if !config.workers.iter().any(|w| w.id == worker_id) {
            return Err(CoreError::invalid("worker_id", "is not a worker in the configuration"));
        }
        std::fs::create_dir_all(dir)?;
        key::prepare(&dir.join(DB_FILE), opts.key.as_ref())?;
        let mut conn = open_conn(&dir.join(DB_FILE), Durability::Full, opts.key.as_ref())?;
        schema::migrate(&mut conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = read_device(&tx)?;
        match existing {
            None => {
                tx.execute(
                    "INSERT INTO device (id, device_id, epoch, worker_id, created_ms) VALUES (1, ?1, 1, ?2, ?3)",
                    params![crate::new_id(), worker_id, opts.clock.now_ms()],
                )?;
            }
            Some(d) if d.worker_id != worker_id => {
                let unsent = unsent_records(&tx)?;
                // Unless HQ authorised discarding it (a phone handed back), unsent work blocks.
                if unsent > 0 && !crate::wipe::discard_for_switch(&tx, worker_id, false)? {
                    return Err(CoreError::UnsentWork { unsent });
                }
                tx.execute("UPDATE device SET worker_id = ?1 WHERE id = 1", [worker_id])?;
            }
            Some(_) => {}
        }
        apply_reference(&tx, config, worker_id, opts.clock.now_ms())?;
        tx.commit()?;
        drop(conn);
        Store::open(dir, opts)
    }

    /// Open an initialised store.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<Store> {
        opts.photos.validate()?;
        // A store HQ ordered wiped finishes erasing (after a crash mid-wipe) and opens wiped.
        if crate::wipe::resume_at_open(dir)? {
            return Store::wiped(dir, opts);
        }
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(CoreError::NotInitialised);
        }
        key::prepare(&path, opts.key.as_ref())?;
        let mut conn = open_conn(&path, opts.durability, opts.key.as_ref())?;
        schema::migrate(&mut conn)?;
        crate::attachments::absorb_files(&mut conn, dir)?;
        check_installation(&mut conn, opts.installation_id.as_deref())?;
        let device = read_device(&conn)?.ok_or(CoreError::NotInitialised)?;
        let refdata = load_refdata(&conn, &device.worker_id)?;
        let (last_seq, hlc) = outbox::last_seq_and_hlc(&conn)?;
        let reader = open_reader(&path, opts.key.as_ref())?;
        Ok(Store {
            dir: dir.to_path_buf(),
            writer: Mutex::new(Writer { conn, next_seq: last_seq + 1, hlc }),
            reader: Mutex::new(reader),
            device: RwLock::new(device),
            refdata: RwLock::new(Arc::new(refdata)),
            language: RwLock::new(opts.language),
            opts,
            changes: tokio::sync::watch::Sender::new(0),
            wiped: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether this store was opened with `key` (both `None`: a clear-text store). The
    /// bindings check a second handle's key against the open store's.
    pub fn opened_with(&self, key: Option<&StoreKey>) -> bool {
        match (&self.opts.key, key) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same_as(b),
            _ => false,
        }
    }

    /// A store that was wiped: no database behind it (in-memory stand-ins), every operation
    /// `DeviceWiped`; only `sync` still runs, to finish confirming the wipe to HQ.
    fn wiped(dir: &Path, opts: StoreOptions) -> Result<Store> {
        Ok(Store {
            dir: dir.to_path_buf(),
            writer: Mutex::new(Writer { conn: Connection::open_in_memory()?, next_seq: 1, hlc: Hlc::default() }),
            reader: Mutex::new(Connection::open_in_memory()?),
            device: RwLock::new(DeviceInfo { device_id: String::new(), epoch: 0, worker_id: String::new() }),
            refdata: RwLock::new(Arc::new(RefData::empty())),
            language: RwLock::new(opts.language),
            opts,
            changes: tokio::sync::watch::Sender::new(0),
            wiped: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Has HQ's wipe order erased this store?
    pub fn is_wiped(&self) -> bool {
        self.wiped.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn check_not_wiped(&self) -> Result<()> {
        if self.is_wiped() {
            return Err(CoreError::DeviceWiped);
        }
        Ok(())
    }

    /// The wipe's hook (`crate::wipe`): from now on every operation is `DeviceWiped`; the
    /// database connections are closed (replaced by in-memory stand-ins) so that the files can
    /// go, and the cached names leave memory.
    pub(crate) fn close_for_wipe(&self) -> Result<()> {
        self.wiped.store(true, std::sync::atomic::Ordering::SeqCst);
        lock(&self.writer).conn = Connection::open_in_memory()?;
        *lock(&self.reader) = Connection::open_in_memory()?;
        *self.refdata.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(RefData::empty());
        self.set_device(DeviceInfo { device_id: String::new(), epoch: 0, worker_id: String::new() });
        self.changed();
        Ok(())
    }

    /// The language screen models are labelled in.
    pub fn language(&self) -> Lang {
        *self.language.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Show every screen in another language from now on (screens watching are told).
    pub fn set_language(&self, lang: Lang) {
        *self.language.write().unwrap_or_else(|p| p.into_inner()) = lang;
        self.changed();
    }

    /// A receiver told after every committed change to what the screens show: a recording, a
    /// sync's acknowledgements and pulled data, new reference data, the language. It carries a
    /// counter only; a screen re-reads its model (see `screens::ScreenWatch`).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub(crate) fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Who this store is now (a copy of the cached identity).
    pub fn device(&self) -> DeviceInfo {
        self.device.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replace the cached identity after the database's changed.
    pub(crate) fn set_device(&self, device: DeviceInfo) {
        *self.device.write().unwrap_or_else(|p| p.into_inner()) = device;
    }

    /// The checklist template new patrols start under.
    pub fn active_template(&self) -> Template {
        self.refdata().active_template.clone()
    }

    pub(crate) fn refdata(&self) -> Arc<RefData> {
        self.refdata.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.opts.clock.now_ms()
    }

    /// Run one recording operation: `f` validates and writes the domain rows and returns the
    /// command; the outbox row is appended in the same transaction; one durable commit.
    pub(crate) fn record<T>(&self, f: impl FnOnce(&WriteCtx<'_>) -> Result<(T, Command)>) -> Result<T> {
        let refdata = self.refdata();
        let mut guard = lock(&self.writer);
        self.check_not_wiped()?;
        let w = &mut *guard;
        let now_ms = self.now_ms();
        let hlc = w.hlc.tick(now_ms);
        let seq = w.next_seq;
        let device = self.device.read().unwrap_or_else(|p| p.into_inner());
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (out, cmd) = {
            let ctx = WriteCtx { tx: &tx, now_ms, hlc, device: &device, refdata: &refdata };
            f(&ctx)?
        };
        outbox::append(&tx, (&device.device_id, device.epoch), seq, hlc, now_ms, &cmd)?;
        tx.commit()?;
        // Only after the commit: a failed write leaves numbering untouched (gap-free).
        w.next_seq = seq + 1;
        w.hlc = hlc;
        drop(guard);
        self.changed();
        Ok(out)
    }

    /// A write that records no worker action (sync bookkeeping, data from HQ): one
    /// IMMEDIATE transaction, no outbox row.
    pub(crate) fn write_tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.writer);
        self.check_not_wiped()?;
        let tx = guard.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        drop(guard);
        self.changed();
        Ok(out)
    }

    /// `write_tx` for what HQ can say again should it be lost (its acknowledgements, pulled
    /// pages, the sync's own times): committed without waiting for the disk. An app crash
    /// keeps it (it is in the WAL); only a power cut right after can undo it, and the next sync
    /// then redoes it (HQ answers a resend as "duplicate"). Recorded work never goes this way.
    pub(crate) fn write_tx_lazy<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        if self.opts.durability != Durability::Full {
            return self.write_tx(f);
        }
        let mut guard = lock(&self.writer);
        self.check_not_wiped()?;
        guard.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let out = (|| {
            let tx = guard.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        guard.conn.pragma_update(None, "synchronous", "FULL")?;
        drop(guard);
        if out.is_ok() {
            self.changed();
        }
        out
    }

    /// Reload the cached reference data after HQ replaced it.
    pub(crate) fn reload_refdata(&self) -> Result<()> {
        let fresh = self.read(|c| load_refdata(c, &self.device().worker_id))?;
        *self.refdata.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// HQ's clock, from a response: the HLC moves past it, so records made after a sync sort
    /// after everything HQ had, even on a phone whose clock is in 1970.
    pub(crate) fn observe_hq_time(&self, server_ms: i64) {
        let mut w = lock(&self.writer);
        w.hlc = w.hlc.observe(Hlc { wall_ms: server_ms, counter: 0 }, self.now_ms());
    }

    pub(crate) fn current_hlc(&self) -> Hlc {
        lock(&self.writer).hlc
    }

    /// Create or re-enrol the store from HQ's enrolment answer. `device_id` is the id asked
    /// for (HQ's answer may name another) and `installation_id` the one sent with it.
    pub(crate) fn init_enrolled(
        dir: &Path,
        resp: &gridpatrol_protocol::wire::EnrolResponse,
        device_id: &str,
        installation_id: &str,
        hq_url: &str,
        opts: StoreOptions,
    ) -> Result<Store> {
        crate::wipe::refuse_if_wiped(dir)?;
        resp.reference.validate()?;
        let worker_id = resp.worker_id.as_str();
        if !resp.reference.workers.iter().any(|w| w.id == worker_id) {
            return Err(CoreError::Corrupt("HQ's reference data does not include the enrolled worker".into()));
        }
        std::fs::create_dir_all(dir)?;
        key::prepare(&dir.join(DB_FILE), opts.key.as_ref())?;
        let mut conn = open_conn(&dir.join(DB_FILE), Durability::Full, opts.key.as_ref())?;
        schema::migrate(&mut conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let device_id = resp.device_id.as_deref().unwrap_or(device_id);
        match read_device(&tx)? {
            None => {
                tx.execute(
                    "INSERT INTO device (id, device_id, epoch, worker_id, created_ms, installation_id)
                     VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                    params![device_id, resp.epoch, worker_id, opts.clock.now_ms(), installation_id],
                )?;
            }
            Some(d) => {
                let unsent = unsent_records(&tx)?;
                if unsent > 0
                    && d.worker_id != worker_id
                    && !crate::wipe::discard_for_switch(&tx, worker_id, resp.discard_authorised)?
                {
                    return Err(CoreError::UnsentWork { unsent });
                }
                // Every enrolment is a new epoch (perhaps a new device id). Every row the outbox
                // still holds goes again under it, numbered from 1 (`seq_base`): HQ recognises by
                // mutation id those it has, and applies those it lost — a phone re-enrolling
                // because HQ was restored from a backup older than its identity gets back what
                // the restore took (docs/SYNC.md, guarantee 9). Photos are asked about again.
                let acked: i64 =
                    tx.query_row("SELECT acked_through_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
                let first: Option<i64> = tx.query_row("SELECT MIN(seq) FROM outbox", [], |r| r.get(0))?;
                let base = first.map_or(acked, |f| (f - 1).min(acked));
                tx.execute("UPDATE outbox SET state = 'pending' WHERE seq > ?1", [base])?;
                tx.execute("UPDATE sync_state SET acked_through_seq = ?1 WHERE id = 1", [base])?;
                if base < acked {
                    tx.execute("UPDATE attachment SET upload_state = 'pending' WHERE upload_state = 'uploaded'", [])?;
                }
                tx.execute(
                    "UPDATE device SET device_id = ?1, worker_id = ?2, epoch = ?3, installation_id = ?4,
                         seq_base = ?5, needs_identity = 0
                     WHERE id = 1",
                    params![device_id, worker_id, resp.epoch, installation_id, base],
                )?;
            }
        }
        apply_reference(&tx, &resp.reference, worker_id, opts.clock.now_ms())?;
        tx.execute(
            "UPDATE sync_state SET hq_url = ?1, device_token = ?2, reference_version = ?3, tasks_cursor = 0,
                 cases_cursor = 0, last_error = NULL WHERE id = 1",
            params![hq_url.trim_end_matches('/'), resp.device_token, resp.reference_version],
        )?;
        tx.commit()?;
        drop(conn);
        Store::open(dir, opts)
    }

    /// A read on the reader connection (never blocks, never blocked by, the writer).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = lock(&self.reader);
        self.check_not_wiped()?;
        f(&conn)
    }

    /// Replace reference data from HQ (or a configuration file). Local records are kept.
    pub fn load_reference(&self, config: &GridConfig) -> Result<()> {
        config.validate()?;
        if !config.workers.iter().any(|w| w.id == self.device().worker_id) {
            return Err(CoreError::invalid("config.workers", "does not include this device's worker"));
        }
        let mut guard = lock(&self.writer);
        self.check_not_wiped()?;
        let tx = guard.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        apply_reference(&tx, config, &self.device().worker_id, self.now_ms())?;
        let fresh = load_refdata(&tx, &self.device().worker_id)?;
        tx.commit()?;
        *self.refdata.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// Install a checklist template version published by HQ. A higher version of the same
    /// template becomes active; records made under older versions keep theirs.
    pub fn install_template(&self, template: &Template) -> Result<()> {
        template.validate()?;
        let mut guard = lock(&self.writer);
        self.check_not_wiped()?;
        let tx = guard.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_template(&tx, template)?;
        let fresh = load_refdata(&tx, &self.device().worker_id)?;
        tx.commit()?;
        *self.refdata.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// A task dispatched by HQ arrives. New tasks are inserted; for a known task only HQ's
    /// fields change (title, deadline, cancellation), never the worker's own progress.
    pub fn receive_task(&self, task: &TaskInput) -> Result<()> {
        task.validate("task")?;
        if task.assignee_id.as_deref() != Some(self.device().worker_id.as_str()) {
            return Err(CoreError::invalid("task.assignee_id", "is not this device's worker"));
        }
        let mut guard = lock(&self.writer);
        self.check_not_wiped()?;
        let tx = guard.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        upsert_task(&tx, task, self.now_ms())?;
        tx.commit()?;
        Ok(())
    }
}

/// The store's installation check at open (see `StoreOptions::installation_id`): adopt the
/// shell's id on first sight; a different one means this store was copied from another
/// installation, and an enrolled copy must take an identity of its own before it pushes.
fn check_installation(conn: &mut Connection, given: Option<&str>) -> Result<()> {
    if let Some(id) = given {
        check_installation_id(id)?;
    }
    let stored: Option<Option<String>> =
        conn.query_row("SELECT installation_id FROM device WHERE id = 1", [], |r| r.get(0)).optional()?;
    let Some(stored) = stored else { return Ok(()) };
    let (id, copied) = match (given, stored) {
        (None, Some(_)) => return Ok(()),
        (Some(g), Some(s)) if g == s => return Ok(()),
        (None, None) => (crate::new_id(), false),
        (Some(g), None) => (g.to_string(), false),
        (Some(g), Some(_)) => (g.to_string(), true),
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE device SET installation_id = ?1,
             needs_identity = needs_identity OR (?2 AND (SELECT device_token IS NOT NULL FROM sync_state WHERE id = 1))
         WHERE id = 1",
        params![id, copied],
    )?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn check_installation_id(id: &str) -> Result<()> {
    crate::validate::id("installation_id", id)?;
    if id.len() < 16 {
        return Err(CoreError::invalid("installation_id", "must be 16..64 characters"));
    }
    Ok(())
}

/// The store's installation id (one is made at first open).
pub(crate) fn installation_id(conn: &Connection) -> Result<String> {
    let id: Option<String> = conn.query_row("SELECT installation_id FROM device WHERE id = 1", [], |r| r.get(0))?;
    id.ok_or_else(|| CoreError::Corrupt("the store has no installation id".into()))
}

pub(crate) fn read_device(conn: &Connection) -> Result<Option<DeviceInfo>> {
    Ok(conn
        .query_row("SELECT device_id, epoch, worker_id FROM device WHERE id = 1", [], |r| {
            Ok(DeviceInfo { device_id: r.get(0)?, epoch: r.get(1)?, worker_id: r.get(2)? })
        })
        .optional()?)
}

/// Records recorded but not yet acknowledged by HQ (O(1): seq is gap-free and HQ acknowledges
/// a prefix, so this is the distance between the last seq and HQ's cursor).
pub(crate) fn unsent_records(conn: &Connection) -> Result<u64> {
    let (last, _) = outbox::last_seq_and_hlc(conn)?;
    let acked: i64 = conn.query_row("SELECT acked_through_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    Ok((last - acked).max(0) as u64)
}

fn upsert_task(tx: &Transaction<'_>, t: &TaskInput, now_ms: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO task (id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms,
                           status, result, created_ms, updated_ms, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, ?11, ?12)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
             target_unit = excluded.target_unit, deadline_ms = excluded.deadline_ms, updated_ms = excluded.updated_ms,
             details = excluded.details",
        params![
            t.id,
            t.source.code(),
            t.title.trim(),
            t.description.trim(),
            t.target_unit.trim(),
            t.assignee_id,
            t.grid_id,
            t.deadline.timestamp_millis(),
            TaskStatus::Dispatched.code(),
            t.dispatched_at.timestamp_millis(),
            now_ms,
            serde_json::to_string(&t.details.masked())?
        ],
    )?;
    Ok(())
}

fn insert_template(tx: &Transaction<'_>, t: &Template) -> Result<()> {
    let active_version: Option<u32> =
        tx.query_row("SELECT MAX(version) FROM template WHERE id = ?1", [&t.id], |r| r.get(0)).optional()?.flatten();
    tx.execute(
        "INSERT OR IGNORE INTO template (id, version, body, active) VALUES (?1, ?2, ?3, 0)",
        params![t.id, t.version, serde_json::to_string(t)?],
    )?;
    if active_version.is_none_or(|v| t.version >= v) {
        tx.execute("UPDATE template SET active = (id = ?1 AND version = ?2)", params![t.id, t.version])?;
    }
    Ok(())
}

/// Replace reference data: communities, grids, workers, the worker's households (no one
/// else's: minimum necessary), the worker's tasks, and the template.
pub(crate) fn apply_reference(tx: &Transaction<'_>, c: &GridConfig, worker_id: &str, now_ms: i64) -> Result<()> {
    tx.execute_batch("DELETE FROM community; DELETE FROM grid; DELETE FROM worker; DELETE FROM household;")?;
    // Minimum necessary: another worker's tasks do not stay on this phone. Nothing unsent can
    // be lost here: switching worker is refused while anything is unsent.
    tx.execute("DELETE FROM task_event WHERE task_id IN (SELECT id FROM task WHERE assignee_id != ?1)", [worker_id])?;
    tx.execute("DELETE FROM task WHERE assignee_id != ?1", [worker_id])?;
    for x in &c.communities {
        tx.execute("INSERT INTO community (id, code, name) VALUES (?1, ?2, ?3)", params![x.id, x.code, x.name])?;
    }
    for g in &c.grids {
        tx.execute(
            "INSERT INTO grid (id, code, community_id, name, boundary) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![g.id, g.code, g.community_id, g.name, serde_json::to_string(&g.boundary)?],
        )?;
    }
    for w in &c.workers {
        tx.execute(
            "INSERT INTO worker (id, name, role, grid_ids) VALUES (?1, ?2, ?3, ?4)",
            params![w.id, w.name, w.role.code(), serde_json::to_string(&w.grid_ids)?],
        )?;
    }
    let me = c.workers.iter().find(|w| w.id == worker_id).ok_or_else(|| CoreError::not_found("worker", worker_id))?;
    for h in c.households.iter().filter(|h| me.grid_ids.contains(&h.grid_id)) {
        let tags: Vec<&str> = h.care_tags.iter().map(|t| t.code()).collect();
        tx.execute(
            "INSERT INTO household (id, grid_id, label, name, phone, care_tags, must_visit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![h.id, h.grid_id, h.label, h.name, h.phone, serde_json::to_string(&tags)?, h.is_must_visit()],
        )?;
    }
    for t in c.tasks.iter().filter(|t| t.assignee_id.as_deref() == Some(worker_id)) {
        upsert_task(tx, t, now_ms)?;
    }
    let has_template: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM template)", [], |r| r.get(0))?;
    if !has_template {
        insert_template(tx, &Template::default_3456())?;
    }
    if let Some(t) = &c.template {
        insert_template(tx, t)?;
    }
    Ok(())
}

fn load_refdata(conn: &Connection, worker_id: &str) -> Result<RefData> {
    let (worker_name, role, grids_json): (String, String, String) = conn
        .query_row("SELECT name, role, grid_ids FROM worker WHERE id = ?1", [worker_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .ok_or_else(|| CoreError::Corrupt("device's worker missing from reference data".into()))?;
    let mut grids = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT g.id, g.name, g.boundary, COALESCE(c.name, '') FROM grid g LEFT JOIN community c ON c.id = g.community_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    for row in rows {
        let (id, name, boundary, community_name) = row?;
        grids.insert(id, GridRef { name, boundary: serde_json::from_str(&boundary)?, community_name });
    }
    let mut templates = HashMap::new();
    let mut active = None;
    let mut stmt = conn.prepare("SELECT body, active FROM template")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
    for row in rows {
        let (body, is_active) = row?;
        let t: Template = serde_json::from_str(&body)?;
        if is_active {
            active = Some(t.clone());
        }
        templates.insert((t.id.clone(), t.version), t);
    }
    Ok(RefData {
        worker_name,
        worker_role: WorkerRole::from_code(&role).ok_or_else(|| CoreError::Corrupt("worker role".into()))?,
        worker_grids: serde_json::from_str(&grids_json)?,
        grids,
        active_template: active.ok_or_else(|| CoreError::Corrupt("no active template".into()))?,
        templates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(s: &Store) -> i64 {
        lock(&s.writer).conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
    }

    /// A lazy write (sync bookkeeping) leaves the writer at FULL again, whether it committed or
    /// failed: the next recording still waits for the disk.
    #[test]
    fn lazy_writes_leave_recording_durable() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::init(dir.path(), &crate::GridConfig::sample(), "w-001", StoreOptions::default()).unwrap();
        assert_eq!(synchronous(&s), 2, "FULL");
        s.write_tx_lazy(|tx| {
            tx.execute("UPDATE sync_state SET last_attempt_ms = 1 WHERE id = 1", [])?;
            Ok(())
        })
        .unwrap();
        assert_eq!(synchronous(&s), 2);
        let failed: Result<()> = s.write_tx_lazy(|tx| {
            tx.execute("UPDATE sync_state SET last_attempt_ms = 2 WHERE id = 1", [])?;
            Err(CoreError::invalid("x", "refused"))
        });
        assert!(failed.is_err());
        assert_eq!(synchronous(&s), 2);
        let kept: i64 =
            s.read(|c| Ok(c.query_row("SELECT last_attempt_ms FROM sync_state", [], |r| r.get(0))?)).unwrap();
        assert_eq!(kept, 1, "the failed lazy write left nothing");
    }
}
