//! Lost and handed-back phones (docs/SYNC.md, "Wiping a phone" and "Handing a phone back").
//!
//! **Wipe.** When HQ answers any request with `device_wipe`, the store erases itself: first a
//! marker file (`wipe.json`) is written durably with what is needed to confirm (HQ's address,
//! the token HQ revoked for the wipe, the unsent counts, never content); then the database
//! connections are closed and every other file in the store folder goes (photos, thumbnails,
//! originals, `gridpatrol.db`, its `-wal` and `-shm`), the database files overwritten with
//! zeros first; then the phone confirms (`POST /v1/wipe`) and the marker drops the token.
//! A crash at any point leaves the marker: the next `Store::open` finishes erasing before
//! anything can be read, and the next `sync` confirms. From then on every operation is
//! `CoreError::DeviceWiped`.
//!
//! **Hand-back.** A switch to another worker is refused while work is unsent, unless HQ
//! authorised discarding it (learned at a pull, or in the enrolment's answer): the switch then
//! discards the previous worker's records, unsent outbox rows and photos, and the next sync
//! reports the counts to HQ (`POST /v1/discarded`). The authorisation covers one switch.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use gridpatrol_protocol::wire::{DiscardRecorded, DiscardReport, UnsentCounts, WipeConfirmation, WipeConfirmed};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::store::Store;
use crate::sync::http::Transport;
use crate::{CoreError, Result};

/// The wipe's marker, in the store folder: the only file a wiped store keeps.
pub const MARKER_FILE: &str = "wipe.json";
const MARKER_TMP: &str = "wipe.json.tmp";

/// How far a wipe has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum WipeStage {
    /// Ordered and begun: files may remain (a crash); the next open erases them.
    Erasing,
    /// Everything erased; HQ not yet told (the next sync tells it).
    Erased,
    /// Erased and confirmed to HQ.
    Confirmed,
}

impl WipeStage {
    /// Chinese first, English after, as every label the worker sees.
    pub fn label(&self) -> &'static str {
        match self {
            WipeStage::Erasing => "正在清除本机数据 (erasing this phone's data)",
            WipeStage::Erased => "本机数据已清除，待向指挥中心确认 (erased; HQ not yet told)",
            WipeStage::Confirmed => "本机数据已清除，指挥中心已确认 (erased and confirmed to HQ)",
        }
    }
}

/// A wiped (or wiping) store, as the shells show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WipeStatus {
    pub stage: WipeStage,
    /// Records never sent to HQ that the wipe erased.
    pub erased_records: u64,
    pub erased_photos: u64,
    pub erased_photo_bytes: u64,
    /// When HQ recorded the confirmation (HQ's clock, ms since the epoch).
    pub confirmed_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    stage: WipeStage,
    /// Where and with what to confirm; dropped once confirmed.
    hq_url: Option<String>,
    token: Option<String>,
    erased: UnsentCounts,
    confirmed_ms: Option<i64>,
}

/// A discard not yet reported to HQ (kept in `handover.report`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingReport {
    hq_url: String,
    /// The token of the device whose work was discarded (the enrolment of the next worker
    /// replaces the store's own).
    token: String,
    discarded: UnsentCounts,
    to_worker_id: String,
}

/// The state of a wipe in `dir`, if HQ ever ordered one.
pub fn status(dir: &Path) -> Result<Option<WipeStatus>> {
    Ok(read_marker(dir)?.map(|m| WipeStatus {
        stage: m.stage,
        erased_records: m.erased.records,
        erased_photos: m.erased.photos,
        erased_photo_bytes: m.erased.photo_bytes,
        confirmed_ms: m.confirmed_ms,
    }))
}

/// What this store holds that HQ does not have: counts only.
pub(crate) fn unsent_counts(conn: &Connection) -> Result<UnsentCounts> {
    let records = crate::store::unsent_records(conn)?;
    let (photos, photo_bytes) = crate::sync::apply::photos_left(conn)?;
    Ok(UnsentCounts { records, photos, photo_bytes })
}

// ---------- fault injection ----------

/// The points of a wipe a test can stop it after, as a crash there would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WipeStep {
    /// The marker is on disk; nothing erased yet.
    MarkerWritten,
    /// The photos folder is gone; the database is still there.
    PhotosErased,
    /// Every file is gone; the marker still says "erasing".
    FilesErased,
    /// Erased and noted; HQ not yet told.
    BeforeConfirm,
}

static FAULTS: Mutex<Vec<(PathBuf, WipeStep)>> = Mutex::new(Vec::new());

/// Fault injection for tests: the next wipe of the store in `dir` stops right after `step`,
/// returning an I/O error and leaving the files as a crash there would. Fires once.
#[doc(hidden)]
pub fn fault_injection_stop_wipe_after(dir: &Path, step: WipeStep) {
    FAULTS.lock().unwrap_or_else(|p| p.into_inner()).push((dir.to_path_buf(), step));
}

fn fault(dir: &Path, step: WipeStep) -> Result<()> {
    let mut faults = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = faults.iter().position(|(d, s)| d == dir && *s == step) {
        faults.remove(i);
        return Err(CoreError::Io(std::io::Error::other(format!("fault injection: the wipe stopped after {step:?}"))));
    }
    Ok(())
}

// ---------- the wipe ----------

fn read_marker(dir: &Path) -> Result<Option<Marker>> {
    match std::fs::read(dir.join(MARKER_FILE)) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Durably: a temporary file, fsync, rename over the marker, fsync the folder.
fn write_marker(dir: &Path, m: &Marker) -> Result<()> {
    let tmp = dir.join(MARKER_TMP);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(m)?)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(MARKER_FILE))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Directories cannot be opened for syncing on every platform; where they can, do.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Refuse to (re)create a store where HQ ordered a wipe.
pub(crate) fn refuse_if_wiped(dir: &Path) -> Result<()> {
    if dir.join(MARKER_FILE).exists() {
        return Err(CoreError::DeviceWiped);
    }
    Ok(())
}

/// At open: a store with a marker is (being) wiped. Finish erasing what a crash left, and
/// say so (the store then opens wiped).
pub(crate) fn resume_at_open(dir: &Path) -> Result<bool> {
    let Some(mut m) = read_marker(dir)? else { return Ok(false) };
    if m.stage == WipeStage::Erasing {
        erase_files(dir)?;
        m.stage = WipeStage::Erased;
        write_marker(dir, &m)?;
    }
    Ok(true)
}

/// Every file in the store folder but the marker: the photos folder first, then the database
/// files, each overwritten with zeros and synced before it is removed.
fn erase_files(dir: &Path) -> Result<()> {
    let photos = crate::attachments::folder(dir);
    if photos.exists() {
        std::fs::remove_dir_all(&photos)?;
    }
    fault(dir, WipeStep::PhotosErased)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == MARKER_FILE || name == MARKER_TMP {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            overwrite_with_zeros(&path)?;
            std::fs::remove_file(&path)?;
        }
    }
    sync_dir(dir)?;
    fault(dir, WipeStep::FilesErased)
}

fn overwrite_with_zeros(path: &Path) -> Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    let mut left = f.metadata()?.len();
    let zeros = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    Ok(())
}

/// HQ answered `device_wipe`: erase this store and confirm. Returns once erased (and, when HQ
/// can be reached, confirmed); any failure leaves the marker for the next open and sync.
pub(crate) async fn carry_out(store: &Store, timeout: Duration) -> Result<()> {
    let dir = store.dir().to_path_buf();
    if read_marker(&dir)?.is_none() {
        let (hq_url, token): (Option<String>, Option<String>) = store.read(|c| {
            Ok(c.query_row("SELECT hq_url, device_token FROM sync_state WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
        })?;
        let erased = store.read(unsent_counts)?;
        write_marker(&dir, &Marker { stage: WipeStage::Erasing, hq_url, token, erased, confirmed_ms: None })?;
    }
    fault(&dir, WipeStep::MarkerWritten)?;
    store.close_for_wipe()?;
    resume_at_open(&dir)?;
    fault(&dir, WipeStep::BeforeConfirm)?;
    confirm(&dir, timeout).await
}

/// Tell HQ the store in `dir` is erased, if it has not been told yet.
pub(crate) async fn confirm(dir: &Path, timeout: Duration) -> Result<()> {
    let Some(mut m) = read_marker(dir)? else { return Ok(()) };
    if m.stage != WipeStage::Erased {
        return Ok(());
    }
    if let (Some(url), Some(token)) = (&m.hq_url, &m.token) {
        let t = Transport::new(url, Some(token.clone()), timeout)?;
        let resp: WipeConfirmed =
            t.post("/v1/wipe", &WipeConfirmation { erased: m.erased }).await.map_err(|f| f.error)?;
        m.confirmed_ms = Some(resp.confirmed_ms);
    }
    m.stage = WipeStage::Confirmed;
    m.token = None;
    write_marker(dir, &m)
}

/// `Store::sync` on a wiped store: finish confirming, then `DeviceWiped`.
pub(crate) async fn sync_wiped(store: &Store, timeout: Duration) -> Result<crate::sync::SyncReport> {
    // A confirmation that cannot go now goes at the next sync; the answer is the same.
    let _ = confirm(store.dir(), timeout).await;
    Err(CoreError::DeviceWiped)
}

/// Enrolment answered `device_wipe`: the store in `dir` (enrolled before) is wiped.
pub(crate) async fn wipe_at_enrolment(dir: &Path, opts: crate::StoreOptions, timeout: Duration) -> CoreError {
    if let Ok(store) = Store::open(dir, opts) {
        if !store.is_wiped() {
            let _ = carry_out(&store, timeout).await;
        } else {
            let _ = confirm(dir, timeout).await;
        }
    }
    CoreError::DeviceWiped
}

// ---------- hand-back ----------

/// A pull said whether HQ authorises discarding unsent work: keep it for the next switch.
pub(crate) fn note_discard_authorisation(tx: &Transaction<'_>, authorised: bool) -> Result<()> {
    // A discard already made and not yet reported used the authorisation up: HQ learns it
    // from the report, sent before the next pull.
    tx.execute(
        "UPDATE handover SET discard_authorised = ?1 WHERE id = 1 AND report IS NULL AND discard_authorised != ?1",
        [authorised],
    )?;
    Ok(())
}

/// Switching the store to `to_worker` while work is unsent: with HQ's authorisation (kept
/// from a pull, or `hq_says` in the enrolment's answer) the previous worker's records, unsent
/// outbox rows and photos are discarded, the authorisation is used up and a report is queued;
/// without it, nothing changes and the answer is false (the caller refuses with `UnsentWork`).
pub(crate) fn discard_for_switch(tx: &Transaction<'_>, to_worker: &str, hq_says: bool) -> Result<bool> {
    let kept: bool = tx
        .query_row("SELECT discard_authorised FROM handover WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or(false);
    if !(kept || hq_says) {
        return Ok(false);
    }
    let discarded = unsent_counts(tx)?;
    let (hq_url, token): (Option<String>, Option<String>) =
        tx.query_row("SELECT hq_url, device_token FROM sync_state WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    tx.execute("DELETE FROM outbox WHERE seq > (SELECT acked_through_seq FROM sync_state WHERE id = 1)", [])?;
    // The previous worker's records leave the phone with them (HQ has what was sent); the
    // next worker's come from HQ's pull, from the start of its change log.
    tx.execute_batch(
        "DELETE FROM patrol_track; DELETE FROM checkpoint; DELETE FROM patrol; DELETE FROM visit;
         DELETE FROM report_photo; DELETE FROM report; DELETE FROM case_event; DELETE FROM case_file;
         DELETE FROM task_event; DELETE FROM task; DELETE FROM attachment; DELETE FROM attachment_blob;
         UPDATE sync_state SET tasks_cursor = 0, cases_cursor = 0 WHERE id = 1;",
    )?;
    let report = match (hq_url, token) {
        (Some(hq_url), Some(token)) => Some(serde_json::to_string(&PendingReport {
            hq_url,
            token,
            discarded,
            to_worker_id: to_worker.to_string(),
        })?),
        _ => None,
    };
    tx.execute("UPDATE handover SET discard_authorised = 0, report = ?1 WHERE id = 1", params![report])?;
    // The photos go before the commit: a crash after it never leaves them behind (a crash
    // before it leaves the switch undone, and it is asked for again).
    let photos = crate::attachments::folder(&db_dir(tx)?);
    if photos.exists() {
        std::fs::remove_dir_all(&photos)?;
    }
    Ok(true)
}

/// The folder of the database `tx` writes to.
fn db_dir(tx: &Transaction<'_>) -> Result<PathBuf> {
    let file = tx.path().ok_or_else(|| CoreError::Corrupt("the store's database has no file".into()))?;
    Ok(Path::new(file).parent().map(Path::to_path_buf).unwrap_or_default())
}

/// Before a sync's first request: a discard not yet reported goes to HQ, with the token of the
/// device whose work it was. HQ refusing it for good (no authorisation on record, that token
/// revoked) drops it; HQ unreachable keeps it for the next sync.
pub(crate) async fn send_discard_report(store: &Store, timeout: Duration) -> Result<()> {
    let pending: Option<String> =
        store.read(|c| Ok(c.query_row("SELECT report FROM handover WHERE id = 1", [], |r| r.get(0))?))?;
    let Some(json) = pending else { return Ok(()) };
    let p: PendingReport = serde_json::from_str(&json)?;
    let t = Transport::new(&p.hq_url, Some(p.token), timeout)?;
    let req = DiscardReport { discarded: p.discarded, to_worker_id: p.to_worker_id };
    match t.post::<_, DiscardRecorded>("/v1/discarded", &req).await {
        Ok(_) => {}
        Err(f) if f.retryable => return Err(f.error),
        Err(f) if matches!(f.error, CoreError::HqUnreachable { .. }) => return Err(f.error),
        Err(_) => {}
    }
    store.write_tx(|tx| {
        tx.execute("UPDATE handover SET report = NULL WHERE id = 1", [])?;
        Ok(())
    })
}
