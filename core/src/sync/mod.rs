//! The sync client: push the outbox, upload photos, pull HQ's changes — in that order, so a
//! download never lands on top of work that has not been sent. Every response's server time
//! feeds the hybrid logical clock, and each push reports the device clock so HQ can record
//! the skew. What HQ acknowledges, and the pull cursors, are committed in the same SQLite
//! transaction as the data they describe.

pub(crate) mod apply;
mod backoff;
mod fuzz;
pub(crate) mod http;

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use gridpatrol_protocol::wire::*;
use rusqlite::params;
use serde::Serialize;

pub use backoff::Backoff;
pub use http::WireStats;
use http::{Failure, Transport};

use crate::store::{Store, StoreOptions};
use crate::{CoreError, Result};

/// Tuning of one sync run. The defaults suit a 2G link.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Most outbox rows in one push.
    pub batch_ops: usize,
    /// Most JSON bytes (before compression) in one push.
    pub batch_bytes: usize,
    /// Photo upload chunk size.
    pub chunk_bytes: usize,
    /// The pull page budget HQ is asked to respect.
    pub pull_max_bytes: u64,
    /// Tries per request before the run gives up (the records stay queued).
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub timeout: Duration,
    /// Most pushes on the wire at once (1: each waits for the answer to the one before).
    pub in_flight: usize,
    /// How long acknowledged outbox rows are kept after they were recorded (device clock), so
    /// that an HQ restored from a backup up to this old gets them again (docs/SYNC.md,
    /// guarantee 9). Pruned after each successful sync.
    pub outbox_retention: Duration,
    /// What this run may send and for how long (the app's choice; default: everything, no
    /// time limit).
    pub mode: SyncMode,
    /// Stops the run as losing the network would (see [`SyncCancel`]). Clone it before
    /// passing the options, and call `cancel()` on the clone.
    pub cancel: SyncCancel,
}

/// What a sync run sends, and within what time: the app's part of [`SyncOptions`]
/// (`GridPatrolStore::sync_with` in the bindings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncMode {
    /// Records only, or records and photos (the default). (No default in the bindings: uniffi
    /// takes enum defaults only from UDL.)
    pub send: SyncSend,
    /// The network the phone is on, as the shell knows it (Android
    /// `NetworkCapabilities.NET_CAPABILITY_NOT_METERED`, iOS `NWPath.isExpensive`).
    pub network: NetworkKind,
    /// Stop cleanly once this many milliseconds have passed since the run began (iOS gives a
    /// background task ~30 s). What is committed stays, a request in flight is dropped (as if
    /// the network went), and the report says `stopped_on_budget` and what is left. None: no
    /// limit.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub time_budget_ms: Option<u64>,
    /// Photos wait for an unmetered network (Wi-Fi): on a metered one only records go.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub photos_wait_for_unmetered: bool,
}

/// What a sync run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncSend {
    /// Records only: photos stay queued for a later run.
    RecordsOnly,
    /// Records, then photos.
    #[default]
    RecordsAndPhotos,
}

/// The kind of network the phone is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NetworkKind {
    /// Billed by volume (mobile data).
    Metered,
    /// Wi-Fi or anything not billed by volume (and what is assumed when the shell does not say).
    #[default]
    Unmetered,
}

impl SyncMode {
    /// Whether this run uploads photos.
    pub fn sends_photos(&self) -> bool {
        match self.send {
            SyncSend::RecordsOnly => false,
            SyncSend::RecordsAndPhotos => !(self.photos_wait_for_unmetered && self.network == NetworkKind::Metered),
        }
    }
}

/// Cancels a running sync; cheap to clone (clones cancel the same runs). Cancelling is
/// exactly as safe as losing the network: every step the sync commits is one transaction with
/// its bookkeeping, a request in flight is dropped, and the next sync resumes (HQ answers a
/// resent record as "duplicate", a photo resumes from the bytes HQ has). The run returns its
/// report with `cancelled` set. A cancel handle stays cancelled: use a new one for the next run.
#[derive(Clone, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Object))]
pub struct SyncCancel {
    inner: std::sync::Arc<CancelInner>,
}

#[derive(Default)]
struct CancelInner {
    cancelled: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl std::fmt::Debug for SyncCancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncCancel").field("cancelled", &self.is_cancelled()).finish()
    }
}

impl SyncCancel {
    pub fn new() -> SyncCancel {
        SyncCancel::default()
    }

    /// Stop the runs that use this handle at their next step or network wait.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(feature = "uniffi")]
#[uniffi::export]
impl SyncCancel {
    /// A new, not yet cancelled handle.
    #[uniffi::constructor(name = "new")]
    pub fn ffi_new() -> std::sync::Arc<SyncCancel> {
        std::sync::Arc::new(SyncCancel::new())
    }

    /// Stop the sync that was given this handle (safe at any point: as losing the network).
    #[uniffi::method(name = "cancel")]
    pub fn ffi_cancel(&self) {
        self.cancel();
    }

    /// Whether `cancel` was called.
    #[uniffi::method(name = "is_cancelled")]
    pub fn ffi_is_cancelled(&self) -> bool {
        self.is_cancelled()
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Budget,
    Cancelled,
}

/// A run's deadline and cancel handle: every network wait races them, and the run checks
/// them between its steps. Stopping only ever drops a future that is waiting on the network;
/// commits have no await inside, so none is cut in half.
struct Stop {
    deadline: Option<tokio::time::Instant>,
    cancel: SyncCancel,
    fired: std::sync::Mutex<Option<StopReason>>,
}

/// The error a stopped step returns inside the run; `Store::sync` turns it into a report.
fn stopped_error() -> CoreError {
    CoreError::HqUnreachable { reason: "the sync was stopped (time budget or cancel)".into() }
}

impl Stop {
    fn new(o: &SyncOptions) -> Stop {
        let deadline = o.mode.time_budget_ms.map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
        Stop { deadline, cancel: o.cancel.clone(), fired: std::sync::Mutex::new(None) }
    }

    fn fire(&self, reason: StopReason) -> CoreError {
        let mut fired = self.fired.lock().unwrap_or_else(|p| p.into_inner());
        fired.get_or_insert(reason);
        stopped_error()
    }

    fn fired(&self) -> Option<StopReason> {
        *self.fired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Between steps: is it time to stop?
    fn check(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(self.fire(StopReason::Cancelled));
        }
        if self.deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return Err(self.fire(StopReason::Budget));
        }
        Ok(())
    }

    /// A network wait, dropped when the budget runs out or the run is cancelled.
    async fn guard<T>(&self, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        self.check()?;
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = fut => r,
            () = self.cancel.cancelled() => Err(self.fire(StopReason::Cancelled)),
            () = deadline => Err(self.fire(StopReason::Budget)),
        }
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            batch_ops: 1000,
            // ~1 MB of JSON compresses to roughly a tenth: a few seconds on a 2G uplink.
            batch_bytes: 1024 * 1024,
            chunk_bytes: 256 * 1024,
            pull_max_bytes: 512 * 1024,
            max_attempts: 4,
            backoff: Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(30) },
            timeout: Duration::from_secs(30),
            in_flight: 8,
            outbox_retention: Duration::from_secs(30 * 24 * 3600),
            mode: SyncMode::default(),
            cancel: SyncCancel::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncPhase {
    Pushing,
    UploadingPhotos,
    Pulling,
    Done,
}

impl SyncPhase {
    pub fn label(&self) -> &'static str {
        match self {
            SyncPhase::Pushing => "发送记录 (sending records)",
            SyncPhase::UploadingPhotos => "上传照片 (uploading photos)",
            SyncPhase::Pulling => "接收任务 (receiving tasks and updates)",
            SyncPhase::Done => "同步完成 (sync finished)",
        }
    }
}

#[cfg(feature = "uniffi")]
#[uniffi::export]
impl SyncPhase {
    /// "中文 (English)", e.g. "上传照片 (uploading photos)".
    #[uniffi::method(name = "label")]
    pub fn ffi_label(&self) -> String {
        self.label().to_string()
    }
}

/// Progress while a sync runs (for the shells' progress bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi(name = "SyncProgress"))]
pub struct Progress {
    pub phase: SyncPhase,
    pub done: u64,
    pub total: u64,
}

pub trait SyncProgress: Send + Sync {
    fn on_progress(&self, progress: Progress);
}

/// A listener that ignores progress.
pub struct NoProgress;
impl SyncProgress for NoProgress {
    fn on_progress(&self, _: Progress) {}
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    pub pushed: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub conflicts: u64,
    pub photos_uploaded: u64,
    pub tasks_received: u64,
    pub cases_received: u64,
    pub reference_updated: bool,
    pub requests: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Records still not at HQ after this run (recorded while it ran, or refused).
    pub unsent_after: u64,
    /// The run stopped because its time budget (`SyncMode::time_budget_ms`) ran out; what is
    /// left is below. Nothing is half-written: the next sync carries on.
    pub stopped_on_budget: bool,
    /// The run was cancelled (`SyncCancel`); as safe as losing the network.
    pub cancelled: bool,
    /// Photos are waiting that this run did not send (records only, or waiting for an
    /// unmetered network).
    pub photos_held_back: bool,
    /// Records still to send after this run (the same as `unsent_after`).
    pub records_left: u64,
    /// Photos still to upload after this run, and their bytes not yet at HQ.
    pub photos_left: u64,
    pub photo_bytes_left: u64,
}

impl SyncReport {
    /// Did this run change anything a screen shows?
    pub fn changed_data(&self) -> bool {
        self.pushed > 0
            || self.photos_uploaded > 0
            || self.tasks_received > 0
            || self.cases_received > 0
            || self.reference_updated
    }
}

/// What the phone knows about its HQ. Seqs here are the outbox's own numbers; on the wire
/// they are counted from `base` (the current identity's epoch starts after it).
struct Link {
    hq_url: String,
    token: String,
    acked_through: i64,
    cursors: PullCursors,
    device_id: String,
    epoch: i64,
    base: i64,
    /// This store is a copy of another installation's: take an identity of its own first.
    needs_identity: bool,
}

impl Store {
    /// Enrol a phone with HQ: trade the one-time code for a device token, receive the worker's
    /// reference data, and create (or re-enrol) the store in `dir`.
    pub async fn enrol(dir: &Path, hq_url: &str, code: &str, opts: StoreOptions) -> Result<Store> {
        Store::enrol_device(dir, hq_url, code, None, opts).await
    }

    /// `enrol` with the platform's stable device id (Android's ANDROID_ID, iOS's
    /// identifierForVendor), so a reinstalled app keeps its id; HQ then gives the new install a
    /// new epoch, and its sequence numbers, which restart at 1, are never taken for duplicates.
    /// An existing store keeps its own id.
    pub async fn enrol_device(
        dir: &Path,
        hq_url: &str,
        code: &str,
        device_id: Option<&str>,
        opts: StoreOptions,
    ) -> Result<Store> {
        let code = code.trim();
        if let Some(id) = device_id {
            crate::validate::id("device_id", id)?;
        }
        if code.is_empty() || code.len() > 64 {
            return Err(CoreError::invalid("code", "must be 1..64 characters"));
        }
        if let Some(id) = &opts.installation_id {
            crate::store::check_installation_id(id)?;
        }
        let existing = Store::open(dir, opts.clone()).ok();
        let (device_id, installation_id) = match &existing {
            Some(s) => (s.device().device_id, s.read(crate::store::installation_id)?),
            None => (
                device_id.map(str::to_string).unwrap_or_else(crate::new_id),
                opts.installation_id.clone().unwrap_or_else(crate::new_id),
            ),
        };
        drop(existing);
        let timeout = SyncOptions::default().timeout;
        let t = Transport::new(hq_url, None, timeout)?;
        let req = EnrolRequest {
            code: code.to_string(),
            device_id: device_id.clone(),
            epoch: 0,
            app_version: env!("CARGO_PKG_VERSION").into(),
            installation_id: Some(installation_id.clone()),
        };
        let resp: EnrolResponse = match t.post("/v1/enrol", &req).await {
            Ok(r) => r,
            // HQ ordered the device this store was wiped: that happens now.
            Err(f) if matches!(f.error, CoreError::DeviceWiped) => {
                return Err(crate::wipe::wipe_at_enrolment(dir, opts, timeout).await)
            }
            Err(f) => return Err(f.error),
        };
        Store::init_enrolled(dir, &resp, &device_id, &installation_id, hq_url, opts)
    }

    /// Push, upload photos, pull. Safe to call at any time (connectivity back, OS background
    /// job, the worker's button); concurrent calls are serialised by the caller's scheduler.
    ///
    /// `options.mode` bounds the run in time and says what it sends; `options.cancel` stops it.
    /// A run stopped either way returns its report (`stopped_on_budget` or `cancelled`, and
    /// what is left), not an error: what it committed stays, nothing is half-written.
    ///
    /// HQ answering that this phone must be wiped (a lost phone) erases the store and its
    /// photos here, confirms to HQ and returns `DeviceWiped`, as every operation does from then
    /// on (`crate::wipe`).
    pub async fn sync(&self, options: &SyncOptions, progress: &dyn SyncProgress) -> Result<SyncReport> {
        if self.is_wiped() {
            return crate::wipe::sync_wiped(self, options.timeout).await;
        }
        let run = async {
            crate::wipe::send_discard_report(self, options.timeout).await?;
            self.sync_run(options, progress).await
        };
        match run.await {
            Err(CoreError::DeviceWiped) => {
                // Erased even when the confirmation cannot go now (the next sync sends it).
                let _ = crate::wipe::carry_out(self, options.timeout).await;
                Err(CoreError::DeviceWiped)
            }
            other => other,
        }
    }

    async fn sync_run(&self, options: &SyncOptions, progress: &dyn SyncProgress) -> Result<SyncReport> {
        let stop = Stop::new(options);
        let mut link = self.link()?;
        self.note_sync_attempt()?;
        let mut report = SyncReport::default();
        let mut result = Ok(());
        // HQ may find this store's history forked from another copy's only when it pushes: the
        // store then takes an identity of its own and pushes again. A pull may show HQ behind
        // what it acknowledged (restored from an older backup): the store then sends again from
        // HQ's cursor. Each at most once a run.
        let mut forked = false;
        let mut rewound = false;
        for _ in 0..3 {
            if link.needs_identity {
                if let Err(e) = self.take_identity(&link, options, &stop, &mut report).await {
                    result = Err(e);
                    break;
                }
                link = self.link()?;
            }
            let t = std::sync::Arc::new(Transport::new(&link.hq_url, Some(link.token.clone()), options.timeout)?);
            let outcome = self.sync_inner(&t, link, options, &stop, progress, &mut report).await;
            let stats = t.stats();
            report.requests += stats.requests;
            report.bytes_sent += stats.bytes_sent;
            report.bytes_received += stats.bytes_received;
            match outcome {
                Err(CoreError::HqRefused { code, .. }) if code == codes::HISTORY_FORKED && !forked => {
                    forked = true;
                    link = self.link()?;
                    link.needs_identity = true;
                }
                Ok(Round::HqBehind) if !rewound => {
                    rewound = true;
                    link = self.link()?;
                }
                other => {
                    result = other.map(|_| ());
                    break;
                }
            }
        }
        // A stop is not a failure: the run ends with its report of what is left.
        let stopped = stop.fired();
        if stopped.is_some() {
            result = Ok(());
        }
        report.stopped_on_budget = stopped == Some(StopReason::Budget);
        report.cancelled = stopped == Some(StopReason::Cancelled);
        report.unsent_after = self.read(crate::store::unsent_records)?;
        report.records_left = report.unsent_after;
        (report.photos_left, report.photo_bytes_left) = self.read(apply::photos_left)?;
        report.photos_held_back = !options.mode.sends_photos() && report.photos_left > 0;
        if stopped.is_some() {
            return Ok(report);
        }
        if result.is_ok() {
            let keep = i64::try_from(options.outbox_retention.as_millis()).unwrap_or(i64::MAX);
            let cutoff = self.now_ms().saturating_sub(keep);
            self.write_tx_lazy(|tx| apply::prune_outbox(tx, cutoff))?;
        }
        self.note_sync_outcome(result.as_ref().err())?;
        result.map(|()| {
            progress.on_progress(Progress { phase: SyncPhase::Done, done: 1, total: 1 });
            report
        })
    }

    /// This store is a copy of another installation's (noticed at open, or HQ answered
    /// `history_forked`): ask HQ for an identity of its own, with the token the copies share.
    /// Every outbox row HQ has not acknowledged to this store goes again under it, numbered
    /// from 1; HQ answers "duplicate" for any it already has. The other copy keeps the old
    /// identity. The worker is told in plain words (`SyncSummary::notice`).
    async fn take_identity(&self, link: &Link, o: &SyncOptions, stop: &Stop, report: &mut SyncReport) -> Result<()> {
        let t = Transport::new(&link.hq_url, Some(link.token.clone()), o.timeout)?;
        let req = ForkRequest { installation_id: self.read(crate::store::installation_id)? };
        let resp: Result<ForkResponse> =
            stop.guard(async { retrying(o, || t.post("/v1/fork", &req)).await.map_err(|f| f.error) }).await;
        let stats = t.stats();
        report.requests += stats.requests;
        report.bytes_sent += stats.bytes_sent;
        report.bytes_received += stats.bytes_received;
        let resp = resp?;
        crate::validate::id("device_id", &resp.device_id)?;
        if resp.epoch < 1 {
            return Err(CoreError::Corrupt("HQ answered a fork with an epoch below 1".into()));
        }
        self.observe_hq_time(resp.server_time_ms);
        let now = self.now_ms();
        let device = self.write_tx(|tx| {
            tx.execute(
                "UPDATE device SET device_id = ?1, epoch = ?2, needs_identity = 0,
                     seq_base = (SELECT acked_through_seq FROM sync_state WHERE id = 1)
                 WHERE id = 1",
                params![resp.device_id, resp.epoch],
            )?;
            tx.execute(
                "UPDATE sync_state SET device_token = ?1, reconciled_ms = ?2 WHERE id = 1",
                params![resp.device_token, now],
            )?;
            crate::store::read_device(tx)?.ok_or(CoreError::NotInitialised)
        })?;
        self.set_device(device);
        Ok(())
    }

    async fn sync_inner(
        &self,
        t: &std::sync::Arc<Transport>,
        mut link: Link,
        o: &SyncOptions,
        stop: &Stop,
        progress: &dyn SyncProgress,
        report: &mut SyncReport,
    ) -> Result<Round> {
        stop.check()?;
        // 1. Push the outbox, oldest first, in bounded batches. Up to `o.in_flight` pushes are
        // on the wire at once (HQ puts racing pushes of one phone back in sequence order; its
        // cursor check stays the rule), and their flight time does the local work: the
        // previous answer is written, the next batches are read and encoded. That assumes each
        // push is acknowledged whole, as nearly always; when one is not, or HQ answers
        // `seq_gap` to a push sent behind another, everything in flight is dropped and the
        // pushes go again from HQ's cursor, one at a time until an answer is as expected.
        // Answers are written in order, each in one transaction as before; one not yet
        // written when the app dies only means those records go again and HQ answers
        // "duplicate".
        let total = self.read(crate::store::unsent_records)?;
        let mut unwritten: Option<PushResponse> = None;
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        // The first push is small: its answer says quickly whether the link is fast enough
        // to keep several on the wire, and HQ starts writing sooner. One full push follows it
        // at once (no more than a single push would cost a slow link).
        let mut next = self.prepare_push(&link, link.acked_through, o, o.batch_ops.min(FIRST_PUSH_OPS))?;
        let mut in_step = false;
        let mut slow = false;
        let mut probing = o.in_flight > 1;
        loop {
            // More than one on the wire only while answers come back quickly: on a slow link
            // the pushes would only share its bandwidth, and one overtaken could cost a resend.
            let limit = if in_step && !slow {
                o.in_flight.max(1)
            } else if probing {
                2
            } else {
                1
            };
            while in_flight.len() < limit {
                let Some(push) = next.take() else { break };
                let follows = in_flight.back().map(|f: &InFlight| f.push.last_seq - link.base);
                let headers: Vec<(&'static str, String)> =
                    follows.map(|s| (FOLLOWS_HEADER, s.to_string())).into_iter().collect();
                // A task of its own, so that the request travels (connection, body, answer)
                // while this task reads and encodes the next batch.
                let (t, o2, body) = (t.clone(), o.clone(), push.body.clone());
                let answer = Spawned(tokio::spawn(async move {
                    retrying(&o2, move || {
                        let (body, headers) = (body.to_vec(), headers.clone());
                        let t = t.clone();
                        async move { t.post_encoded_with::<PushResponse>("/v1/push", body, &headers).await }
                    })
                    .await
                }));
                let after = push.last_seq;
                in_flight.push_back(InFlight {
                    overlapped: follows.is_some(),
                    push,
                    answer,
                    sent: std::time::Instant::now(),
                });
                next = self.prepare_push(&link, after, o, o.batch_ops)?;
            }
            let Some(mut sent) = in_flight.pop_front() else { break };
            if let Some(resp) = unwritten.take() {
                self.write_push_results(&resp, report)?;
            }
            // HQ counts this identity's seqs from 1: back to the outbox's own numbers.
            // A stop drops this push (and those behind it) on the wire: as if the network went.
            let answer = stop.guard(async { Ok((&mut sent.answer).await) }).await?;
            let result = answer.map(|r| local_seqs(r, link.base)).map_err(|mut f| {
                f.expected_seq = f.expected_seq.map(|e| e + link.base);
                f
            });
            slow = sent.sent.elapsed() > SLOW_PUSH;
            probing = false;
            match result {
                Ok(mut resp) => {
                    self.observe_hq_time(resp.server_time_ms);
                    report.pushed += sent.push.ops as u64;
                    // Never beyond what this push carried: HQ's cursor past it may be another
                    // copy's work (then this store's own next seqs are a forked history, which
                    // HQ will say when they arrive), so it must not acknowledge ours unsent.
                    let acked = resp.acked_through_seq.min(sent.push.last_seq);
                    resp.acked_through_seq = acked;
                    if acked <= link.acked_through {
                        self.write_push_results(&resp, report)?;
                        return Err(CoreError::HqRefused {
                            status: 200,
                            code: "no_progress".into(),
                            message: "HQ acknowledged nothing new".into(),
                        });
                    }
                    link.acked_through = acked;
                    unwritten = Some(resp);
                    in_step = acked == sent.push.last_seq;
                    if !in_step {
                        in_flight.clear();
                        next = self.prepare_push(&link, acked, o, o.batch_ops)?;
                    }
                }
                // Sent behind another push, it may only have overtaken that one: again, alone.
                Err(Failure { expected_seq: Some(_), .. }) if sent.overlapped => {
                    in_flight.clear();
                    in_step = false;
                    next = self.prepare_push(&link, link.acked_through, o, o.batch_ops)?;
                }
                // HQ has everything before `expected_seq` (say HQ was restored from a backup, or
                // acknowledged more than we recorded): continue from there.
                Err(Failure { expected_seq: Some(expected), .. }) => {
                    in_flight.clear();
                    in_step = false;
                    link.acked_through = match self.write_tx(|tx| apply::rewind_to(tx, expected - 1))? {
                        Ok(through) => through,
                        Err(gap) => return Err(beyond_retention(gap)),
                    };
                    next = self.prepare_push(&link, link.acked_through, o, o.batch_ops)?;
                }
                Err(f) => return Err(f.error),
            }
            progress.on_progress(Progress { phase: SyncPhase::Pushing, done: report.pushed.min(total), total });
        }
        if let Some(resp) = unwritten.take() {
            self.write_push_results(&resp, report)?;
        }

        // 2. Photos, on their own queue so they never hold back the records above (and left
        // for a later run when the app asks for records only, or for Wi-Fi on mobile data).
        let pending = if o.mode.sends_photos() { self.read(apply::pending_photos)? } else { Vec::new() };
        let n = pending.len() as u64;
        for (i, (sha, _file_name, size, _noted)) in pending.into_iter().enumerate() {
            self.upload_photo(t, o, stop, &sha, size).await?;
            report.photos_uploaded += 1;
            progress.on_progress(Progress { phase: SyncPhase::UploadingPhotos, done: i as u64 + 1, total: n });
        }

        // 3. Pull, page by page; each page and its cursors commit together.
        let mut pages = 0;
        let mut hq_behind = None;
        loop {
            // What is still unsent after the push and the photos: HQ shows it to the office.
            let unsent = Some(self.read(crate::wipe::unsent_counts)?);
            let req = PullRequest { cursors: link.cursors.clone(), max_bytes: Some(o.pull_max_bytes), unsent };
            let resp: PullResponse =
                stop.guard(async { retrying(o, || t.post("/v1/pull", &req)).await.map_err(|f| f.error) }).await?;
            self.observe_hq_time(resp.server_time_ms);
            // HQ's cursor below what it acknowledged to this store: HQ lost pushes.
            if let Some(hq_acked) = resp.acked_through_seq.map(|s| s + link.base) {
                if hq_acked < link.acked_through && hq_behind.is_none() {
                    hq_behind = Some(hq_acked);
                }
            }
            let worker = self.device().worker_id.clone();
            let acked = link.acked_through;
            let changed_reference = resp.reference.is_some();
            self.write_tx_lazy(|tx| {
                crate::wipe::note_discard_authorisation(tx, resp.discard_authorised)?;
                apply::pull_page(tx, &worker, acked, &resp, self.now_ms())
            })?;
            if changed_reference {
                self.reload_refdata()?;
                report.reference_updated = true;
            }
            report.tasks_received += resp.tasks.len() as u64;
            report.cases_received += resp.cases.len() as u64;
            link.cursors = resp.cursors.clone();
            pages += 1;
            progress.on_progress(Progress { phase: SyncPhase::Pulling, done: pages, total: pages + resp.more as u64 });
            if !resp.more {
                break;
            }
        }
        if let Some(hq_acked) = hq_behind {
            // Sent again from HQ's cursor, in another round of this run (docs/SYNC.md, 9).
            if let Err(gap) = self.write_tx(|tx| apply::rewind_to(tx, hq_acked))? {
                return Err(beyond_retention(gap));
            }
            return Ok(Round::HqBehind);
        }
        Ok(Round::Done)
    }

    /// The next batch after `after`, as the request body to send; None when there is none.
    /// The body is `wire::PushRequest`'s JSON, written by `wire::PushWriter` (see
    /// `apply::next_batch`).
    fn prepare_push(&self, link: &Link, after: i64, o: &SyncOptions, max_ops: usize) -> Result<Option<PreparedPush>> {
        let mut json = Vec::with_capacity(o.batch_bytes.min(4 << 20) + 256);
        let hlc = self.current_hlc().to_string();
        let mut w = PushWriter::begin(&mut json, &link.device_id, link.epoch, self.now_ms(), Some(&hlc));
        let base = link.base;
        let Some(last_seq) = self.read(|c| apply::next_batch(c, after, base, max_ops, o.batch_bytes, &mut w))? else {
            return Ok(None);
        };
        let ops = w.ops();
        w.finish();
        Ok(Some(PreparedPush { last_seq, ops, body: std::sync::Arc::new(http::gzip(&json)?) }))
    }

    /// Settle one push's answer locally (one transaction: results and HQ's cursor). An answer
    /// that only acknowledges need not wait for the disk (lost, the records go again and HQ
    /// answers "duplicate"); one with a refusal or a conflict must: the worker is to see it.
    fn write_push_results(&self, resp: &PushResponse, report: &mut SyncReport) -> Result<()> {
        let write = |tx: &rusqlite::Transaction<'_>| apply::push_results(tx, resp, self.now_ms());
        let only_acks = resp.results.iter().all(|r| matches!(r.status, OpStatus::Applied | OpStatus::Duplicate));
        let counts = if only_acks { self.write_tx_lazy(write)? } else { self.write_tx(write)? };
        report.applied += counts.applied;
        report.duplicates += counts.duplicates;
        report.rejected += counts.rejected;
        report.conflicts += counts.conflicts;
        Ok(())
    }

    async fn upload_photo(&self, t: &Transport, o: &SyncOptions, stop: &Stop, sha: &str, size: u64) -> Result<()> {
        let url = format!("/v1/attachments/{sha}");
        let status: AttachmentStatus =
            stop.guard(async { retrying(o, || t.get(&url)).await.map_err(|f| f.error) }).await?;
        if status.complete {
            return self.write_tx(|tx| apply::photo_uploaded(tx, sha, size));
        }
        // Resume from HQ's count, not the one this store noted (`photo_progress`): the content
        // is addressed by its hash, so HQ's count is the truth — more than noted when a chunk's
        // answer was lost or the run was stopped before it was written, less when HQ was
        // restored from an older backup.
        let mut offset = status.received_bytes.min(size);
        let bytes = self.read(|c| crate::attachments::photo_bytes(c, sha))?;
        while offset < size {
            let end = (offset + o.chunk_bytes as u64).min(size);
            let chunk = bytes[offset as usize..end as usize].to_vec();
            let range = format!("bytes {}-{}/{}", offset, end - 1, size);
            let headers = [("content-range", range)];
            let st: AttachmentStatus = stop
                .guard(async { retrying(o, || t.put_bytes(&url, chunk.clone(), &headers)).await.map_err(|f| f.error) })
                .await?;
            offset = st.received_bytes;
            self.write_tx(|tx| apply::photo_progress(tx, sha, offset))?;
            if st.complete {
                break;
            }
        }
        self.write_tx(|tx| apply::photo_uploaded(tx, sha, size))
    }

    fn link(&self) -> Result<Link> {
        self.read(|c| {
            let row: (Option<String>, Option<String>, i64, i64, i64, i64) = c.query_row(
                "SELECT hq_url, device_token, acked_through_seq, reference_version, tasks_cursor, cases_cursor
                 FROM sync_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )?;
            let (device_id, epoch, base, needs_identity): (String, i64, i64, bool) =
                c.query_row("SELECT device_id, epoch, seq_base, needs_identity FROM device WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
            match row {
                (Some(hq_url), Some(token), acked_through, reference, tasks, cases) => Ok(Link {
                    hq_url,
                    token,
                    acked_through,
                    cursors: PullCursors { reference, tasks, cases },
                    device_id,
                    epoch,
                    base,
                    needs_identity,
                }),
                _ => Err(CoreError::NotEnrolled),
            }
        })
    }

    fn note_sync_attempt(&self) -> Result<()> {
        let now = self.now_ms();
        self.write_tx_lazy(|tx| {
            tx.execute("UPDATE sync_state SET last_attempt_ms = ?1 WHERE id = 1", [now])?;
            Ok(())
        })
    }

    fn note_sync_outcome(&self, error: Option<&CoreError>) -> Result<()> {
        let now = self.now_ms();
        let message = error.map(plain_words);
        self.write_tx_lazy(|tx| {
            match &message {
                None => tx.execute(
                    "UPDATE sync_state SET last_success_ms = ?1, last_error = NULL WHERE id = 1",
                    params![now],
                )?,
                Some(m) => tx.execute("UPDATE sync_state SET last_error = ?1 WHERE id = 1", params![m])?,
            };
            Ok(())
        })
    }
}

/// The last-error text "today" shows the worker, in plain words.
fn plain_words(e: &CoreError) -> String {
    match e {
        CoreError::HqUnreachable { .. } => "无法连接指挥中心，记录已保存，有网络时自动发送 (HQ unreachable; your records are saved and will be sent when the network allows)".into(),
        CoreError::DeviceRevoked => "本机已被停用，请联系街道重新登记 (this phone was revoked; ask the street office to enrol it again)".into(),
        CoreError::RateLimited { retry_after_s } => format!("指挥中心繁忙，{retry_after_s} 秒后重试 (HQ busy; retrying in {retry_after_s} s)"),
        other => format!("同步出错 (sync error): {other}"),
    }
}

/// HQ lost rows this store no longer keeps: what it still holds goes again under an identity
/// of its own (the sync's fork path), HQ recognising by mutation id what it has.
fn beyond_retention(gap: apply::GapAfter) -> CoreError {
    CoreError::HqRefused {
        status: 409,
        code: codes::HISTORY_FORKED.into(),
        message: format!(
            "HQ holds this phone's records only through seq {}; older ones are past the outbox's retention",
            gap.0
        ),
    }
}

/// How one round of a sync ended.
enum Round {
    Done,
    /// HQ holds less than it acknowledged to this store; the outbox was rewound to HQ's cursor.
    HqBehind,
}

/// A push answer with its seqs moved from the identity's numbering to the outbox's.
fn local_seqs(mut resp: PushResponse, base: i64) -> PushResponse {
    if base != 0 {
        resp.acked_through_seq += base;
        for r in &mut resp.results {
            r.seq += base;
        }
    }
    resp
}

/// A push ready to go: its body encoded, and what it covers.
struct PreparedPush {
    last_seq: i64,
    ops: usize,
    body: std::sync::Arc<Vec<u8>>,
}

/// A push on the wire.
struct InFlight {
    push: PreparedPush,
    /// Sent while an earlier push was still unanswered.
    overlapped: bool,
    answer: Spawned,
    sent: std::time::Instant,
}

/// A push answer's task; dropping it (the pushes in flight are abandoned) cancels the request.
struct Spawned(tokio::task::JoinHandle<std::result::Result<PushResponse, Failure>>);

impl std::future::Future for Spawned {
    type Output = std::result::Result<PushResponse, Failure>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.unwrap_or_else(|e| Err(http::fatal(CoreError::HqUnreachable { reason: format!("push task: {e}") })))
        })
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Most operations in a run's first push (see `sync_inner`).
const FIRST_PUSH_OPS: usize = 100;

/// A push answered later than this keeps the next ones to one at a time.
const SLOW_PUSH: Duration = Duration::from_secs(1);

/// Run a request up to `max_attempts` times with full-jitter backoff, honouring Retry-After.
async fn retrying<T, F, Fut>(o: &SyncOptions, mut call: F) -> std::result::Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, Failure>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(f) if f.retryable && attempt + 1 < o.max_attempts => {
                tokio::time::sleep(o.backoff.delay(attempt, f.retry_after)).await;
                attempt += 1;
            }
            Err(f) => return Err(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{VisitOutcome, VisitType};
    use crate::records::Command;
    use crate::VisitInput;
    use std::io::Read;

    /// What the phone sends is a `wire::PushRequest` whose commands are the outbox's own,
    /// numbered from the identity's base.
    #[test]
    fn a_prepared_push_is_a_push_request() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), &crate::GridConfig::sample(), "w-001", StoreOptions::default()).unwrap();
        for _ in 0..3 {
            visit(&store, Some("引号 \" 和换行\n"));
        }
        let link = Link {
            hq_url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            acked_through: 0,
            cursors: PullCursors::default(),
            device_id: "d-1".into(),
            epoch: 4,
            base: 1,
            needs_identity: false,
        };
        let push = store.prepare_push(&link, 1, &SyncOptions::default(), 10).unwrap().unwrap();
        assert_eq!((push.ops, push.last_seq), (2, 3));
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&push.body[..]).read_to_end(&mut json).unwrap();
        let req: PushRequest<Command> = serde_json::from_slice(&json).unwrap();
        assert_eq!((req.device_id.as_str(), req.epoch), ("d-1", 4));
        let outbox = store.outbox(1, 10).unwrap();
        assert_eq!(req.ops.len(), outbox.len());
        for (op, row) in req.ops.iter().zip(&outbox) {
            assert_eq!(
                (op.seq, &op.mutation_id, &op.hlc, &op.command),
                (row.seq - 1, &row.mutation_id, &row.hlc, &row.command)
            );
        }
        assert!(store.prepare_push(&link, 3, &SyncOptions::default(), 10).unwrap().is_none());
    }

    /// A routine visit to h-0001 of the sample configuration.
    fn visit(store: &Store, note: Option<&str>) {
        store
            .record_visit(VisitInput {
                household_id: "h-0001".into(),
                visit_type: VisitType::Routine,
                outcome: VisitOutcome::Met,
                needs: vec![],
                note: note.map(str::to_string),
                satisfaction: None,
                case_id: None,
                location: None,
                occurred_at: None,
                datum: None,
            })
            .unwrap();
    }

    fn seqs(store: &Store) -> Vec<i64> {
        store.outbox(0, 100).unwrap().iter().map(|e| e.seq).collect()
    }

    /// What stays is one unbroken run up to the newest row, holding every unacknowledged and
    /// every recent row; numbering carries on after a prune and a reopen; a rewind past what
    /// stays is a gap (a new identity follows), never a hole in a push.
    #[test]
    fn the_outbox_keeps_an_unbroken_recent_run() {
        let dir = tempfile::tempdir().unwrap();
        let clock = std::sync::Arc::new(crate::ManualClock::new(1_000_000));
        let opts = StoreOptions { clock: clock.clone(), ..StoreOptions::default() };
        let store = Store::init(dir.path(), &crate::GridConfig::sample(), "w-001", opts.clone()).unwrap();
        for _ in 0..3 {
            visit(&store, None); // seqs 1..3, old
        }
        clock.set(9_000_000);
        visit(&store, None); // seq 4, recent
        clock.set(1_000_000);
        visit(&store, None); // seq 5, old again (the phone's clock jumped back)
        let ack = |n: i64| {
            store
                .write_tx(|tx| {
                    tx.execute("UPDATE sync_state SET acked_through_seq = ?1 WHERE id = 1", [n])?;
                    Ok(())
                })
                .unwrap()
        };
        ack(2);
        assert_eq!(store.write_tx(|tx| apply::prune_outbox(tx, 5_000_000)).unwrap(), 2);
        assert_eq!(seqs(&store), [3, 4, 5], "unacknowledged rows stay");
        ack(5);
        assert_eq!(store.write_tx(|tx| apply::prune_outbox(tx, 5_000_000)).unwrap(), 1);
        assert_eq!(seqs(&store), [4, 5], "from the oldest recent row on, unbroken");
        assert_eq!(store.write_tx(|tx| apply::prune_outbox(tx, i64::MAX)).unwrap(), 1);
        assert_eq!(seqs(&store), [5], "the newest always stays");
        // A rewind to seq 2 meets the gap: the store takes a new identity and sends from 5.
        let gap = store.write_tx(|tx| apply::rewind_to(tx, 2)).unwrap();
        assert!(matches!(gap, Err(apply::GapAfter(2))), "{gap:?}");
        let (acked, needs): (i64, bool) = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT acked_through_seq FROM sync_state), (SELECT needs_identity FROM device)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap();
        assert_eq!((acked, needs), (4, true));
        drop(store);
        let store = Store::open(dir.path(), opts).unwrap();
        visit(&store, None);
        assert_eq!(seqs(&store), [5, 6], "numbering carries on");
    }
}
