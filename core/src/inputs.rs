//! Inputs of the recording operations (what a shell passes in; photos as file paths).

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::case_flow::ClearItems;
use crate::domain::*;
use crate::records::ChecklistAnswer;

#[derive(Debug, Clone)]
pub struct CheckInInput {
    pub location: GeoPoint,
    pub accuracy_m: Option<f64>,
    pub place_name: Option<String>,
    pub answers: Vec<ChecklistAnswer>,
}

#[derive(Debug, Clone)]
pub struct VisitInput {
    pub household_id: String,
    pub visit_type: VisitType,
    pub outcome: VisitOutcome,
    pub needs: Vec<NeedTag>,
    pub note: Option<String>,
    /// 1..5; only on follow-up visits, and required there unless nobody was reached.
    pub satisfaction: Option<u8>,
    /// The case a follow-up visit follows up on (required for follow-ups).
    pub case_id: Option<String>,
    pub location: Option<GeoPoint>,
    /// When the visit happened, if recorded afterwards; default: now.
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ReportInput {
    pub grid_id: String,
    pub category: ReportCategory,
    /// Default: "report at once" for hazards and emergencies, normal otherwise.
    pub urgency: Option<Urgency>,
    pub location: GeoPoint,
    pub place_name: Option<String>,
    pub description: String,
    pub people_involved: u32,
    pub source: ReportSource,
    pub patrol_id: Option<String>,
    pub visit_id: Option<String>,
    /// Photo files to attach (copied into the store, metadata stripped).
    pub photos: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct CaseStepInput {
    pub case_id: String,
    pub to: CaseState,
    pub note: Option<String>,
    /// Any of the six clear items this step establishes.
    pub clear: ClearItems,
    /// Photos for this step; on the step that records the outcome, the first is the after-photo.
    pub photos: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TaskActionInput {
    pub task_id: String,
    pub action: TaskAction,
    /// Required when completing.
    pub result: Option<String>,
    pub photos: Vec<PathBuf>,
}
