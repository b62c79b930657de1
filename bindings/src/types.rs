//! The records and enums that cross the FFI: mirrors of the core's types (the core stays free
//! of uniffi), each with a `From` conversion in both directions where it is an input. The
//! matches are exhaustive, so a variant or field added in the core fails to compile here
//! instead of silently missing from the apps.

use std::path::PathBuf;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use gridpatrol_core as core;

pub(crate) fn time(t: DateTime<Utc>) -> SystemTime {
    SystemTime::from(t)
}

pub(crate) fn utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

fn paths(p: Vec<String>) -> Vec<PathBuf> {
    p.into_iter().map(PathBuf::from).collect()
}

/// A field enum of the core mirrored for the FFI, with its labels as methods: `label()` is
/// "中文 (English)" as shown to a person, `zh()`/`en()` the parts, `code()` the stable code
/// stored on the phone and sent to HQ.
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl From<core::$name> for $name {
            fn from(v: core::$name) -> Self {
                match v { $(core::$name::$variant => $name::$variant),+ }
            }
        }

        impl From<$name> for core::$name {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => core::$name::$variant),+ }
            }
        }

        #[uniffi::export]
        impl $name {
            /// "中文 (English)", the form shown to a person.
            pub fn label(&self) -> String {
                core::$name::from(*self).label()
            }
            /// The Chinese label alone.
            pub fn zh(&self) -> String {
                core::$name::from(*self).zh().to_string()
            }
            /// The English label alone.
            pub fn en(&self) -> String {
                core::$name::from(*self).en().to_string()
            }
            /// The stable code stored on the phone and sent to HQ.
            pub fn code(&self) -> String {
                core::$name::from(*self).code().to_string()
            }
        }
    };
}

labelled_enum!(
    /// Day or night patrol (night patrols run 23:00 and later).
    PatrolShift { Day, Night }
);
labelled_enum!(
    /// 巡查三到: the three things a patrol must show.
    PatrolPart { PersonOnSite, EyesOn, Recorded }
);
labelled_enum!(
    /// How a patrol ended: "nothing found" is a valid outcome (记到).
    PatrolOutcome { NothingFound, Findings }
);
labelled_enum!(
    /// The answer to one checklist item at a checkpoint.
    Answer { Ok, Issue, NotApplicable }
);
labelled_enum!(
    /// 居民四访: the four kinds of visit.
    VisitType { Routine, MustVisit, FollowUp, Campaign }
);
labelled_enum!(
    /// Whether the resident was reached.
    VisitOutcome { Met, NotHome, ByPhone }
);
labelled_enum!(
    /// Needs noted on a visit, as coarse tags (never diagnoses).
    NeedTag { Health, Living, Financial, Housing, Dispute, Safety, Other }
);
labelled_enum!(
    /// 情况五报: the five report categories.
    ReportCategory { Dispute, SafetyHazard, SecurityLead, ResidentRequest, Emergency }
);
labelled_enum!(
    /// Safety hazards and emergencies are always "report at once".
    Urgency { Immediate, Normal }
);
labelled_enum!(
    /// Where a report came from.
    ReportSource { Patrol, Visit, Resident, WeeklyMeeting }
);
labelled_enum!(
    /// The case lifecycle (GB/T 30428 family) with its side states.
    CaseState {
        Reported,
        Accepted,
        Rejected,
        Opened,
        Dispatched,
        Handling,
        Verified,
        Closed,
        FollowedUp,
        Archived,
        SentBack,
        ExtensionRequested,
        Backlog,
    }
);
labelled_enum!(
    /// 问题六清: the six things that must be clear before a case closes.
    ClearItem { Facts, Responsibility, Deadline, Outcome, Feedback, Ledger }
);
labelled_enum!(
    /// Where an HQ task came from.
    TaskSource { Diversion110, Hotline12345, Street, WeeklyMeeting }
);
labelled_enum!(
    /// Where a task stands.
    TaskStatus { Dispatched, Acknowledged, OnTheWay, Done, Cancelled }
);
labelled_enum!(
    /// What the worker does with a task.
    TaskAction { Acknowledge, OnTheWay, Complete }
);
labelled_enum!(
    /// Where an item of the pending-uploads list stands.
    UploadState { Waiting, Rejected, Sent }
);

// ---------- settings and identity ----------

/// How a store behaves on this device. Every field has a default: `DeviceSettings()`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DeviceSettings {
    /// Offset of the worker's local time from UTC in minutes, for "today" (China: +480).
    #[uniffi(default = 480)]
    pub tz_offset_minutes: i32,
    /// The platform's stable device id (Android's ANDROID_ID, iOS's identifierForVendor), used
    /// only when enrolling a fresh store, so a reinstalled app keeps its id. None: a new UUID.
    #[uniffi(default = None)]
    pub device_id: Option<String>,
    /// This installation's id: random (16..64 letters, digits, `-`, `_`, `.`), made once by the
    /// app and kept where backups and copies of the app's files do not reach — Android: a file
    /// in `Context.noBackupFilesDir`; iOS: a Keychain item with
    /// `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`. A store opened with another id than
    /// the one it was made with is a copy (a cloned phone, a restored backup) and takes a device
    /// identity of its own at its next sync. None: the store keeps an id of its own (HQ still
    /// catches copies when they push, see docs/SYNC.md).
    #[uniffi(default = None)]
    pub installation_id: Option<String>,
    /// Timeout of one HTTP request to HQ, in milliseconds.
    #[uniffi(default = 30000)]
    pub sync_timeout_ms: u32,
    /// Tries per request before a sync gives up (the records stay queued).
    #[uniffi(default = 4)]
    pub sync_max_attempts: u32,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            tz_offset_minutes: 480,
            device_id: None,
            installation_id: None,
            sync_timeout_ms: 30_000,
            sync_max_attempts: 4,
        }
    }
}

/// Who this device is: its id, its install epoch and the worker it belongs to.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeviceInfo {
    pub device_id: String,
    pub epoch: i64,
    pub worker_id: String,
}

impl From<core::DeviceInfo> for DeviceInfo {
    fn from(d: core::DeviceInfo) -> Self {
        DeviceInfo { device_id: d.device_id, epoch: d.epoch, worker_id: d.worker_id }
    }
}

/// One item of a patrol checklist.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistItem {
    /// The id a `ChecklistAnswer` names.
    pub id: String,
    pub zh: String,
    pub en: String,
    /// "中文 (English)".
    pub label: String,
}

/// The checklist template new patrols start under (published by HQ; a default ships).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistTemplate {
    pub id: String,
    pub version: u32,
    /// True for the default shipped with the app (no public source fixes the items).
    pub is_default: bool,
    pub name: String,
    /// Check-ins inside the grid a patrol needs for 人到.
    pub min_checkins: u32,
    pub checklist: Vec<ChecklistItem>,
    /// Clear items a case needs before it may close (the default: all six).
    pub required_clear: Vec<ClearItem>,
}

impl From<core::Template> for ChecklistTemplate {
    fn from(t: core::Template) -> Self {
        ChecklistTemplate {
            id: t.id,
            version: t.version,
            is_default: t.is_default,
            name: t.name,
            min_checkins: t.patrol.min_checkins,
            checklist: t
                .patrol
                .checklist
                .into_iter()
                .map(|i| ChecklistItem { label: i.label(), id: i.id, zh: i.zh, en: i.en })
                .collect(),
            required_clear: t.resolution.required.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------- shared values ----------

/// A position (WGS 84). Validated: lat in -90..90, lng in -180..180.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl From<core::GeoPoint> for GeoPoint {
    fn from(p: core::GeoPoint) -> Self {
        GeoPoint { lat: p.lat, lng: p.lng }
    }
}

impl From<GeoPoint> for core::GeoPoint {
    fn from(p: GeoPoint) -> Self {
        core::GeoPoint { lat: p.lat, lng: p.lng }
    }
}

/// One GPS fix of a patrol's track.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct TrackPoint {
    pub lat: f64,
    pub lng: f64,
    #[uniffi(default = None)]
    pub accuracy_m: Option<f64>,
    /// Device time of the fix.
    pub at: SystemTime,
}

impl From<TrackPoint> for core::TrackPoint {
    fn from(p: TrackPoint) -> Self {
        core::TrackPoint { lat: p.lat, lng: p.lng, accuracy_m: p.accuracy_m, at: utc(p.at) }
    }
}

/// The answer to one checklist item (眼到).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistAnswer {
    pub item_id: String,
    pub answer: Answer,
    #[uniffi(default = None)]
    pub note: Option<String>,
}

impl From<core::ChecklistAnswer> for ChecklistAnswer {
    fn from(a: core::ChecklistAnswer) -> Self {
        ChecklistAnswer { item_id: a.item_id, answer: a.answer.into(), note: a.note }
    }
}

impl From<ChecklistAnswer> for core::ChecklistAnswer {
    fn from(a: ChecklistAnswer) -> Self {
        core::ChecklistAnswer { item_id: a.item_id, answer: a.answer.into(), note: a.note }
    }
}

/// The six "clear" items (问题六清) a case step establishes; any subset per step.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct ClearItems {
    /// 情况清
    #[uniffi(default = None)]
    pub facts: Option<String>,
    /// 责任清
    #[uniffi(default = None)]
    pub responsible_unit: Option<String>,
    /// 时限清 (between 2000 and 2100)
    #[uniffi(default = None)]
    pub deadline: Option<SystemTime>,
    /// 结果清, with the after-photo: the first photo of the step that gives the outcome.
    #[uniffi(default = None)]
    pub outcome: Option<String>,
    /// SHA-256 of an after-photo already in the store; usually left empty (set from the step's photos).
    #[uniffi(default = None)]
    pub outcome_photo: Option<String>,
    /// 反馈清: the resident's feedback, or a satisfaction 1..5.
    #[uniffi(default = None)]
    pub feedback: Option<String>,
    #[uniffi(default = None)]
    pub satisfaction: Option<u8>,
    /// 台账清: the ledger reference.
    #[uniffi(default = None)]
    pub ledger_ref: Option<String>,
}

impl From<core::ClearItems> for ClearItems {
    fn from(c: core::ClearItems) -> Self {
        ClearItems {
            facts: c.facts,
            responsible_unit: c.responsible_unit,
            deadline: c.deadline.map(time),
            outcome: c.outcome,
            outcome_photo: c.outcome_photo,
            feedback: c.feedback,
            satisfaction: c.satisfaction,
            ledger_ref: c.ledger_ref,
        }
    }
}

impl From<ClearItems> for core::ClearItems {
    fn from(c: ClearItems) -> Self {
        core::ClearItems {
            facts: c.facts,
            responsible_unit: c.responsible_unit,
            deadline: c.deadline.map(utc),
            outcome: c.outcome,
            outcome_photo: c.outcome_photo,
            feedback: c.feedback,
            satisfaction: c.satisfaction,
            ledger_ref: c.ledger_ref,
        }
    }
}

// ---------- inputs ----------

/// A check-in at a checkpoint (人到 + 眼到).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckInInput {
    pub location: GeoPoint,
    #[uniffi(default = None)]
    pub accuracy_m: Option<f64>,
    #[uniffi(default = None)]
    pub place_name: Option<String>,
    #[uniffi(default = [])]
    pub answers: Vec<ChecklistAnswer>,
}

impl From<CheckInInput> for core::CheckInInput {
    fn from(i: CheckInInput) -> Self {
        core::CheckInInput {
            location: i.location.into(),
            accuracy_m: i.accuracy_m,
            place_name: i.place_name,
            answers: i.answers.into_iter().map(Into::into).collect(),
        }
    }
}

/// A visit (居民四访) to a household.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitInput {
    pub household_id: String,
    pub visit_type: VisitType,
    pub outcome: VisitOutcome,
    #[uniffi(default = [])]
    pub needs: Vec<NeedTag>,
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// 1..5; only on follow-up visits, and required there unless nobody was reached.
    #[uniffi(default = None)]
    pub satisfaction: Option<u8>,
    /// The case a follow-up visit follows up on (required for follow-ups).
    #[uniffi(default = None)]
    pub case_id: Option<String>,
    #[uniffi(default = None)]
    pub location: Option<GeoPoint>,
    /// When the visit happened, if recorded afterwards; default: now.
    #[uniffi(default = None)]
    pub occurred_at: Option<SystemTime>,
}

impl From<VisitInput> for core::VisitInput {
    fn from(i: VisitInput) -> Self {
        core::VisitInput {
            household_id: i.household_id,
            visit_type: i.visit_type.into(),
            outcome: i.outcome.into(),
            needs: i.needs.into_iter().map(Into::into).collect(),
            note: i.note,
            satisfaction: i.satisfaction,
            case_id: i.case_id,
            location: i.location.map(Into::into),
            occurred_at: i.occurred_at.map(utc),
        }
    }
}

/// A report (情况五报). Every report opens a case.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportInput {
    pub grid_id: String,
    pub category: ReportCategory,
    /// Default: "report at once" for hazards and emergencies, normal otherwise.
    #[uniffi(default = None)]
    pub urgency: Option<Urgency>,
    pub location: GeoPoint,
    #[uniffi(default = None)]
    pub place_name: Option<String>,
    pub description: String,
    #[uniffi(default = 0)]
    pub people_involved: u32,
    pub source: ReportSource,
    /// Required when the source is a patrol.
    #[uniffi(default = None)]
    pub patrol_id: Option<String>,
    /// Required when the source is a visit.
    #[uniffi(default = None)]
    pub visit_id: Option<String>,
    /// Paths of JPEG or PNG files: copied into the store, metadata stripped (the capture
    /// location is kept). The app may delete its own files afterwards.
    #[uniffi(default = [])]
    pub photos: Vec<String>,
}

impl From<ReportInput> for core::ReportInput {
    fn from(i: ReportInput) -> Self {
        core::ReportInput {
            grid_id: i.grid_id,
            category: i.category.into(),
            urgency: i.urgency.map(Into::into),
            location: i.location.into(),
            place_name: i.place_name,
            description: i.description,
            people_involved: i.people_involved,
            source: i.source.into(),
            patrol_id: i.patrol_id,
            visit_id: i.visit_id,
            photos: paths(i.photos),
        }
    }
}

/// One step of a case along its lifecycle.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseStepInput {
    pub case_id: String,
    pub to: CaseState,
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// Any of the six clear items this step establishes.
    #[uniffi(default)]
    pub clear: ClearItems,
    /// Photo paths; on the step that records the outcome the first is the after-photo.
    #[uniffi(default = [])]
    pub photos: Vec<String>,
}

impl From<CaseStepInput> for core::CaseStepInput {
    fn from(i: CaseStepInput) -> Self {
        core::CaseStepInput {
            case_id: i.case_id,
            to: i.to.into(),
            note: i.note,
            clear: i.clear.into(),
            photos: paths(i.photos),
        }
    }
}

/// Acknowledge, set off for, or complete an HQ task.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskActionInput {
    pub task_id: String,
    pub action: TaskAction,
    /// Required when completing.
    #[uniffi(default = None)]
    pub result: Option<String>,
    #[uniffi(default = [])]
    pub photos: Vec<String>,
}

impl From<TaskActionInput> for core::TaskActionInput {
    fn from(i: TaskActionInput) -> Self {
        core::TaskActionInput { task_id: i.task_id, action: i.action.into(), result: i.result, photos: paths(i.photos) }
    }
}

// ---------- records ----------

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Patrol {
    pub id: String,
    pub worker_id: String,
    pub grid_id: String,
    pub shift: PatrolShift,
    pub template_id: String,
    pub template_version: u32,
    pub started_at: SystemTime,
    pub finished_at: Option<SystemTime>,
    pub outcome: Option<PatrolOutcome>,
    pub note: Option<String>,
}

impl From<core::Patrol> for Patrol {
    fn from(p: core::Patrol) -> Self {
        Patrol {
            id: p.id,
            worker_id: p.worker_id,
            grid_id: p.grid_id,
            shift: p.shift.into(),
            template_id: p.template_id,
            template_version: p.template_version,
            started_at: time(p.started_at),
            finished_at: p.finished_at.map(time),
            outcome: p.outcome.map(Into::into),
            note: p.note,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Checkpoint {
    pub id: String,
    pub patrol_id: String,
    pub at: SystemTime,
    pub location: GeoPoint,
    pub accuracy_m: Option<f64>,
    /// False when the check-in was outside the grid: recorded, and flagged.
    pub inside_grid: bool,
    pub place_name: Option<String>,
    pub answers: Vec<ChecklistAnswer>,
}

impl From<core::Checkpoint> for Checkpoint {
    fn from(c: core::Checkpoint) -> Self {
        Checkpoint {
            id: c.id,
            patrol_id: c.patrol_id,
            at: time(c.at),
            location: c.location.into(),
            accuracy_m: c.accuracy_m,
            inside_grid: c.inside_grid,
            place_name: c.place_name,
            answers: c.answers.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    pub id: String,
    pub worker_id: String,
    pub household_id: String,
    pub grid_id: String,
    pub visit_type: VisitType,
    pub outcome: VisitOutcome,
    pub needs: Vec<NeedTag>,
    pub note: Option<String>,
    pub satisfaction: Option<u8>,
    pub case_id: Option<String>,
    pub location: Option<GeoPoint>,
    pub occurred_at: SystemTime,
}

impl From<core::Visit> for Visit {
    fn from(v: core::Visit) -> Self {
        Visit {
            id: v.id,
            worker_id: v.worker_id,
            household_id: v.household_id,
            grid_id: v.grid_id,
            visit_type: v.visit_type.into(),
            outcome: v.outcome.into(),
            needs: v.needs.into_iter().map(Into::into).collect(),
            note: v.note,
            satisfaction: v.satisfaction,
            case_id: v.case_id,
            location: v.location.map(Into::into),
            occurred_at: time(v.occurred_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Report {
    pub id: String,
    pub worker_id: String,
    pub grid_id: String,
    pub category: ReportCategory,
    pub urgency: Urgency,
    pub location: GeoPoint,
    pub place_name: Option<String>,
    pub description: String,
    pub people_involved: u32,
    pub source: ReportSource,
    pub patrol_id: Option<String>,
    pub visit_id: Option<String>,
    pub occurred_at: SystemTime,
    /// SHA-256 (hex) of each attached photo, as stored and uploaded.
    pub photos: Vec<String>,
    /// The case the report opened (state 上报 reported).
    pub case_id: String,
}

impl From<core::Report> for Report {
    fn from(r: core::Report) -> Self {
        Report {
            id: r.id,
            worker_id: r.worker_id,
            grid_id: r.grid_id,
            category: r.category.into(),
            urgency: r.urgency.into(),
            location: r.location.into(),
            place_name: r.place_name,
            description: r.description,
            people_involved: r.people_involved,
            source: r.source.into(),
            patrol_id: r.patrol_id,
            visit_id: r.visit_id,
            occurred_at: time(r.occurred_at),
            photos: r.photos,
            case_id: r.case_id,
        }
    }
}

/// One entry of a case's append-only log.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseEvent {
    pub id: String,
    pub case_id: String,
    /// 1-based position in the case's log.
    pub n: u32,
    pub from: Option<CaseState>,
    pub to: CaseState,
    pub actor_id: String,
    pub at: SystemTime,
    pub note: Option<String>,
    pub clear: ClearItems,
    pub photos: Vec<String>,
}

impl From<core::CaseEvent> for CaseEvent {
    fn from(e: core::CaseEvent) -> Self {
        CaseEvent {
            id: e.id,
            case_id: e.case_id,
            n: e.n,
            from: e.from.map(Into::into),
            to: e.to.into(),
            actor_id: e.actor_id,
            at: time(e.at),
            note: e.note,
            clear: e.clear.into(),
            photos: e.photos,
        }
    }
}

/// A task dispatched by HQ (110 diversion, 12345 hotline, street, weekly meeting).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Task {
    pub id: String,
    pub source: TaskSource,
    pub title: String,
    pub description: String,
    pub target_unit: String,
    pub assignee_id: String,
    pub grid_id: Option<String>,
    pub deadline: SystemTime,
    pub status: TaskStatus,
    pub result: Option<String>,
}

impl From<core::Task> for Task {
    fn from(t: core::Task) -> Self {
        Task {
            id: t.id,
            source: t.source.into(),
            title: t.title,
            description: t.description,
            target_unit: t.target_unit,
            assignee_id: t.assignee_id,
            grid_id: t.grid_id,
            deadline: time(t.deadline),
            status: t.status.into(),
            result: t.result,
        }
    }
}

// ---------- view state (labels already "中文 (English)") ----------

/// "Today": what the worker's home screen shows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TodayView {
    /// The local date, "YYYY-MM-DD", in the store's time zone.
    pub date: String,
    pub worker_name: String,
    pub worker_role: String,
    /// Names of the worker's grids.
    pub grids: Vec<String>,
    /// Open tasks due today or overdue, most urgent first.
    pub tasks: Vec<TaskDue>,
    /// The patrol in progress, if any.
    pub patrol: Option<PatrolProgress>,
    /// 重点必访 households not visited within the template's interval.
    pub must_visit: Vec<MustVisitDue>,
    pub open_cases: u32,
    pub unsent: UnsentSummary,
    pub last_sync: SyncSummary,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskDue {
    pub id: String,
    pub title: String,
    pub source: TaskSource,
    pub source_label: String,
    pub target_unit: String,
    pub deadline: SystemTime,
    pub status: TaskStatus,
    pub status_label: String,
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PatrolProgress {
    pub patrol_id: String,
    pub grid_name: String,
    pub shift_label: String,
    pub started_at: SystemTime,
    pub checkins: u32,
    pub min_checkins: u32,
    pub outside_grid_checkins: u32,
    pub checklist_answered: u32,
    pub checklist_total: u32,
    pub reports_filed: u32,
    /// 巡查三到: each part and whether it is done yet.
    pub parts: Vec<PartStatus>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PartStatus {
    pub part: PatrolPart,
    pub label: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MustVisitDue {
    pub household_id: String,
    pub label: String,
    pub name: String,
    /// Masked: "138****5678".
    pub phone: Option<String>,
    pub care_tags: Vec<String>,
    pub last_visit_at: Option<SystemTime>,
    pub days_since_visit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UnsentSummary {
    /// Records not yet acknowledged by HQ.
    pub records: u64,
    /// Photos not yet uploaded.
    pub photos: u64,
    /// Records HQ refused: kept and shown, never silently dropped.
    pub rejected: u64,
    pub oldest_unsent_at: Option<SystemTime>,
    /// Plain words, e.g. "12 条记录、2 张照片未发送 (12 records, 2 photos not yet sent)".
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncSummary {
    pub last_attempt_at: Option<SystemTime>,
    pub last_success_at: Option<SystemTime>,
    pub last_error: Option<String>,
    pub message: String,
    /// Set once this store found it was a copy of another phone's and took its own identity.
    pub notice: Option<String>,
}

impl From<core::TodayView> for TodayView {
    fn from(v: core::TodayView) -> Self {
        TodayView {
            date: v.date.format("%Y-%m-%d").to_string(),
            worker_name: v.worker_name,
            worker_role: v.worker_role,
            grids: v.grids,
            tasks: v
                .tasks
                .into_iter()
                .map(|t| TaskDue {
                    id: t.id,
                    title: t.title,
                    source: t.source.into(),
                    source_label: t.source_label,
                    target_unit: t.target_unit,
                    deadline: time(t.deadline),
                    status: t.status.into(),
                    status_label: t.status_label,
                    overdue: t.overdue,
                })
                .collect(),
            patrol: v.patrol.map(|p| PatrolProgress {
                patrol_id: p.patrol_id,
                grid_name: p.grid_name,
                shift_label: p.shift_label,
                started_at: time(p.started_at),
                checkins: p.checkins,
                min_checkins: p.min_checkins,
                outside_grid_checkins: p.outside_grid_checkins,
                checklist_answered: p.checklist_answered,
                checklist_total: p.checklist_total,
                reports_filed: p.reports_filed,
                parts: p
                    .parts
                    .into_iter()
                    .map(|s| PartStatus { part: s.part.into(), label: s.label, done: s.done })
                    .collect(),
            }),
            must_visit: v
                .must_visit
                .into_iter()
                .map(|m| MustVisitDue {
                    household_id: m.household_id,
                    label: m.label,
                    name: m.name,
                    phone: m.phone,
                    care_tags: m.care_tags,
                    last_visit_at: m.last_visit_at.map(time),
                    days_since_visit: m.days_since_visit,
                })
                .collect(),
            open_cases: v.open_cases,
            unsent: UnsentSummary {
                records: v.unsent.records,
                photos: v.unsent.photos,
                rejected: v.unsent.rejected,
                oldest_unsent_at: v.unsent.oldest_unsent_at.map(time),
                message: v.unsent.message,
            },
            last_sync: SyncSummary {
                last_attempt_at: v.last_sync.last_attempt_at.map(time),
                last_success_at: v.last_sync.last_success_at.map(time),
                last_error: v.last_sync.last_error,
                message: v.last_sync.message,
                notice: v.last_sync.notice,
            },
        }
    }
}

/// A case's history, its six clear items and the steps allowed next (for the buttons).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseTimeline {
    pub case_id: String,
    pub report_id: String,
    pub category_label: String,
    pub description: String,
    pub place_name: Option<String>,
    pub state: CaseState,
    pub state_label: String,
    pub deadline: Option<SystemTime>,
    pub overdue: bool,
    pub clear: Vec<ClearStatus>,
    pub events: Vec<TimelineEntry>,
    pub next_steps: Vec<StepOption>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClearStatus {
    pub item: ClearItem,
    pub label: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineEntry {
    pub n: u32,
    pub from_label: Option<String>,
    pub to: CaseState,
    pub to_label: String,
    pub at: SystemTime,
    pub actor_id: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StepOption {
    pub to: CaseState,
    pub label: String,
}

impl From<core::CaseTimeline> for CaseTimeline {
    fn from(c: core::CaseTimeline) -> Self {
        CaseTimeline {
            case_id: c.case_id,
            report_id: c.report_id,
            category_label: c.category_label,
            description: c.description,
            place_name: c.place_name,
            state: c.state.into(),
            state_label: c.state_label,
            deadline: c.deadline.map(time),
            overdue: c.overdue,
            clear: c
                .clear
                .into_iter()
                .map(|s| ClearStatus { item: s.item.into(), label: s.label, done: s.done })
                .collect(),
            events: c
                .events
                .into_iter()
                .map(|e| TimelineEntry {
                    n: e.n,
                    from_label: e.from_label,
                    to: e.to.into(),
                    to_label: e.to_label,
                    at: time(e.at),
                    actor_id: e.actor_id,
                    note: e.note,
                    photos: e.photos,
                })
                .collect(),
            next_steps: c.next_steps.into_iter().map(|s| StepOption { to: s.to.into(), label: s.label }).collect(),
        }
    }
}

/// What has not reached HQ yet, item by item.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PendingUploads {
    pub unsent_records: u64,
    pub unsent_photos: u64,
    pub rejected: u64,
    /// Rejected first (they need the worker), then waiting records in order, then photos.
    pub items: Vec<PendingItem>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PendingItem {
    /// Outbox sequence number; None for photos.
    pub seq: Option<i64>,
    pub kind: String,
    pub label: String,
    pub entity_id: String,
    pub state: UploadState,
    pub state_label: String,
    pub recorded_at: SystemTime,
    pub attempts: u32,
    pub reason: Option<String>,
}

impl From<core::PendingUploads> for PendingUploads {
    fn from(p: core::PendingUploads) -> Self {
        PendingUploads {
            unsent_records: p.unsent_records,
            unsent_photos: p.unsent_photos,
            rejected: p.rejected,
            items: p
                .items
                .into_iter()
                .map(|i| PendingItem {
                    seq: i.seq,
                    kind: i.kind,
                    label: i.label,
                    entity_id: i.entity_id,
                    state: i.state.into(),
                    state_label: i.state_label,
                    recorded_at: time(i.recorded_at),
                    attempts: i.attempts,
                    reason: i.reason,
                })
                .collect(),
        }
    }
}

// ---------- sync ----------

/// The phase a running sync is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    Pushing,
    UploadingPhotos,
    Pulling,
    Done,
}

/// Progress while a sync runs (for a progress bar).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    /// "中文 (English)", e.g. "上传照片 (uploading photos)".
    pub phase_label: String,
    pub done: u64,
    pub total: u64,
}

impl From<core::sync::Progress> for SyncProgress {
    fn from(p: core::sync::Progress) -> Self {
        use core::sync::SyncPhase as P;
        let phase = match p.phase {
            P::Pushing => SyncPhase::Pushing,
            P::UploadingPhotos => SyncPhase::UploadingPhotos,
            P::Pulling => SyncPhase::Pulling,
            P::Done => SyncPhase::Done,
        };
        SyncProgress { phase, phase_label: p.phase.label().to_string(), done: p.done, total: p.total }
    }
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// Records sent (HQ's answer per record: applied, duplicate, rejected, conflict).
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
}

impl From<core::sync::SyncReport> for SyncReport {
    fn from(r: core::sync::SyncReport) -> Self {
        SyncReport {
            pushed: r.pushed,
            applied: r.applied,
            duplicates: r.duplicates,
            rejected: r.rejected,
            conflicts: r.conflicts,
            photos_uploaded: r.photos_uploaded,
            tasks_received: r.tasks_received,
            cases_received: r.cases_received,
            reference_updated: r.reference_updated,
            requests: r.requests,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            unsent_after: r.unsent_after,
        }
    }
}

impl SyncReport {
    /// Did this run change anything a screen shows?
    pub(crate) fn changed_data(&self) -> bool {
        self.pushed > 0
            || self.photos_uploaded > 0
            || self.tasks_received > 0
            || self.cases_received > 0
            || self.reference_updated
    }
}
