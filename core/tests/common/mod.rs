//! Shared fixtures for the core's integration tests: a store initialised from the sample
//! configuration, with a hand-set clock, and tiny real JPEG files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use gridpatrol_core::*;

/// 2026-11-27 09:00 +08:00.
pub const NOW_MS: i64 = 1_764_205_200_000;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub store: Store,
}

pub fn opts(clock: &Arc<ManualClock>) -> StoreOptions {
    StoreOptions { clock: clock.clone(), ..StoreOptions::default() }
}

pub fn fixture() -> Fixture {
    fixture_for("w-001")
}

pub fn fixture_for(worker: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let store = Store::init(dir.path(), &GridConfig::sample(), worker, opts(&clock)).unwrap();
    Fixture { dir, clock, store }
}

impl Fixture {
    pub fn reopen(self) -> Fixture {
        let Fixture { dir, clock, store } = self;
        drop(store);
        let store = Store::open(dir.path(), opts(&clock)).unwrap();
        Fixture { dir, clock, store }
    }

    /// Count rows of a table through a separate connection (what is really on disk).
    pub fn count(&self, table: &str) -> i64 {
        let c = rusqlite::Connection::open(self.dir.path().join(store::DB_FILE)).unwrap();
        c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }

    pub fn all_counts(&self) -> Vec<(String, i64)> {
        [
            "patrol",
            "patrol_track",
            "checkpoint",
            "visit",
            "report",
            "report_photo",
            "case_file",
            "case_event",
            "task",
            "task_event",
            "attachment",
            "attachment_blob",
            "outbox",
        ]
        .iter()
        .map(|t| (t.to_string(), self.count(t)))
        .collect()
    }

    pub fn photo(&self, name: &str, variant: u8) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, tiny_jpeg(variant)).unwrap();
        p
    }
}

/// Inside grid g-0101 of the sample configuration.
pub fn inside() -> GeoPoint {
    GeoPoint { lat: 31.2320, lng: 121.4730 }
}

/// Outside every sample grid.
pub fn outside() -> GeoPoint {
    GeoPoint { lat: 31.3000, lng: 121.5000 }
}

pub fn all_ok_answers(store_template: &Template) -> Vec<ChecklistAnswer> {
    store_template
        .patrol
        .checklist
        .iter()
        .map(|i| ChecklistAnswer { item_id: i.id.clone(), answer: Answer::Ok, note: None })
        .collect()
}

pub fn check_in_at(location: GeoPoint, answers: Vec<ChecklistAnswer>) -> CheckInInput {
    CheckInInput {
        location,
        accuracy_m: Some(8.0),
        place_name: Some("北门 (north gate)".into()),
        answers,
        datum: None,
        mock_location: false,
    }
}

pub fn report_input(grid: &str, photos: Vec<PathBuf>) -> ReportInput {
    ReportInput {
        grid_id: grid.into(),
        category: ReportCategory::SafetyHazard,
        urgency: None,
        location: inside(),
        place_name: Some("3栋车棚 (bike shed)".into()),
        description: "电动车在楼道充电 (e-bike charging in the stairwell)".into(),
        people_involved: 1,
        source: ReportSource::Resident,
        patrol_id: None,
        visit_id: None,
        photos,
        datum: None,
    }
}

pub fn visit_input(household: &str, t: VisitType) -> VisitInput {
    VisitInput {
        household_id: household.into(),
        visit_type: t,
        outcome: VisitOutcome::Met,
        needs: vec![],
        note: None,
        satisfaction: None,
        case_id: None,
        location: None,
        occurred_at: None,
        datum: None,
    }
}

pub fn step(case_id: &str, to: CaseState) -> CaseStepInput {
    CaseStepInput { case_id: case_id.into(), to, note: None, clear: ClearItems::default(), photos: vec![] }
}

pub fn deadline() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(NOW_MS + 3 * 86_400_000).unwrap()
}

/// Everything a grid worker may make clear on the spot (即知即办): all but the ledger reference
/// (the office's) and the satisfaction score (a follow-up visit's), as the role table says.
pub fn all_clear() -> ClearItems {
    ClearItems {
        facts: Some("核实：楼道充电 (verified)".into()),
        responsible_unit: Some("物业 (property management)".into()),
        deadline: Some(deadline()),
        outcome: Some("已清理 (cleared)".into()),
        outcome_photo: None,
        feedback: Some("居民满意 (resident satisfied)".into()),
        satisfaction: None,
        ledger_ref: None,
    }
}

/// A real baseline JPEG (8x8 grey, decodable) with a private comment that the store must
/// strip. `variant` is its grey level, so hashes differ.
pub fn tiny_jpeg(variant: u8) -> Vec<u8> {
    let mut j = Vec::new();
    jpeg_encoder::Encoder::new(&mut j, 90).encode(&[variant; 8 * 8 * 3], 8, 8, jpeg_encoder::ColorType::Rgb).unwrap();
    let com = b"private note: SECRETCAM";
    // After SOI and the JFIF APP0, where cameras put their segments.
    let mut out = j[..20].to_vec();
    out.extend_from_slice(&[0xFF, 0xFE, 0x00, (com.len() + 2) as u8]);
    out.extend_from_slice(com);
    out.extend_from_slice(&j[20..]);
    out
}

/// A photo's blob as the database holds it (read through a separate connection).
pub fn stored_photo(dir: &Path, sha: &str) -> Vec<u8> {
    let c = rusqlite::Connection::open(dir.join(store::DB_FILE)).unwrap();
    c.query_row("SELECT bytes FROM attachment_blob WHERE sha256 = ?1 AND kind = 'photo'", [sha], |r| r.get(0)).unwrap()
}
