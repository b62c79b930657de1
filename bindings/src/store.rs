//! `GridPatrolStore`: the one object an app holds. Every method forwards to the core's
//! `Store`; what is added here is only FFI plumbing: the owned runtime the network calls run
//! on, one core store and one sync at a time per folder (however many handles the app
//! opens), and the app's listeners.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};
use std::time::Duration;

use gridpatrol_core as core;
use gridpatrol_core::sync::SyncOptions;

use crate::error::GridPatrolError;
use crate::settings::DeviceSettings;
use gridpatrol_core::screens::Screen;
use gridpatrol_core::sync::{Progress as SyncProgress, SyncReport};
use gridpatrol_core::{
    CaseEvent, CaseFilter, CaseInbox, CaseStepInput, CaseTimeline, CheckInInput, Checkpoint, DeviceInfo, FieldError,
    GridScreen, HouseholdQuery, Lang, Patrol, PatrolOutcome, PatrolScreen, PatrolShift, PendingUploads, Report,
    ReportForm, ReportInput, SyncStatusScreen, Task, TaskActionInput, TaskDetail, TaskInbox, Template, TodayView,
    TrackPoint, Visit, VisitForm, VisitInput,
};

use crate::watch::{
    CaseInboxWatch, CaseWatch, GridWatch, PatrolWatch, SyncStatusWatch, TaskInboxWatch, TaskWatch, TodayWatch, Watch,
};

type Result<T, E = GridPatrolError> = std::result::Result<T, E>;

// ---------- listeners the app implements ----------

/// Told how a running sync progresses (a progress bar). Called on a background thread.
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// Told when data a screen shows has changed: after each recording on this phone, and after
/// a sync that sent records or brought tasks, case updates or reference data (so a screen
/// refreshes after a background sync). Called on the thread that made the change; switch to
/// the UI thread before touching views. Re-read the view state (`today()`, …) in response.
#[uniffi::export(with_foreign)]
pub trait DataChangedListener: Send + Sync {
    fn on_data_changed(&self, change: DataChange);
}

/// Asked by the core to run a sync soon: implement it with the platform's scheduler (Android:
/// enqueue unique WorkManager work with a network constraint; iOS: a `BGProcessingTask` or a
/// `Task { try await store.sync(nil) }` while in the foreground). It should only schedule,
/// not sync inline. See `GridPatrolStore::network_changed`.
#[uniffi::export(with_foreign)]
pub trait SyncScheduler: Send + Sync {
    fn sync_wanted(&self, reason: SyncReason);
}

/// Gives the store its encryption key: 32 random bytes, made once for this installation and
/// the same at every call after. Keep it where neither backups nor copies of the app's files
/// reach, and never beside the store — Android: random bytes wrapped by an Android Keystore
/// AES key, in `noBackupFilesDir`; iOS: a Keychain item with
/// `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`. Called when a store is opened or
/// enrolled (on the calling thread). A store made before encryption is encrypted in place
/// with this key the first time.
#[uniffi::export(with_foreign)]
pub trait KeyProvider: Send + Sync {
    fn store_key(&self) -> std::result::Result<Vec<u8>, KeyProviderError>;
}

/// What a `KeyProvider` throws when it cannot give the key; the store then fails to open with
/// `GridPatrolError.KeyUnavailable` (nothing is created or changed).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyProviderError {
    #[error("key unavailable: {reason}")]
    Unavailable { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyProviderError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyProviderError::Unavailable { reason: e.reason }
    }
}

/// The key from the app's provider, checked (32 bytes).
fn store_key(provider: &Arc<dyn KeyProvider>) -> Result<core::StoreKey> {
    let bytes = zeroize::Zeroizing::new(
        provider
            .store_key()
            .map_err(|KeyProviderError::Unavailable { reason }| GridPatrolError::KeyUnavailable { reason })?,
    );
    Ok(core::StoreKey::from_bytes(&bytes)?)
}

/// Why the core asks for a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncReason {
    /// The app reported the network back after it was down (or after HQ was unreachable).
    NetworkRestored,
    /// Something was recorded while the network is up: send it soon (the app may debounce).
    RecordedWhileOnline,
}

/// What kind of record a recording call made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RecordKind {
    PatrolStarted,
    TrackPoints,
    CheckIn,
    PatrolFinished,
    Visit,
    Report,
    CaseStep,
    TaskStep,
    /// A refused record sent again (`id`: its outbox seq).
    Retried,
    /// A refused record discarded (`id`: its outbox seq).
    Discarded,
}

/// What changed, for `DataChangedListener`.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum DataChange {
    /// The worker recorded something on this phone; `id` is the record's (or patrol's, for
    /// track points) id.
    Recorded { kind: RecordKind, id: String },
    /// A sync finished and changed what the screens show.
    Synced { report: SyncReport },
    /// A sync failed: "today"'s last-sync line changed (records may have been sent before it
    /// failed). Nothing recorded is lost.
    SyncFailed,
}

// ---------- the runtime ----------

/// The one tokio runtime the network calls run on (the core's HTTP is reqwest). Owned rather
/// than borrowed from the caller: the sync's SQLite commits then never run on the app's UI
/// thread or on Python's event loop, whatever executor awaits the result.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gridpatrol-net")
            .enable_all()
            .build()
            .expect("start the GridPatrol network runtime")
    })
}

/// A spawned task that is aborted when the awaiting side goes away (a cancelled coroutine or
/// Swift `Task`, a cancelled asyncio task). Aborting a sync is like losing the network: every
/// step the core commits is atomic with its bookkeeping, and the next sync resumes.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) async fn run_on_runtime<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let mut task = AbortOnDrop(runtime().spawn(fut));
    match (&mut task.0).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(GridPatrolError::internal("a panic in the core during a network call")),
        Err(_) => Err(GridPatrolError::internal("the network call was cancelled")),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Call into the app without letting its failure undo work that is already committed.
fn call_app(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

// ---------- the store ----------

struct Listeners {
    next_id: AtomicU64,
    data: Mutex<Vec<(u64, Arc<dyn DataChangedListener>)>>,
    scheduler: Mutex<Option<Arc<dyn SyncScheduler>>>,
    /// The app's last connectivity hint: None until it gives one.
    online: Mutex<Option<bool>>,
}

impl Listeners {
    fn notify(&self, change: DataChange) {
        let listeners: Vec<_> = lock(&self.data).iter().map(|(_, l)| l.clone()).collect();
        for l in listeners {
            let c = change.clone();
            call_app(|| l.on_data_changed(c));
        }
    }

    fn want_sync(&self, reason: SyncReason) {
        let scheduler = lock(&self.scheduler).clone();
        if let Some(s) = scheduler {
            call_app(|| s.sync_wanted(reason));
        }
    }
}

struct ProgressAdapter(Option<Arc<dyn SyncProgressListener>>);

impl core::sync::SyncProgress for ProgressAdapter {
    fn on_progress(&self, progress: core::sync::Progress) {
        if let Some(l) = &self.0 {
            call_app(|| l.on_progress(progress));
        }
    }
}

/// What every handle on one folder shares in this process: the core's store (one writer
/// for the folder, so the outbox numbering cannot diverge between handles), the sync gate and
/// the listeners — so a screen listening on the UI's handle also hears a sync that a
/// background job ran through its own handle.
pub(crate) struct Shared {
    /// Swapped when the folder is enrolled again (say after `DeviceRevoked`): every open
    /// handle then uses the re-enrolled store.
    store: RwLock<Arc<core::Store>>,
    /// One sync at a time per folder: a second `sync()` waits for the first, then runs.
    sync_gate: Arc<tokio::sync::Mutex<()>>,
    listeners: Listeners,
}

impl Shared {
    /// The folder's store now (swapped when the folder is enrolled again).
    pub(crate) fn current(&self) -> Arc<core::Store> {
        self.store.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn new(store: core::Store) -> Arc<Shared> {
        Arc::new(Shared {
            store: RwLock::new(Arc::new(store)),
            sync_gate: Arc::new(tokio::sync::Mutex::new(())),
            listeners: Listeners {
                next_id: AtomicU64::new(1),
                data: Mutex::new(Vec::new()),
                scheduler: Mutex::new(None),
                online: Mutex::new(None),
            },
        })
    }
}

/// Open folders of this process, by canonical path.
fn registry() -> MutexGuard<'static, HashMap<PathBuf, Weak<Shared>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<Shared>>>> = OnceLock::new();
    let mut reg = lock(OPEN.get_or_init(Default::default));
    reg.retain(|_, w| w.strong_count() > 0);
    reg
}

fn folder_key(folder: &Path) -> PathBuf {
    std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf())
}

/// A worker's store on this phone: SQLite in a folder of the app's private storage, photos
/// beside it. Every recording call is durable when it returns (one transaction with its
/// outbox row). Safe to use from several threads at once; recording calls do disk I/O, so
/// call them off the UI thread (Kotlin: `Dispatchers.IO`; Swift: a background `Task`).
/// Handles opened on the same folder in one process share one store, one sync at a time and
/// their listeners; the first handle's time zone applies.
///
/// Kotlin: `AutoCloseable` — `GridPatrolStore.open(dir, DeviceSettings()).use { … }`, or keep
/// one for the app's lifetime and `close()` it at the end. Swift: released by `deinit` when
/// the last reference goes. Python: released when garbage-collected.
#[derive(uniffi::Object)]
pub struct GridPatrolStore {
    shared: Arc<Shared>,
    settings: DeviceSettings,
}

fn store_options(s: &DeviceSettings, key: core::StoreKey) -> core::StoreOptions {
    core::StoreOptions {
        key: Some(key),
        tz_offset_minutes: s.tz_offset_minutes,
        installation_id: s.installation_id.clone(),
        language: s.language.unwrap_or_default(),
        photos: s.photos.unwrap_or_default(),
        ..core::StoreOptions::default()
    }
}

impl GridPatrolStore {
    fn inner(&self) -> Arc<core::Store> {
        self.shared.current()
    }

    /// Run a recording call on the runtime's blocking pool (it waits for the disk), so that
    /// no app thread blocks on it; then tell the screens.
    async fn record<T: Send + 'static>(
        &self,
        kind: RecordKind,
        id_of: impl FnOnce(&T) -> String,
        call: impl FnOnce(&core::Store) -> core::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.inner();
        let value = run_on_runtime(async move {
            match tokio::task::spawn_blocking(move || call(&store)).await {
                Ok(r) => r.map_err(GridPatrolError::from),
                Err(_) => Err(GridPatrolError::internal("a recording call panicked")),
            }
        })
        .await?;
        let id = id_of(&value);
        Ok(self.recorded(kind, &id, value))
    }

    fn watch(&self, screen: Screen) -> Watch {
        Watch::new(self.shared.clone(), screen)
    }

    fn listeners(&self) -> &Listeners {
        &self.shared.listeners
    }

    /// After a successful recording call: tell the screens, and ask for a sync when online.
    fn recorded<T>(&self, kind: RecordKind, id: &str, value: T) -> T {
        self.listeners().notify(DataChange::Recorded { kind, id: id.to_string() });
        if *lock(&self.listeners().online) == Some(true) {
            self.listeners().want_sync(SyncReason::RecordedWhileOnline);
        }
        value
    }

    /// One sync at a time per folder, on the library's runtime; the listeners told after.
    async fn run_sync(
        &self,
        options: SyncOptions,
        progress: Option<Arc<dyn SyncProgressListener>>,
    ) -> Result<SyncReport> {
        let store = self.inner();
        let gate = self.shared.sync_gate.clone();
        let result = run_on_runtime(async move {
            let _one_at_a_time = gate.lock().await;
            store.sync(&options, &ProgressAdapter(progress)).await.map_err(GridPatrolError::from)
        })
        .await;
        match &result {
            Ok(report) if report.changed_data() => {
                self.listeners().notify(DataChange::Synced { report: report.clone() })
            }
            Ok(_) => {}
            Err(e) => {
                if matches!(e, GridPatrolError::HqUnreachable { .. }) {
                    // The next "network is back" hint asks for a sync again.
                    *lock(&self.listeners().online) = Some(false);
                }
                self.listeners().notify(DataChange::SyncFailed);
            }
        }
        result
    }

    fn sync_options(&self) -> SyncOptions {
        SyncOptions {
            timeout: Duration::from_millis(self.settings.sync_timeout_ms.max(1) as u64),
            max_attempts: self.settings.sync_max_attempts.max(1),
            ..SyncOptions::default()
        }
    }
}

#[uniffi::export]
impl GridPatrolStore {
    /// Open the store an earlier `enrol` created in `folder`, encrypted with the key from
    /// `keys`. `NotInitialised` if there is none; `StoreKeyWrong` when the key does not open
    /// it; `KeyUnavailable` when the provider throws.
    #[uniffi::constructor]
    pub fn open(folder: String, settings: DeviceSettings, keys: Arc<dyn KeyProvider>) -> Result<Arc<Self>> {
        let folder = PathBuf::from(folder);
        let store_key = store_key(&keys)?;
        let key = folder_key(&folder);
        let mut reg = registry();
        let shared = match reg.get(&key).and_then(Weak::upgrade) {
            Some(shared) if shared.current().opened_with(Some(&store_key)) => shared,
            Some(_) => return Err(GridPatrolError::StoreKeyWrong),
            None => {
                let shared = Shared::new(core::Store::open(&folder, store_options(&settings, store_key))?);
                reg.insert(key, Arc::downgrade(&shared));
                shared
            }
        };
        Ok(Arc::new(GridPatrolStore { shared, settings }))
    }

    /// Enrol this phone with HQ using the one-time code an HQ operator issued to the worker,
    /// and create (or re-enrol) the store in `folder`. `EnrolmentCodeInvalid` for a wrong,
    /// expired or used code; `HqUnreachable` without a network. Handles already open on the
    /// folder continue with the re-enrolled store. The store is encrypted with the key from
    /// `keys` (errors as `open`).
    #[uniffi::constructor]
    pub async fn enrol(
        folder: String,
        hq_url: String,
        code: String,
        settings: DeviceSettings,
        keys: Arc<dyn KeyProvider>,
    ) -> Result<Arc<Self>> {
        let folder = PathBuf::from(folder);
        let store_key = store_key(&keys)?;
        let existing = registry().get(&folder_key(&folder)).and_then(Weak::upgrade);
        if existing.as_ref().is_some_and(|s| !s.current().opened_with(Some(&store_key))) {
            return Err(GridPatrolError::StoreKeyWrong);
        }
        let gate = existing.as_ref().map(|s| s.sync_gate.clone());
        let opts = store_options(&settings, store_key);
        let device_id = settings.device_id.clone();
        let dir = folder.clone();
        let store = run_on_runtime(async move {
            // Not while a sync of the same folder runs.
            let _no_sync = match gate {
                Some(g) => Some(g.lock_owned().await),
                None => None,
            };
            core::Store::enrol_device(&dir, &hq_url, &code, device_id.as_deref(), opts)
                .await
                .map_err(GridPatrolError::from)
        })
        .await?;
        let mut reg = registry();
        let key = folder_key(&folder);
        let shared = match existing.or_else(|| reg.get(&key).and_then(Weak::upgrade)) {
            Some(shared) => {
                *shared.store.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(store);
                shared
            }
            None => Shared::new(store),
        };
        reg.insert(key, Arc::downgrade(&shared));
        Ok(Arc::new(GridPatrolStore { shared, settings }))
    }

    /// Who this device is.
    pub fn device(&self) -> DeviceInfo {
        self.inner().device()
    }

    /// HQ's wipe order, if one reached this phone (every other call then fails with
    /// `DeviceWiped`): how far it got, what it erased unsent, and whether HQ was told (the
    /// next `sync` tells it).
    pub fn wipe_status(&self) -> Result<Option<core::wipe::WipeStatus>> {
        Ok(core::wipe::status(self.inner().dir())?)
    }

    /// The checklist template new patrols start under (its item ids are what check-ins answer).
    pub fn active_template(&self) -> Template {
        self.inner().active_template()
    }

    // ----- 巡查 patrols -----

    /// Start a patrol in one of the worker's grids. One patrol at a time.
    pub async fn start_patrol(&self, grid_id: String, shift: PatrolShift) -> Result<Patrol> {
        self.record(RecordKind::PatrolStarted, |p: &Patrol| p.id.clone(), move |s| s.start_patrol(&grid_id, shift))
            .await
    }

    /// Append GPS fixes (1..1000 per call) to the patrol in progress; returns its point count.
    pub async fn add_track_points(&self, patrol_id: String, points: Vec<TrackPoint>) -> Result<u32> {
        let id = patrol_id.clone();
        self.record(RecordKind::TrackPoints, move |_| id, move |s| s.add_track_points(&patrol_id, &points)).await
    }

    /// Check in with the checklist answers. Outside the grid it is recorded and flagged.
    pub async fn check_in(&self, patrol_id: String, input: CheckInInput) -> Result<Checkpoint> {
        self.record(RecordKind::CheckIn, |c: &Checkpoint| c.id.clone(), move |s| s.check_in(&patrol_id, input)).await
    }

    /// Finish a patrol: "nothing found", or "findings" when reports were filed from it.
    pub async fn finish_patrol(
        &self,
        patrol_id: String,
        outcome: PatrolOutcome,
        note: Option<String>,
    ) -> Result<Patrol> {
        self.record(
            RecordKind::PatrolFinished,
            |p: &Patrol| p.id.clone(),
            move |s| s.finish_patrol(&patrol_id, outcome, note.as_deref()),
        )
        .await
    }

    // ----- 走访 visits, 上报 reports, cases, tasks -----

    /// Record a visit to a household in one of the worker's grids.
    pub async fn record_visit(&self, input: VisitInput) -> Result<Visit> {
        self.record(RecordKind::Visit, |v: &Visit| v.id.clone(), move |s| s.record_visit(input)).await
    }

    /// File a report with photos; it opens a case (`Report.case_id`).
    pub async fn file_report(&self, input: ReportInput) -> Result<Report> {
        self.record(RecordKind::Report, |r: &Report| r.id.clone(), move |s| s.file_report(input)).await
    }

    /// Move a case one step. Closing needs the six clear items (`ClearItemsMissing` names
    /// what is missing); closing straight from reported (即知即办) also needs a photo.
    pub async fn move_case(&self, input: CaseStepInput) -> Result<CaseEvent> {
        self.record(RecordKind::CaseStep, |e: &CaseEvent| e.id.clone(), move |s| s.move_case(input)).await
    }

    /// Acknowledge, set off for, or complete (with a result) a task from HQ.
    pub async fn act_on_task(&self, input: TaskActionInput) -> Result<Task> {
        self.record(RecordKind::TaskStep, |t: &Task| t.id.clone(), move |s| s.act_on_task(input)).await
    }

    // ----- screens (bindings/README.md has the table) -----

    /// The language every screen is labelled in.
    pub fn language(&self) -> Lang {
        self.inner().language()
    }

    /// Label every screen in `lang` from now on; watched screens are rendered again.
    pub fn set_language(&self, lang: Lang) {
        self.inner().set_language(lang)
    }

    /// The home screen: my grids with today's patrols, the patrol in progress, tasks and
    /// weekly-list items, must-visit households, open cases, unsent work, the last sync.
    pub fn today(&self) -> Result<TodayView> {
        Ok(self.inner().today()?)
    }

    /// One of my grids: boundary, buildings, households matching `query` (must-visit due
    /// first), recent patrols, cases.
    pub fn grid_screen(&self, grid_id: String, query: HouseholdQuery) -> Result<GridScreen> {
        Ok(self.inner().grid_screen(&grid_id, &query)?)
    }

    /// A patrol, running or past: checkpoints, the checklist form, the three parts and why.
    pub fn patrol_screen(&self, patrol_id: String) -> Result<PatrolScreen> {
        Ok(self.inner().patrol_screen(&patrol_id)?)
    }

    /// The visit form for a household.
    pub fn visit_form(&self, household_id: String) -> Result<VisitForm> {
        Ok(self.inner().visit_form(&household_id)?)
    }

    /// Every field `record_visit` would refuse, each naming its field; empty when it is fine.
    pub fn validate_visit(&self, input: VisitInput) -> Result<Vec<FieldError>> {
        Ok(self.inner().validate_visit(&input)?)
    }

    /// The report form: grids, categories (即报 marked), urgency, fields.
    pub fn report_form(&self) -> Result<ReportForm> {
        Ok(self.inner().report_form()?)
    }

    /// Every field `file_report` would refuse (photos are read when filed).
    pub fn validate_report(&self, input: ReportInput) -> Result<Vec<FieldError>> {
        Ok(self.inner().validate_report(&input)?)
    }

    /// The case inbox.
    pub fn case_inbox(&self, filter: CaseFilter) -> Result<CaseInbox> {
        Ok(self.inner().case_inbox(&filter)?)
    }

    /// A case's page: history, clear items, photos, the steps my role may take.
    pub fn case_timeline(&self, case_id: String) -> Result<CaseTimeline> {
        Ok(self.inner().case_timeline(&case_id)?)
    }

    /// The task inbox (weekly-list items apart).
    pub fn task_inbox(&self, include_closed: bool) -> Result<TaskInbox> {
        Ok(self.inner().task_inbox(include_closed)?)
    }

    /// A task's page: unit, location, caller (masked), history, the steps open now.
    pub fn task_detail(&self, task_id: String) -> Result<TaskDetail> {
        Ok(self.inner().task_detail(&task_id)?)
    }

    /// What has not reached HQ: waiting, refused (with what to do), photos and their bytes.
    pub fn sync_status(&self) -> Result<SyncStatusScreen> {
        Ok(self.inner().sync_status()?)
    }

    /// What has not reached HQ yet (at most `limit` items, 1..1000).
    pub fn pending_uploads(&self, limit: u32) -> Result<PendingUploads> {
        Ok(self.inner().pending_uploads(limit)?)
    }

    /// All tasks assigned to this worker, open ones first.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        Ok(self.inner().tasks()?)
    }

    /// Send a record HQ refused again (`Action.RetryRejected`).
    pub async fn retry_rejected(&self, seq: i64) -> Result<()> {
        self.record(RecordKind::Retried, move |_| seq.to_string(), move |s| s.retry_rejected(seq)).await
    }

    /// Discard a record HQ refused (`Action.DiscardRejected`); `confirmed` must be true, after
    /// asking the action's `confirm` question.
    pub async fn discard_rejected(&self, seq: i64, confirmed: bool) -> Result<()> {
        self.record(RecordKind::Discarded, move |_| seq.to_string(), move |s| s.discard_rejected(seq, confirmed)).await
    }

    // ----- watching screens: the model now, then each time it changes -----

    pub fn watch_today(&self) -> Arc<TodayWatch> {
        Arc::new(TodayWatch(self.watch(Screen::Today)))
    }

    pub fn watch_grid(&self, grid_id: String, query: HouseholdQuery) -> Arc<GridWatch> {
        Arc::new(GridWatch(self.watch(Screen::Grid { grid_id, query })))
    }

    pub fn watch_patrol(&self, patrol_id: String) -> Arc<PatrolWatch> {
        Arc::new(PatrolWatch(self.watch(Screen::Patrol { patrol_id })))
    }

    pub fn watch_case_inbox(&self, filter: CaseFilter) -> Arc<CaseInboxWatch> {
        Arc::new(CaseInboxWatch(self.watch(Screen::CaseInbox { filter })))
    }

    pub fn watch_case(&self, case_id: String) -> Arc<CaseWatch> {
        Arc::new(CaseWatch(self.watch(Screen::Case { case_id })))
    }

    pub fn watch_task_inbox(&self, include_closed: bool) -> Arc<TaskInboxWatch> {
        Arc::new(TaskInboxWatch(self.watch(Screen::TaskInbox { include_closed })))
    }

    pub fn watch_task(&self, task_id: String) -> Arc<TaskWatch> {
        Arc::new(TaskWatch(self.watch(Screen::Task { task_id })))
    }

    pub fn watch_sync_status(&self) -> Arc<SyncStatusWatch> {
        Arc::new(SyncStatusWatch(self.watch(Screen::SyncStatus)))
    }

    // ----- sync -----

    /// Send the outbox, upload photos, receive tasks and case updates. Safe to call at any
    /// time and from anywhere (connectivity back, a background job, the worker's button): calls
    /// on one store run one after the other. `HqUnreachable` leaves everything queued.
    /// Kotlin `suspend`, Swift `async throws`, Python `async`. Cancelling the caller stops the
    /// sync at its next network wait, which is safe.
    pub async fn sync(&self, progress: Option<Arc<dyn SyncProgressListener>>) -> Result<SyncReport> {
        self.run_sync(self.sync_options(), progress).await
    }

    // ----- listeners -----

    /// Register a listener for data changes; returns an id for `remove_data_changed_listener`.
    pub fn add_data_changed_listener(&self, listener: Arc<dyn DataChangedListener>) -> u64 {
        let id = self.listeners().next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.listeners().data).push((id, listener));
        id
    }

    pub fn remove_data_changed_listener(&self, id: u64) {
        lock(&self.listeners().data).retain(|(i, _)| *i != id);
    }

    /// Set (or clear) the app's sync scheduler.
    pub fn set_sync_scheduler(&self, scheduler: Option<Arc<dyn SyncScheduler>>) {
        *lock(&self.listeners().scheduler) = scheduler;
    }

    /// The app's connectivity hint (Android `ConnectivityManager.NetworkCallback`, iOS
    /// `NWPathMonitor`). When the network comes back after being down (or after a sync found HQ
    /// unreachable), the core asks the `SyncScheduler` for a sync and returns true; repeated
    /// "online" hints return false, so flapping callbacks do not pile up syncs. Apps without a
    /// scheduler call `sync()` themselves when this returns true.
    pub fn network_changed(&self, online: bool) -> bool {
        let was = lock(&self.listeners().online).replace(online);
        let restored = online && was != Some(true);
        if restored {
            self.listeners().want_sync(SyncReason::NetworkRestored);
        }
        restored
    }

    // ----- photos (kept inside the encrypted store), and a sync bounded in time -----

    /// The stored photo's bytes (JPEG, at most 1600 px on its longest side by default), by the
    /// SHA-256 a record lists (`Report.photos`, …): decode them for display (Android:
    /// `BitmapFactory.decodeByteArray`; iOS: `UIImage(data:)`). Photos live inside the
    /// encrypted store, never as files. `NotFound` (entity "attachment") for a hash this store
    /// does not hold.
    pub fn attachment_photo(&self, sha256: String) -> Result<Vec<u8>> {
        Ok(self.inner().attachment_photo(&sha256)?)
    }

    /// The photo's thumbnail for lists (JPEG, at most 320 px on its longest side by default).
    pub fn attachment_thumbnail(&self, sha256: String) -> Result<Vec<u8>> {
        Ok(self.inner().attachment_thumbnail(&sha256)?)
    }

    /// The photo's full-size original, kept only when HQ's template asks for it
    /// (`Template.keep_original_photos`); `NotFound` (entity "original photo") otherwise.
    pub fn attachment_original(&self, sha256: String) -> Result<Vec<u8>> {
        Ok(self.inner().attachment_original(&sha256)?)
    }

    /// `sync` with a mode: a time budget (the run stops cleanly and the report says
    /// `stopped_on_budget` and what is left), records only or records and photos, and photos
    /// only on an unmetered network (say which network the phone is on). `cancel`: a
    /// `SyncCancel` to stop the run from elsewhere, as safe as losing the network (the report
    /// then says `cancelled`). Runs one at a time with `sync`, and tells the listeners alike.
    pub async fn sync_with(
        &self,
        mode: core::sync::SyncMode,
        cancel: Option<Arc<core::sync::SyncCancel>>,
        progress: Option<Arc<dyn SyncProgressListener>>,
    ) -> Result<SyncReport> {
        let options =
            SyncOptions { mode, cancel: cancel.map(|c| (*c).clone()).unwrap_or_default(), ..self.sync_options() };
        self.run_sync(options, progress).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridpatrol_core::{VisitOutcome, VisitType};

    struct Seen<T>(Mutex<Vec<T>>);
    impl DataChangedListener for Seen<DataChange> {
        fn on_data_changed(&self, change: DataChange) {
            lock(&self.0).push(change);
        }
    }
    impl SyncScheduler for Seen<SyncReason> {
        fn sync_wanted(&self, reason: SyncReason) {
            lock(&self.0).push(reason);
        }
    }
    struct Panics;
    impl DataChangedListener for Panics {
        fn on_data_changed(&self, _: DataChange) {
            panic!("an app listener that fails");
        }
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn a_watched_screen_follows_recordings_and_the_language() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let watch = s.watch_today();
        block(async {
            let first = watch.next().await.unwrap();
            assert!(first.patrol.is_none());
            let p = s.start_patrol("g-0101".into(), PatrolShift::Night).await.unwrap();
            let next = watch.next().await.unwrap();
            assert_eq!(next.patrol.map(|x| x.patrol_id), Some(p.id));
            s.set_language(Lang::En);
            let english = watch.next().await.unwrap();
            assert_eq!(english.worker_role, "full-time grid worker");
            // Nothing changed: the next call waits (and is cancelled here by the timeout).
            let quiet = tokio::time::timeout(std::time::Duration::from_millis(200), watch.next()).await;
            assert!(quiet.is_err(), "an unchanged screen yields nothing");
        });
    }

    #[test]
    fn photo_settings_reach_the_store_and_bad_ones_are_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(store(dir.path()));
        let bad = DeviceSettings {
            photos: Some(core::photo::PhotoOptions { max_long_edge: 10, jpeg_quality: 80, thumbnail_long_edge: 5 }),
            ..DeviceSettings::default()
        };
        match GridPatrolStore::open(dir.path().display().to_string(), bad, keys(1)) {
            Err(GridPatrolError::InvalidInput { field, .. }) => assert!(field.starts_with("photos"), "{field}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        let small = DeviceSettings {
            photos: Some(core::photo::PhotoOptions { max_long_edge: 800, jpeg_quality: 70, thumbnail_long_edge: 160 }),
            ..DeviceSettings::default()
        };
        GridPatrolStore::open(dir.path().display().to_string(), small, keys(1)).unwrap();
    }

    /// A key provider for tests: the same 32 bytes every time, or a failure.
    struct FixedKey(Option<Vec<u8>>);

    impl KeyProvider for FixedKey {
        fn store_key(&self) -> std::result::Result<Vec<u8>, KeyProviderError> {
            self.0.clone().ok_or(KeyProviderError::Unavailable { reason: "keystore locked".into() })
        }
    }

    fn keys(b: u8) -> Arc<dyn KeyProvider> {
        Arc::new(FixedKey(Some(vec![b; 32])))
    }

    #[test]
    fn the_store_opens_only_with_its_key_and_a_failing_provider_is_typed() {
        let dir = tempfile::tempdir().unwrap();
        let first = store(dir.path());
        let path = dir.path().display().to_string();
        // A second handle on the open store must bring the same key.
        assert!(matches!(
            GridPatrolStore::open(path.clone(), DeviceSettings::default(), keys(2)),
            Err(GridPatrolError::StoreKeyWrong)
        ));
        assert!(GridPatrolStore::open(path.clone(), DeviceSettings::default(), keys(1)).is_ok());
        drop(first);
        assert!(matches!(
            GridPatrolStore::open(path.clone(), DeviceSettings::default(), keys(2)),
            Err(GridPatrolError::StoreKeyWrong)
        ));
        match GridPatrolStore::open(path.clone(), DeviceSettings::default(), Arc::new(FixedKey(None))) {
            Err(GridPatrolError::KeyUnavailable { reason }) => assert_eq!(reason, "keystore locked"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        match GridPatrolStore::open(path.clone(), DeviceSettings::default(), Arc::new(FixedKey(Some(vec![1; 16])))) {
            Err(GridPatrolError::InvalidInput { field, .. }) => assert_eq!(field, "key"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        let again = GridPatrolStore::open(path, DeviceSettings::default(), keys(1)).unwrap();
        assert_eq!(again.device().worker_id, "w-001");
        let head = std::fs::read(dir.path().join(core::store::DB_FILE)).unwrap();
        assert!(!head.starts_with(b"SQLite format 3"), "the clear store was encrypted at its first keyed open");
    }

    /// A store initialised from the sample configuration (no HQ: the suites cover that),
    /// clear text, then opened with key 1 (which encrypts it in place).
    fn store(dir: &std::path::Path) -> Arc<GridPatrolStore> {
        let cfg = core::GridConfig::sample();
        core::Store::init(dir, &cfg, "w-001", core::StoreOptions::default()).unwrap();
        GridPatrolStore::open(dir.display().to_string(), DeviceSettings::default(), keys(1)).unwrap()
    }

    #[test]
    fn listeners_hear_recordings_and_a_failing_listener_undoes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let seen = Arc::new(Seen(Mutex::new(Vec::new())));
        s.add_data_changed_listener(Arc::new(Panics));
        let id = s.add_data_changed_listener(seen.clone());
        let p = block(s.start_patrol("g-0101".into(), PatrolShift::Day)).unwrap();
        assert_eq!(
            lock(&seen.0).as_slice(),
            [DataChange::Recorded { kind: RecordKind::PatrolStarted, id: p.id.clone() }]
        );
        assert!(s.today().unwrap().patrol.is_some(), "the recording stands although a listener panicked");
        s.remove_data_changed_listener(id);
        block(s.finish_patrol(p.id, PatrolOutcome::NothingFound, None)).unwrap();
        assert_eq!(lock(&seen.0).len(), 1);
    }

    #[test]
    fn handles_on_one_folder_share_the_store_and_the_listeners() {
        let dir = tempfile::tempdir().unwrap();
        let first = store(dir.path());
        let seen = Arc::new(Seen(Mutex::new(Vec::new())));
        first.add_data_changed_listener(seen.clone());
        let second =
            GridPatrolStore::open(format!("{}/.", dir.path().display()), DeviceSettings::default(), keys(1)).unwrap();
        // Alternating writers: with two core stores the outbox numbering would collide.
        for h in [&first, &second, &first, &second] {
            block(h.record_visit(VisitInput {
                household_id: "h-0001".into(),
                visit_type: VisitType::Routine,
                outcome: VisitOutcome::Met,
                needs: vec![],
                note: None,
                satisfaction: None,
                case_id: None,
                location: None,
                occurred_at: None,
                datum: None,
            }))
            .unwrap();
        }
        assert_eq!(lock(&seen.0).len(), 4, "the first handle's listener hears the second's recordings");
        assert_eq!(second.today().unwrap().unsent.records, 4);
        drop((first, second));
        assert!(!registry().contains_key(&folder_key(dir.path())), "closed handles leave nothing behind");
    }

    #[test]
    fn network_back_asks_once_and_unenrolled_sync_is_typed() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let reasons = Arc::new(Seen(Mutex::new(Vec::new())));
        s.set_sync_scheduler(Some(reasons.clone()));
        assert!(!s.network_changed(false));
        assert!(s.network_changed(true));
        assert!(!s.network_changed(true));
        assert_eq!(lock(&reasons.0).as_slice(), [SyncReason::NetworkRestored]);
        let changes = Arc::new(Seen(Mutex::new(Vec::new())));
        s.add_data_changed_listener(changes.clone());
        // A store made from a configuration file was never enrolled with HQ.
        let err = runtime().block_on(s.sync(None)).unwrap_err();
        assert!(matches!(err, GridPatrolError::NotEnrolled), "{err:?}");
        assert_eq!(lock(&changes.0).as_slice(), [DataChange::SyncFailed]);
    }

    #[test]
    fn attachments_and_sync_with_forward_to_the_core() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        match s.attachment_thumbnail("0".repeat(64)).unwrap_err() {
            GridPatrolError::NotFound { entity, .. } => assert_eq!(entity, "attachment"),
            other => panic!("{other:?}"),
        }
        let heic = dir.path().join("IMG_0001.HEIC");
        std::fs::write(&heic, b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0").unwrap();
        let input = gridpatrol_core::ReportInput {
            grid_id: "g-0101".into(),
            category: gridpatrol_core::ReportCategory::SafetyHazard,
            urgency: None,
            location: gridpatrol_core::GeoPoint { lat: 31.232, lng: 121.473 },
            place_name: None,
            description: "楼道堆物 (clutter in the stairwell)".into(),
            people_involved: 0,
            source: gridpatrol_core::ReportSource::Resident,
            patrol_id: None,
            visit_id: None,
            photos: vec![heic],
            datum: None,
        };
        match block(s.file_report(input)).unwrap_err() {
            GridPatrolError::PhotoRefused { field, kind, .. } => {
                assert_eq!((field.as_str(), kind.as_str()), ("photos[0]", "unsupported_format"))
            }
            other => panic!("{other:?}"),
        }
        let mode = core::sync::SyncMode { time_budget_ms: Some(1000), ..Default::default() };
        let cancel = Arc::new(core::sync::SyncCancel::new());
        let err = runtime().block_on(s.sync_with(mode, Some(cancel), None)).unwrap_err();
        assert!(matches!(err, GridPatrolError::NotEnrolled), "{err:?}");
    }
}
