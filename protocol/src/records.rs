//! What a phone records, as the phone and HQ both see it, and the domain commands that carry
//! it on the wire (an outbox row's operation).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::case_flow::ClearItems;
use crate::domain::*;

// ---------- shared with HQ ----------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChecklistAnswer {
    pub item_id: String,
    pub answer: Answer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrackPoint {
    pub lat: f64,
    pub lng: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub accuracy_m: Option<f64>,
    /// Device time of the fix.
    pub at: DateTime<Utc>,
}

/// A task as HQ dispatches it (from the grid configuration until HQ sync exists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskInput {
    pub id: String,
    pub source: TaskSource,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub target_unit: String,
    /// The grid worker who goes (their phone gets the task). None: the unit alone
    /// (`details.unit_id`) works it.
    #[serde(default)]
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub grid_id: Option<String>,
    pub deadline: DateTime<Utc>,
    pub dispatched_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "TaskDetails::is_empty")]
    pub details: TaskDetails,
}

/// A routed task's particulars: the unit it goes to, the caller (masked), where and what, and
/// the case it belongs to. All optional: a street assignment may have none of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskDetails {
    /// The unit the task is routed to (a unit id at HQ), and its name for the screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_name: Option<String>,
    /// The caller's phone number, masked ("138****5678"): never the full number on a phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<ReportCategory>,
    /// The case this task belongs to, when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
}

impl TaskDetails {
    pub fn is_empty(&self) -> bool {
        *self == TaskDetails::default()
    }

    /// As a phone may hold it: the caller's number masked.
    pub fn masked(&self) -> TaskDetails {
        TaskDetails { caller: self.caller.as_deref().map(mask_phone), ..self.clone() }
    }

    pub fn validate(&self, field: &str) -> crate::Result<()> {
        if let Some(u) = &self.unit_id {
            crate::validate::id(&format!("{field}.unit_id"), u)?;
        }
        crate::validate::optional_text(&format!("{field}.unit_name"), self.unit_name.as_deref(), 100)?;
        if let Some(c) = &self.caller {
            let digits = c.chars().filter(|ch| ch.is_ascii_digit() || *ch == '*').count();
            if c.chars().count() > 20 || digits != c.chars().filter(|ch| !matches!(ch, '+' | '-' | ' ')).count() {
                return Err(crate::InvalidValue::new(
                    format!("{field}.caller"),
                    "a phone number (digits, + - and spaces)",
                ));
            }
        }
        if let Some(l) = self.location {
            l.validate(&format!("{field}.location"))?;
        }
        if let Some(c) = &self.case_id {
            crate::validate::id(&format!("{field}.case_id"), c)?;
        }
        Ok(())
    }
}

// ---------- records ----------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Patrol {
    pub id: String,
    pub worker_id: String,
    pub grid_id: String,
    pub shift: PatrolShift,
    pub template_id: String,
    pub template_version: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<PatrolOutcome>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Checkpoint {
    pub id: String,
    pub patrol_id: String,
    pub at: DateTime<Utc>,
    pub location: GeoPoint,
    pub accuracy_m: Option<f64>,
    /// False when the check-in was outside the grid's boundary: recorded, and flagged.
    pub inside_grid: bool,
    /// The phone's OS said the position came from a mock-location provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mock_location: bool,
    /// Counts for 人到: inside the grid, not mocked, accurate to the template's
    /// `max_accuracy_m` (`rules::trusted_fix`). Weak and mock fixes are kept and flagged.
    #[serde(default)]
    pub trusted: bool,
    pub place_name: Option<String>,
    pub answers: Vec<ChecklistAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Visit {
    pub id: String,
    pub worker_id: String,
    pub household_id: String,
    pub grid_id: String,
    pub visit_type: VisitType,
    pub outcome: VisitOutcome,
    pub needs: Vec<NeedTag>,
    // Absent rather than null when empty: visits are most of what phones store and send, and
    // a reader takes a missing optional field as none (every protocol version does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub satisfaction: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
    pub occurred_at: DateTime<Utc>,
    /// SHA-256 of each attached photo.
    pub photos: Vec<String>,
    /// Every report opens a case (状态: 上报).
    pub case_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaseEvent {
    pub id: String,
    pub case_id: String,
    /// 1-based position in the case's log.
    pub n: u32,
    pub from: Option<CaseState>,
    pub to: CaseState,
    pub actor_id: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    pub clear: ClearItems,
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Task {
    pub id: String,
    pub source: TaskSource,
    pub title: String,
    pub description: String,
    pub target_unit: String,
    pub assignee_id: String,
    pub grid_id: Option<String>,
    pub deadline: DateTime<Utc>,
    pub status: TaskStatus,
    pub result: Option<String>,
    /// What a 110 diversion (or any routed task) carries beyond the basics.
    #[serde(default, skip_serializing_if = "TaskDetails::is_empty")]
    pub details: TaskDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AttachmentInfo {
    pub sha256: String,
    pub mime: String,
    pub bytes: u64,
    /// Capture location kept from the photo's EXIF (the only metadata kept).
    pub location: Option<GeoPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskEvent {
    pub id: String,
    pub task_id: String,
    pub action: TaskAction,
    pub from: TaskStatus,
    pub to: TaskStatus,
    pub at: DateTime<Utc>,
    pub result: Option<String>,
    pub photos: Vec<String>,
    /// The GPS fix of an "arrived" step (WGS-84).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
}

/// The operation an outbox row carries: a domain command, not a table diff (docs/SYNC.md).
/// HQ replays these through its own state machines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    StartPatrol { patrol: Patrol },
    AddTrackPoints { patrol_id: String, first_n: u32, points: Vec<TrackPoint> },
    CheckIn { checkpoint: Checkpoint },
    FinishPatrol { patrol_id: String, outcome: PatrolOutcome, note: Option<String>, finished_at: DateTime<Utc> },
    RecordVisit { visit: Visit },
    FileReport { report: Report },
    CaseStep { event: CaseEvent },
    TaskStep { event: TaskEvent },
}

impl Command {
    pub fn kind(&self) -> &'static str {
        match self {
            Command::StartPatrol { .. } => "start_patrol",
            Command::AddTrackPoints { .. } => "add_track_points",
            Command::CheckIn { .. } => "check_in",
            Command::FinishPatrol { .. } => "finish_patrol",
            Command::RecordVisit { .. } => "record_visit",
            Command::FileReport { .. } => "file_report",
            Command::CaseStep { .. } => "case_step",
            Command::TaskStep { .. } => "task_step",
        }
    }

    /// Chinese (English) name of the operation, for the pending-uploads list.
    pub fn label(&self) -> &'static str {
        match self {
            Command::StartPatrol { .. } => "开始巡查 (patrol started)",
            Command::AddTrackPoints { .. } => "巡查轨迹 (patrol track)",
            Command::CheckIn { .. } => "巡查打卡 (patrol check-in)",
            Command::FinishPatrol { .. } => "结束巡查 (patrol finished)",
            Command::RecordVisit { .. } => "居民走访 (visit)",
            Command::FileReport { .. } => "情况上报 (report)",
            Command::CaseStep { .. } => "案件办理 (case step)",
            Command::TaskStep { .. } => "任务办理 (task step)",
        }
    }

    /// The record the command is about.
    pub fn entity_id(&self) -> &str {
        match self {
            Command::StartPatrol { patrol } => &patrol.id,
            Command::AddTrackPoints { patrol_id, .. } | Command::FinishPatrol { patrol_id, .. } => patrol_id,
            Command::CheckIn { checkpoint } => &checkpoint.id,
            Command::RecordVisit { visit } => &visit.id,
            Command::FileReport { report } => &report.id,
            Command::CaseStep { event } => &event.id,
            Command::TaskStep { event } => &event.id,
        }
    }
}

impl TaskInput {
    /// HQ's task as the phone receives it: ids well-formed, texts bounded, deadline after dispatch.
    pub fn validate(&self, field: &str) -> crate::Result<()> {
        let t = self;
        crate::validate::id(&format!("{field}.id"), &t.id)?;
        crate::validate::required_text(&format!("{field}.title"), &t.title, 200)?;
        crate::validate::optional_text(&format!("{field}.description"), Some(&t.description), 4000)?;
        crate::validate::required_text(&format!("{field}.target_unit"), &t.target_unit, 100)?;
        match (&t.assignee_id, &t.details.unit_id) {
            (Some(a), _) => {
                crate::validate::id(&format!("{field}.assignee_id"), a)?;
            }
            (None, Some(_)) => {}
            (None, None) => {
                return Err(crate::InvalidValue::new(
                    format!("{field}.assignee_id"),
                    "a task goes to a grid worker, a unit (details.unit_id), or both",
                ))
            }
        }
        if let Some(g) = &t.grid_id {
            crate::validate::id(&format!("{field}.grid_id"), g)?;
        }
        let dispatched = crate::validate::plausible_time(&format!("{field}.dispatched_at"), t.dispatched_at)?;
        let deadline = crate::validate::plausible_time(&format!("{field}.deadline"), t.deadline)?;
        if deadline < dispatched {
            return Err(crate::InvalidValue::new(format!("{field}.deadline"), "is before the task was dispatched"));
        }
        t.details.validate(&format!("{field}.details"))?;
        Ok(())
    }
}
