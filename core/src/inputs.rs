//! Inputs of the recording operations (what a shell passes in; photos as file paths).

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::case_flow::ClearItems;
use crate::domain::*;
use crate::records::ChecklistAnswer;

#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckInInput {
    pub location: GeoPoint,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub accuracy_m: Option<f64>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub place_name: Option<String>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub answers: Vec<ChecklistAnswer>,
    /// The coordinate system `location` is in (a map SDK's: AMap/Tencent GCJ-02, Baidu BD-09);
    /// stored as WGS-84. None: WGS-84, as the phone's own location service gives it.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub datum: Option<Datum>,
    /// The OS reported a mock-location provider (Android `Location.isMock()`, iOS
    /// `CLLocationSourceInformation.isSimulatedBySoftware`): recorded and flagged, not refused.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub mock_location: bool,
}

#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitInput {
    pub household_id: String,
    pub visit_type: VisitType,
    pub outcome: VisitOutcome,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub needs: Vec<NeedTag>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub note: Option<String>,
    /// 1..5; only on follow-up visits, and required there unless nobody was reached.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub satisfaction: Option<u8>,
    /// The case a follow-up visit follows up on (required for follow-ups).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub case_id: Option<String>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub location: Option<GeoPoint>,
    /// When the visit happened, if recorded afterwards; default: now.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub occurred_at: Option<DateTime<Utc>>,
    /// The coordinate system `location` is in (a map SDK's: AMap/Tencent GCJ-02, Baidu BD-09);
    /// stored as WGS-84. None: WGS-84, as the phone's own location service gives it.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub datum: Option<Datum>,
}

#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReportInput {
    pub grid_id: String,
    pub category: ReportCategory,
    /// Default: "report at once" for hazards and emergencies, normal otherwise.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub urgency: Option<Urgency>,
    pub location: GeoPoint,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub place_name: Option<String>,
    pub description: String,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub people_involved: u32,
    pub source: ReportSource,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub patrol_id: Option<String>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub visit_id: Option<String>,
    /// Photo files to attach (copied into the store, metadata stripped).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub photos: Vec<PathBuf>,
    /// The coordinate system `location` is in (a map SDK's: AMap/Tencent GCJ-02, Baidu BD-09);
    /// stored as WGS-84. None: WGS-84, as the phone's own location service gives it.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub datum: Option<Datum>,
}

#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaseStepInput {
    pub case_id: String,
    pub to: CaseState,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub note: Option<String>,
    /// Any of the six clear items this step establishes.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub clear: ClearItems,
    /// Photos for this step; on the step that records the outcome, the first is the after-photo.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub photos: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskActionInput {
    pub task_id: String,
    pub action: TaskAction,
    /// Required when completing.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub result: Option<String>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub photos: Vec<PathBuf>,
    /// The GPS fix when arriving on site (required for `Arrive`).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub location: Option<GeoPoint>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub datum: Option<Datum>,
}
