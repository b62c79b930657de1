//! One rule, one verdict: the same table of good and bad records goes through the phone's
//! recording path (a real store) and through HQ's push path (a real HQ over HTTP), and both
//! must accept or refuse each one alike, with the same error code. The rules live once, in
//! `protocol/src/rules.rs`; this test fails if either side grows a rule of its own.

mod common;

use chrono::Utc;
use common::*;
use gridpatrol_core::records::*;
use gridpatrol_core::*;
use gridpatrol_protocol::case_flow::{self, ClearItems};
use gridpatrol_protocol::roles;
use gridpatrol_protocol::wire::{EnrolRequest, EnrolResponse, PushRequest, PushResponse, PROTOCOL_HEADER};
use serde_json::json;

/// A device pushing raw records to HQ, as a phone's outbox would.
struct RawDevice {
    url: String,
    client: reqwest::Client,
    enrolled: EnrolResponse,
    device_id: String,
    seq: i64,
}

impl RawDevice {
    async fn enrol(hq: &Hq, worker: &str) -> RawDevice {
        let device_id = uuid::Uuid::now_v7().to_string();
        let req = EnrolRequest {
            code: hq.code(worker).await,
            device_id: device_id.clone(),
            epoch: 0,
            app_version: "rules-test".into(),
            installation_id: Some(format!("installation-{device_id}")),
        };
        let client = reqwest::Client::new();
        let resp = client.post(format!("{}/v1/enrol", hq.url)).json(&req).send().await.unwrap();
        assert!(resp.status().is_success());
        let enrolled: EnrolResponse = resp.json().await.unwrap();
        RawDevice { url: hq.url.clone(), client, device_id, enrolled, seq: 0 }
    }

    /// Push one command; `None` when applied, the refusal's code otherwise.
    async fn push(&mut self, cmd: &Command) -> Option<String> {
        self.seq += 1;
        let req = PushRequest {
            device_id: self.enrolled.device_id.clone().unwrap_or(self.device_id.clone()),
            epoch: self.enrolled.epoch,
            device_time_ms: Utc::now().timestamp_millis(),
            device_hlc: None,
            ops: vec![gridpatrol_protocol::wire::PushOp {
                seq: self.seq,
                mutation_id: uuid::Uuid::now_v7().to_string(),
                hlc: format!("{:015}-{:06}", Utc::now().timestamp_millis(), self.seq),
                device_ms: Utc::now().timestamp_millis(),
                command: serde_json::to_value(cmd).unwrap(),
            }],
        };
        let resp = self
            .client
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&self.enrolled.device_token)
            .header(PROTOCOL_HEADER, "2")
            .json(&req)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        let r: PushResponse = resp.json().await.unwrap();
        match r.results[0].status {
            gridpatrol_protocol::wire::OpStatus::Applied => None,
            _ => Some(r.results[0].code.clone().unwrap_or_default()),
        }
    }
}

fn verdict<T>(r: gridpatrol_core::Result<T>) -> Option<String> {
    r.err().map(|e| e.code().to_string())
}

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// What a visit case varies.
#[derive(Clone, Default)]
struct VisitSpec {
    note: Option<String>,
    satisfaction: Option<u8>,
    follow_up: bool,
    case_id: Option<String>,
}

/// What a report case varies.
#[derive(Clone)]
struct ReportSpec {
    description: String,
    place_name: Option<String>,
    people_involved: u32,
}

fn report_ok() -> ReportSpec {
    ReportSpec { description: "楼道堆物 (clutter)".into(), place_name: None, people_involved: 0 }
}

const IN_GRID: GeoPoint = GeoPoint { lat: 31.232, lng: 121.473 };

async fn both_sides_apply_the_same_rules(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let mut raw = RawDevice::enrol(&hq, "w-001").await;
    let long = |n: usize| "字".repeat(n);
    let mut checked = 0;

    // ---- visits ----
    let visits: Vec<(&str, VisitSpec, Option<&str>)> = vec![
        ("plain", VisitSpec::default(), None),
        ("note at the limit", VisitSpec { note: Some(long(1000)), ..Default::default() }, None),
        ("note too long", VisitSpec { note: Some(long(1001)), ..Default::default() }, Some("invalid_input")),
        ("control character", VisitSpec { note: Some("a\u{7}b".into()), ..Default::default() }, Some("invalid_input")),
        (
            "satisfaction on a routine visit",
            VisitSpec { satisfaction: Some(4), ..Default::default() },
            Some("invalid_input"),
        ),
        (
            "follow-up without its case",
            VisitSpec { follow_up: true, satisfaction: Some(4), ..Default::default() },
            Some("invalid_input"),
        ),
        (
            "follow-up satisfaction 0",
            VisitSpec { follow_up: true, satisfaction: Some(0), case_id: Some("c-1".into()), ..Default::default() },
            Some("invalid_input"),
        ),
    ];
    for (name, spec, expect) in visits {
        let visit_type = if spec.follow_up { VisitType::FollowUp } else { VisitType::Routine };
        let on_phone = verdict(phone.store.record_visit(VisitInput {
            household_id: "h-0001".into(),
            visit_type,
            outcome: VisitOutcome::Met,
            needs: vec![],
            note: spec.note.clone(),
            satisfaction: spec.satisfaction,
            case_id: spec.case_id.clone(),
            location: None,
            occurred_at: None,
            datum: None,
        }));
        let at_hq = raw
            .push(&Command::RecordVisit {
                visit: Visit {
                    id: id(),
                    worker_id: "w-001".into(),
                    household_id: "h-0001".into(),
                    grid_id: "g-0101".into(),
                    visit_type,
                    outcome: VisitOutcome::Met,
                    needs: vec![],
                    note: spec.note.clone(),
                    satisfaction: spec.satisfaction,
                    case_id: spec.case_id.clone(),
                    location: None,
                    occurred_at: Utc::now(),
                },
            })
            .await;
        assert_eq!(on_phone.as_deref(), expect, "phone, visit: {name}");
        assert_eq!(at_hq.as_deref(), expect, "HQ, visit: {name}");
        checked += 1;
    }

    // ---- reports ----
    let reports: Vec<(&str, ReportSpec, Option<&str>)> = vec![
        ("plain", report_ok(), None),
        ("description at the limit", ReportSpec { description: long(2000), ..report_ok() }, None),
        ("description empty", ReportSpec { description: "  ".into(), ..report_ok() }, Some("invalid_input")),
        ("description too long", ReportSpec { description: long(2001), ..report_ok() }, Some("invalid_input")),
        ("place too long", ReportSpec { place_name: Some(long(201)), ..report_ok() }, Some("invalid_input")),
        ("too many people", ReportSpec { people_involved: 10_001, ..report_ok() }, Some("invalid_input")),
    ];
    for (name, spec, expect) in reports {
        let on_phone = verdict(phone.store.file_report(ReportInput {
            grid_id: "g-0101".into(),
            category: ReportCategory::Dispute,
            urgency: None,
            location: IN_GRID,
            place_name: spec.place_name.clone(),
            description: spec.description.clone(),
            people_involved: spec.people_involved,
            source: ReportSource::Resident,
            patrol_id: None,
            visit_id: None,
            photos: vec![],
            datum: None,
        }));
        let at_hq = raw.push(&report_command(&spec)).await;
        assert_eq!(on_phone.as_deref(), expect, "phone, report: {name}");
        assert_eq!(at_hq.as_deref(), expect, "HQ, report: {name}");
        checked += 1;
    }

    // ---- check-ins (a patrol in progress on both sides) ----
    let patrol = phone.store.start_patrol("g-0101", PatrolShift::Day).unwrap();
    let hq_patrol = id();
    let start = Command::StartPatrol {
        patrol: Patrol {
            id: hq_patrol.clone(),
            worker_id: "w-001".into(),
            grid_id: "g-0101".into(),
            shift: PatrolShift::Day,
            template_id: patrol.template_id.clone(),
            template_version: patrol.template_version,
            started_at: Utc::now(),
            finished_at: None,
            outcome: None,
            note: None,
        },
    };
    assert_eq!(raw.push(&start).await, None);
    type CheckInCase<'a> = (&'a str, Option<f64>, Option<String>, Option<&'a str>);
    let check_ins: Vec<CheckInCase<'_>> = vec![
        ("accurate", Some(5.0), None, None),
        ("accuracy at the limit", Some(100_000.0), None, None),
        ("negative accuracy", Some(-1.0), None, Some("invalid_input")),
        ("accuracy too large", Some(100_001.0), None, Some("invalid_input")),
        ("place too long", Some(5.0), Some(long(201)), Some("invalid_input")),
    ];
    for (name, accuracy_m, place_name, expect) in check_ins {
        let on_phone = verdict(phone.store.check_in(
            &patrol.id,
            CheckInInput {
                location: IN_GRID,
                accuracy_m,
                place_name: place_name.clone(),
                answers: vec![],
                datum: None,
                mock_location: false,
            },
        ));
        let at_hq = raw
            .push(&Command::CheckIn {
                checkpoint: Checkpoint {
                    id: id(),
                    patrol_id: hq_patrol.clone(),
                    at: Utc::now(),
                    location: IN_GRID,
                    accuracy_m,
                    inside_grid: true,
                    place_name,
                    answers: vec![],
                    mock_location: false,
                    trusted: true,
                },
            })
            .await;
        assert_eq!(on_phone.as_deref(), expect, "phone, check-in: {name}");
        assert_eq!(at_hq.as_deref(), expect, "HQ, check-in: {name}");
        checked += 1;
    }

    // ---- case steps: the six clear items as a step gives them ----
    let phone_case = phone.report(vec![]).case_id;
    let hq_report = report_command(&report_ok());
    let Command::FileReport { report } = &hq_report else { unreachable!() };
    let hq_case = report.case_id.clone();
    assert_eq!(raw.push(&hq_report).await, None);
    let hash = "ab".repeat(32);
    use CaseState::{Accepted, Closed};
    let steps: Vec<(&str, CaseState, ClearItems, Option<&str>)> = vec![
        (
            "upper-case photo hash",
            Accepted,
            ClearItems { outcome_photo: Some(hash.to_uppercase()), ..Default::default() },
            Some("invalid_input"),
        ),
        (
            "short photo hash",
            Accepted,
            ClearItems { outcome_photo: Some(hash[..60].into()), ..Default::default() },
            Some("invalid_input"),
        ),
        (
            "unit too long",
            Accepted,
            ClearItems { responsible_unit: Some("x".repeat(101)), ..Default::default() },
            Some("invalid_input"),
        ),
        ("satisfaction 6", Accepted, ClearItems { satisfaction: Some(6), ..Default::default() }, Some("invalid_input")),
        (
            "implausible deadline",
            Accepted,
            ClearItems { deadline: Some(chrono::DateTime::from_timestamp_millis(0).unwrap()), ..Default::default() },
            Some("invalid_input"),
        ),
        (
            "well-formed, but accepting is the office's step",
            Accepted,
            ClearItems { responsible_unit: Some("x".repeat(100)), ..Default::default() },
            Some("role_not_allowed"),
        ),
        (
            "a worker writing the ledger",
            Closed,
            ClearItems { ledger_ref: Some("TZ-1".into()), ..Default::default() },
            Some("role_not_allowed"),
        ),
        (
            "satisfaction typed into a step",
            Closed,
            ClearItems { satisfaction: Some(5), ..Default::default() },
            Some("invalid_input"),
        ),
        ("on the spot without a photo", Closed, ClearItems::default(), Some("invalid_input")),
    ];
    for (name, to, clear, expect) in steps {
        let on_phone = verdict(phone.store.move_case(CaseStepInput {
            case_id: phone_case.clone(),
            to,
            note: None,
            clear: clear.clone(),
            photos: vec![],
        }));
        let at_hq = raw.push(&case_step_command(&hq_case, 2, CaseState::Reported, to, "w-001", clear)).await;
        assert_eq!(on_phone.as_deref(), expect, "phone, case step: {name}");
        assert_eq!(at_hq.as_deref(), expect, "HQ, case step: {name}");
        checked += 1;
    }

    // ---- task steps: a result and photos go with completing only ----
    hq.dispatch("t-rules-1", "w-001").await;
    phone.sync().await.unwrap();
    let tasks: Vec<(&str, TaskAction, Option<&str>, Option<&str>)> = vec![
        ("acknowledge with a result", TaskAction::Acknowledge, Some("done"), Some("invalid_input")),
        ("complete without a result", TaskAction::Complete, None, Some("invalid_input")),
        ("acknowledge", TaskAction::Acknowledge, None, None),
    ];
    for (name, action, result, expect) in tasks {
        let on_phone = verdict(phone.store.act_on_task(TaskActionInput {
            task_id: "t-rules-1".into(),
            action,
            result: result.map(str::to_string),
            photos: vec![],
            location: None,
            datum: None,
        }));
        let (from, to) = (TaskStatus::Dispatched, TaskStatus::Acknowledged);
        let at_hq = raw
            .push(&Command::TaskStep {
                event: TaskEvent {
                    id: id(),
                    task_id: "t-rules-1".into(),
                    action,
                    from,
                    to,
                    at: Utc::now(),
                    result: result.map(str::to_string),
                    photos: vec![],
                    location: None,
                },
            })
            .await;
        assert_eq!(on_phone.as_deref(), expect, "phone, task step: {name}");
        assert_eq!(at_hq.as_deref(), expect, "HQ, task step: {name}");
        checked += 1;
    }
    assert_eq!(checked, 7 + 6 + 5 + 9 + 3);
    hq.stop().await;
}

fn report_command(spec: &ReportSpec) -> Command {
    Command::FileReport {
        report: Report {
            id: id(),
            worker_id: "w-001".into(),
            grid_id: "g-0101".into(),
            category: ReportCategory::Dispute,
            urgency: Urgency::Normal,
            location: IN_GRID,
            place_name: spec.place_name.clone(),
            description: spec.description.clone(),
            people_involved: spec.people_involved,
            source: ReportSource::Resident,
            patrol_id: None,
            visit_id: None,
            occurred_at: Utc::now(),
            photos: vec![],
            case_id: id(),
        },
    }
}

/// A case step as a phone would push it, written by hand so that HQ judges it without the phone's checks.
fn case_step_command(
    case_id: &str,
    n: u32,
    from: CaseState,
    to: CaseState,
    actor_id: &str,
    clear: ClearItems,
) -> Command {
    Command::CaseStep {
        event: CaseEvent {
            id: id(),
            case_id: case_id.into(),
            n,
            from: Some(from),
            to,
            actor_id: actor_id.into(),
            at: Utc::now(),
            note: None,
            clear,
            photos: vec![],
        },
    }
}

/// The role table from both sides: a volunteer (w-002) tries every step of the lifecycle while
/// the street office walks a case from 上报 to 结案. At each state the phone and HQ give the same
/// verdict: `role_not_allowed`, except solving on the spot (the volunteer's own step, here
/// refused only for want of a photo).
async fn a_volunteer_is_refused_every_office_step_on_both_sides(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-002").await, NOW_MS).await;
    let mut raw = RawDevice::enrol(&hq, "w-002").await;
    let mut leader = RawDevice::enrol(&hq, "w-003").await;
    let report = phone
        .store
        .file_report(ReportInput {
            grid_id: "g-0102".into(),
            category: ReportCategory::Dispute,
            urgency: None,
            location: IN_GRID,
            place_name: None,
            description: "邻里噪音 (noise between neighbours)".into(),
            people_involved: 2,
            source: ReportSource::Resident,
            patrol_id: None,
            visit_id: None,
            photos: vec![],
            datum: None,
        })
        .unwrap();
    phone.sync().await.unwrap();
    let case = report.case_id.clone();
    let path = format!("/v1/admin/cases/{case}/actions");
    let after = "ab".repeat(32);
    let deadline = (Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let mut tried = 0;
    let mut allowed = Vec::new();
    for state in [
        CaseState::Reported,
        CaseState::Accepted,
        CaseState::Opened,
        CaseState::Dispatched,
        CaseState::Handling,
        CaseState::Verified,
        CaseState::Closed,
    ] {
        phone.sync().await.unwrap();
        assert_eq!(phone.store.case_timeline(&case).unwrap().state, state, "the phone follows HQ");
        let offered: Vec<CaseState> =
            phone.store.case_timeline(&case).unwrap().next_steps.iter().map(|o| o.to).collect();
        assert_eq!(
            offered,
            roles::next_states_for(Actor::Volunteer, state),
            "the screen offers only the volunteer's steps"
        );
        for to in case_flow::next_states(state) {
            let on_phone = verdict(phone.store.move_case(CaseStepInput {
                case_id: case.clone(),
                to: *to,
                note: None,
                clear: ClearItems::default(),
                photos: vec![],
            }));
            let at_hq = raw.push(&case_step_command(&case, 99, state, *to, "w-002", ClearItems::default())).await;
            let expect = if roles::may_take(Actor::Volunteer, state, *to) {
                allowed.push((state, *to));
                "invalid_input"
            } else {
                "role_not_allowed"
            };
            assert_eq!(on_phone.as_deref(), Some(expect), "phone: {state:?} -> {to:?}");
            assert_eq!(at_hq.as_deref(), Some(expect), "HQ: {state:?} -> {to:?}");
            tried += 1;
        }
        // The case moves on: the office's actions, the grid leader's handling.
        let next = match state {
            CaseState::Reported => json!({ "action": "accept" }),
            CaseState::Accepted => json!({ "action": "open" }),
            CaseState::Opened => {
                json!({ "action": "dispatch", "deadline": deadline, "responsible_unit": "人民调解 (mediation)" })
            }
            CaseState::Dispatched => {
                let step = case_step_command(&case, 5, state, CaseState::Handling, "w-003", ClearItems::default());
                assert_eq!(leader.push(&step).await, None, "the grid leader handles it");
                continue;
            }
            CaseState::Handling => json!({ "action": "verify", "photos": [after] }),
            CaseState::Verified => json!({ "action": "close", "clear": {
                "facts": "噪音属实 (confirmed)", "outcome": "已调解 (mediated)",
                "feedback": "双方满意 (both satisfied)", "ledger_ref": "TZ-2026-0002" } }),
            _ => break,
        };
        hq.admin(reqwest::Method::POST, &path, Some(next)).await;
    }
    assert_eq!(allowed, vec![(CaseState::Reported, CaseState::Closed)], "a volunteer solves on the spot, nothing more");
    assert!(tried >= 15, "{tried} steps tried");
    hq.stop().await;
}

both!(both_sides_apply_the_same_rules, a_volunteer_is_refused_every_office_step_on_both_sides);
