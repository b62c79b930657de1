//! Screen models owned by the core (the crux idea): one plain record per screen of the worker's
//! app, labelled in the store's language, carrying every action the worker may take now
//! (filtered by role and state through `protocol/src/roles.rs`). Shells render them as they are
//! and send the actions back through the recording calls. `ScreenWatch` re-reads a model after
//! each change the store commits, so a screen follows a background sync without polling.

mod cases;
mod forms;
mod grid;
mod home;
mod patrol;
mod sync_status;
mod tasks;

pub use cases::{CaseFilter, CaseInbox, CaseRow, CaseTimeline, ClearStatus, PhotoRef, StepOption, TimelineEntry};
pub use forms::{
    AnswerChoice, CategoryChoice, FieldError, FieldSpec, GridChoice, NeedChoice, OutcomeChoice, ReportForm,
    UrgencyChoice, VisitForm, VisitTypeChoice,
};
pub use grid::{BuildingRow, GridScreen, HouseholdQuery, HouseholdRow};
pub use home::{
    GridSummary, MustVisitDue, PartStatus, PatrolProgress, ShiftStatus, SyncSummary, TaskDue, TodayView, UnsentSummary,
};
pub use patrol::{CheckpointRow, FormItem, PatrolRow, PatrolScreen};
pub use sync_status::{PendingItem, PendingUploads, RejectedItem, SyncStatusScreen};
pub use tasks::{TaskDetail, TaskEventRow, TaskInbox, TaskStepOption};

use crate::domain::{CaseState, Lang, PatrolOutcome, PatrolShift, TaskAction};
use crate::{Result, Store};

/// Something the worker may do from a screen. The shell shows `ActionOption::label` and, on a
/// tap, makes the matching call (`StartPatrol` → `start_patrol`, `CaseStep` → `move_case`, …).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Action {
    StartPatrol { grid_id: String, shift: PatrolShift },
    CheckIn { patrol_id: String },
    FinishPatrol { patrol_id: String, outcome: PatrolOutcome },
    RecordVisit { household_id: String },
    FileReport { grid_id: String },
    CaseStep { case_id: String, to: CaseState },
    TaskStep { task_id: String, action: TaskAction },
    RetryRejected { seq: i64 },
    DiscardRejected { seq: i64 },
    SyncNow,
}

/// An action with the words on its button, and the question to ask first when it cannot be
/// undone (`None`: no confirmation needed).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ActionOption {
    pub action: Action,
    pub label: String,
    pub confirm: Option<String>,
}

impl ActionOption {
    pub(crate) fn new(action: Action, label: String) -> ActionOption {
        ActionOption { action, label, confirm: None }
    }
}

/// Free text of a list row: at most `n` characters, with "…" when cut.
pub(crate) fn excerpt(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

/// Which screen a `ScreenWatch` renders, with the screen's arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Today,
    Grid { grid_id: String, query: HouseholdQuery },
    Patrol { patrol_id: String },
    CaseInbox { filter: CaseFilter },
    Case { case_id: String },
    TaskInbox { include_closed: bool },
    Task { task_id: String },
    SyncStatus,
}

/// One screen model, as a `ScreenWatch` yields it.
#[derive(Debug, Clone, PartialEq)]
pub enum ScreenModel {
    Today(TodayView),
    Grid(GridScreen),
    Patrol(PatrolScreen),
    CaseInbox(CaseInbox),
    Case(CaseTimeline),
    TaskInbox(TaskInbox),
    Task(TaskDetail),
    SyncStatus(SyncStatusScreen),
}

impl Store {
    /// Render one screen now.
    pub fn render(&self, screen: &Screen) -> Result<ScreenModel> {
        Ok(match screen {
            Screen::Today => ScreenModel::Today(self.today()?),
            Screen::Grid { grid_id, query } => ScreenModel::Grid(self.grid_screen(grid_id, query)?),
            Screen::Patrol { patrol_id } => ScreenModel::Patrol(self.patrol_screen(patrol_id)?),
            Screen::CaseInbox { filter } => ScreenModel::CaseInbox(self.case_inbox(filter)?),
            Screen::Case { case_id } => ScreenModel::Case(self.case_timeline(case_id)?),
            Screen::TaskInbox { include_closed } => ScreenModel::TaskInbox(self.task_inbox(*include_closed)?),
            Screen::Task { task_id } => ScreenModel::Task(self.task_detail(task_id)?),
            Screen::SyncStatus => ScreenModel::SyncStatus(self.sync_status()?),
        })
    }
}

/// A screen that follows the store: it yields the model now, then again each time a committed
/// change (a recording, a sync, new reference data, another language) makes it differ from the
/// last one yielded. Changes that leave the model as it was yield nothing.
pub struct ScreenWatch {
    screen: Screen,
    changes: tokio::sync::watch::Receiver<u64>,
    last: Option<ScreenModel>,
}

impl ScreenWatch {
    pub fn new(store: &Store, screen: Screen) -> ScreenWatch {
        let mut changes = store.changes();
        changes.mark_changed(); // the first wait returns at once
        ScreenWatch { screen, changes, last: None }
    }

    /// Follow another store from now on (the folder was enrolled again), keeping the last
    /// model so an unchanged screen yields nothing.
    pub fn follow(&mut self, store: &Store) {
        self.changes = store.changes();
        self.changes.mark_changed();
    }

    /// Wait for the store's next change (at once the first time). False when the store is gone:
    /// `follow` the one that replaced it. Holds no reference to the store while waiting.
    pub async fn changed(&mut self) -> bool {
        let alive = self.changes.changed().await.is_ok();
        self.changes.borrow_and_update();
        alive
    }

    /// Render the screen; `Some` only when the model differs from the last one yielded.
    pub fn render_new(&mut self, store: &Store) -> Result<Option<ScreenModel>> {
        let model = store.render(&self.screen)?;
        if self.last.as_ref() == Some(&model) {
            return Ok(None);
        }
        self.last = Some(model.clone());
        Ok(Some(model))
    }

    /// The next model that differs from the last one; `None` when the store is gone.
    pub async fn next(&mut self, store: &Store) -> Result<Option<ScreenModel>> {
        loop {
            if !self.changed().await {
                return Ok(None);
            }
            if let Some(m) = self.render_new(store)? {
                return Ok(Some(m));
            }
        }
    }
}

/// The labels screens use, in one language.
pub(crate) fn t(lang: Lang, zh: &str, en: &str) -> String {
    lang.pick(zh, en)
}

/// "A：B" in Chinese, "A: B" in English.
pub(crate) fn colon(lang: Lang) -> &'static str {
    match lang {
        Lang::En => ": ",
        _ => "：",
    }
}
