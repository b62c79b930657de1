//! 三零 and 3456 figures per community, grid and worker from what phones pushed and the street
//! recorded: a hand-built day whose every figure is computed by hand below, against the
//! definitions HQ returns with them.

use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::{Command, TaskEvent};
use gridpatrol_protocol::wire::OpStatus;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(figures_per_community);

async fn figures_per_community(hq: &Hq) {
    hq.seed().await;
    let mut a = hq.phone("w-001").await;
    let (complete, incomplete) = (new_id(), new_id());
    let (rep, case_id) = report("w-001", "g-0101", ReportCategory::SafetyHazard, Some(&incomplete), vec![]);
    let r = a
        .push(&[
            // 三到 complete: two check-ins inside, every item answered, nothing found logged.
            start_patrol("w-001", "g-0101", &complete),
            check_in(&complete, inside_g0101(), &CHECKLIST[..3]),
            check_in(&complete, inside_g0101(), &CHECKLIST[3..]),
            finish_patrol(&complete, PatrolOutcome::NothingFound),
            // Not complete: one check-in outside the grid.
            start_patrol("w-001", "g-0101", &incomplete),
            check_in(&incomplete, GeoPoint { lat: 40.0, lng: 116.0 }, &CHECKLIST),
            rep,
            finish_patrol(&incomplete, PatrolOutcome::Findings),
            visit("w-001", "h-0001", "g-0101", VisitType::MustVisit),
            visit("w-001", "h-0001", "g-0101", VisitType::MustVisit),
            report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]).0,
        ])
        .await;
    assert!(statuses(&r).iter().all(|s| *s == OpStatus::Applied), "{r:?}");
    // The street closes the hazard on time, never dispatching it outside the grid? No: it is
    // dispatched (deadline), so it is on time but not resolved in the grid.
    let path = format!("/v1/admin/cases/{case_id}/actions");
    let photo = sha(b"after");
    for body in [
        json!({ "action": "accept" }),
        json!({ "action": "open" }),
        json!({ "action": "dispatch", "deadline": (now() + chrono::Duration::days(1)).to_rfc3339(), "responsible_unit": "物业" }),
    ] {
        hq.admin(Method::POST, &path, body).await;
    }
    a.push(&[case_step(&case_id, "w-001", CaseState::Dispatched, CaseState::Handling, Default::default(), vec![])])
        .await;
    hq.admin(Method::POST, &path, json!({ "action": "verify", "photos": [photo] })).await;
    let mut clear = all_clear(&photo);
    clear.deadline = None;
    hq.admin(Method::POST, &path, json!({ "action": "close", "clear": clear })).await;
    // A petition in Xihu (c-02).
    hq.admin(
        Method::POST,
        "/v1/admin/incidents",
        json!({ "community_id": "c-02", "kind": "petition", "occurred_at": now().to_rfc3339(), "note": "越级上访一起" }),
    )
    .await;

    // 110 diversions in g-0101 (limits: acknowledge within 30 minutes, arrive within 120):
    // A is acknowledged, reached and done at once; B is sent back unacknowledged; C was
    // dispatched three hours ago (imported), due an hour ago, and nobody moved.
    hq.admin(
        Method::PUT,
        "/v1/admin/settings/timeliness",
        json!({ "acknowledge_within_minutes": 30, "arrive_within_minutes": 120 }),
    )
    .await;
    let task = |id: &str, dispatched: chrono::DateTime<chrono::Utc>, deadline: chrono::DateTime<chrono::Utc>| {
        json!({ "id": id, "source": "diversion_110", "title": "噪音纠纷", "target_unit": "人民调解", "assignee_id": "w-001",
                "grid_id": "g-0101", "deadline": deadline.to_rfc3339(), "dispatched_at": dispatched.to_rfc3339() })
    };
    let mut config = street();
    config["tasks"] = json!([
        task("t-a", now(), now() + chrono::Duration::hours(4)),
        task("t-b", now(), now() + chrono::Duration::hours(4)),
        task("t-c", now() - chrono::Duration::hours(3), now() - chrono::Duration::hours(1)),
    ]);
    hq.admin(Method::POST, "/v1/admin/import", config).await;
    let step =
        |id: &str, action: TaskAction, from: TaskStatus, to: TaskStatus, result: Option<&str>, at: Option<GeoPoint>| {
            Command::TaskStep {
                event: TaskEvent {
                    id: new_id(),
                    task_id: id.into(),
                    action,
                    from,
                    to,
                    at: now(),
                    result: result.map(str::to_string),
                    photos: vec![],
                    location: at,
                },
            }
        };
    let r = a
        .push(&[
            step("t-a", TaskAction::Acknowledge, TaskStatus::Dispatched, TaskStatus::Acknowledged, None, None),
            step("t-a", TaskAction::Arrive, TaskStatus::Acknowledged, TaskStatus::Arrived, None, Some(inside_g0101())),
            step("t-a", TaskAction::Complete, TaskStatus::Arrived, TaskStatus::Done, Some("已调解"), None),
            step("t-b", TaskAction::SendBack, TaskStatus::Dispatched, TaskStatus::SentBack, Some("非网格事项"), None),
        ])
        .await;
    assert!(statuses(&r).iter().all(|s| *s == OpStatus::Applied), "{r:?}");

    let from = (now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let to = (now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let f = hq.admin(Method::GET, &format!("/v1/admin/figures?from={from}&to={to}"), Value::Null).await;
    let c1 = &f["communities"][0];
    let c2 = &f["communities"][1];
    assert_eq!(c1["community_id"], "c-01");
    assert_eq!(c1["patrol_completion"], json!({ "count": 1, "of": 2, "rate": 0.5 }));
    // Three local days × two grids; one night patrol (the helper's shift) finished with trusted
    // check-ins, in g-0101 today. The other one's only check-in was outside: not counted.
    assert_eq!(c1["grid_night_coverage"], json!({ "count": 1, "of": 6, "rate": 0.1667 }));
    assert_eq!(c1["grid_day_coverage"], json!({ "count": 0, "of": 6, "rate": 0.0 }));
    // Must-visit households of c-01: h-0001, h-0003 (g-0101), h-0004 (g-0102); one visited (twice).
    assert_eq!(c1["must_visit_coverage"]["count"], 1);
    assert_eq!(c1["must_visit_coverage"]["of"], 3);
    // 110: A on time at every step; B sent back (left out of the rates); C late at every step.
    let d = &c1["diversion_110"];
    assert_eq!(d["count"], 3);
    assert_eq!(d["acknowledged_on_time"], json!({ "count": 1, "of": 2, "rate": 0.5 }));
    assert_eq!(d["arrived_on_time"], json!({ "count": 1, "of": 2, "rate": 0.5 }));
    assert_eq!(d["closed_on_time"], json!({ "count": 1, "of": 2, "rate": 0.5 }));
    assert_eq!(d["sent_back"], 1);
    // Per grid: g-0101 holds all of it, g-0102 none.
    let g = |id: &str| f["grids"].as_array().unwrap().iter().find(|g| g["grid_id"] == id).unwrap().clone();
    assert_eq!(g("g-0101")["grid_night_coverage"], json!({ "count": 1, "of": 3, "rate": 0.3333 }));
    assert_eq!(g("g-0101")["diversion_110"]["count"], 3);
    assert_eq!(g("g-0102")["patrol_completion"]["of"], 0);
    // Per worker: w-001 did everything here.
    let w = f["workers"].as_array().unwrap().iter().find(|w| w["worker_id"] == "w-001").unwrap();
    assert_eq!((w["patrols"].as_i64(), w["trusted_checkins"].as_i64()), (Some(2), Some(2)));
    assert_eq!((w["visits"].as_i64(), w["reports"].as_i64()), (Some(2), Some(2)));
    assert_eq!(w["tasks_on_time"], json!({ "count": 1, "of": 2, "rate": 0.5 }));
    // Every figure shown is defined in the answer.
    let defined: Vec<&str> =
        f["definitions"].as_array().unwrap().iter().map(|d| d["figure"].as_str().unwrap()).collect();
    for key in ["grid_day_coverage", "grid_night_coverage", "must_visit_coverage", "in_grid_resolution", "three_zero"] {
        assert!(defined.contains(&key), "{key} has no definition");
    }
    assert_eq!(c1["reports_by_category"]["safety_hazard"], 1);
    assert_eq!(c1["reports_by_category"]["dispute"], 1);
    assert_eq!(c1["reports_by_category"]["emergency"], 0);
    assert_eq!(c1["on_time_closure"], json!({ "count": 1, "of": 1, "rate": 1.0 }));
    assert_eq!(c1["in_grid_resolution"], json!({ "count": 0, "of": 1, "rate": 0.0 }));
    assert_eq!(c1["three_zero"], true);
    assert_eq!(c2["incidents"]["petitions"], 1);
    assert_eq!(c2["three_zero"], false);
    let why = c2["incident_list"][0].as_str().unwrap();
    assert!(why.contains("越级上访") && why.contains("越级上访一起") && why.contains("+08:00"), "{why}");
    assert_eq!(c2["patrol_completion"]["rate"], Value::Null);
    assert_eq!(f["three_zero_communities"]["count"], 1);

    // A grid leader of g-0102 sees only their grid's share of Donghu.
    let leader = hq.operator("grid_leader", &["g-0102"]).await;
    let (s, f) = hq.get(&format!("/v1/admin/figures?from={from}&to={to}"), &leader).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(f["communities"].as_array().unwrap().len(), 1);
    assert_eq!(f["communities"][0]["patrol_completion"]["of"], 0);
    assert_eq!(f["communities"][0]["must_visit_coverage"]["of"], 1);
    // Bad periods are client errors.
    let (s, v) = hq.get("/v1/admin/figures?from=2026-02-01&to=2026-01-01", &hq.admin).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    let (s, _) = hq.get("/v1/admin/figures", &hq.admin).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
