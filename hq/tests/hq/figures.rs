//! 三零 and 3456 figures per community from what phones pushed and the street recorded.

use gridpatrol_protocol::domain::*;
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
        json!({ "community_id": "c-02", "kind": "petition", "occurred_at": now().to_rfc3339() }),
    )
    .await;

    let from = (now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let to = (now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let f = hq.admin(Method::GET, &format!("/v1/admin/figures?from={from}&to={to}"), Value::Null).await;
    let c1 = &f["communities"][0];
    let c2 = &f["communities"][1];
    assert_eq!(c1["community_id"], "c-01");
    assert_eq!(c1["patrol_completion"], json!({ "count": 1, "of": 2, "rate": 0.5 }));
    // Must-visit households of c-01: h-0001, h-0003 (g-0101), h-0004 (g-0102); one visited (twice).
    assert_eq!(c1["visit_coverage"]["count"], 1);
    assert_eq!(c1["visit_coverage"]["of"], 3);
    assert_eq!(c1["reports_by_category"]["safety_hazard"], 1);
    assert_eq!(c1["reports_by_category"]["dispute"], 1);
    assert_eq!(c1["reports_by_category"]["emergency"], 0);
    assert_eq!(c1["on_time_closure"], json!({ "count": 1, "of": 1, "rate": 1.0 }));
    assert_eq!(c1["in_grid_resolution"], json!({ "count": 0, "of": 1, "rate": 0.0 }));
    assert_eq!(c1["three_zero"], true);
    assert_eq!(c2["incidents"]["petitions"], 1);
    assert_eq!(c2["three_zero"], false);
    assert_eq!(c2["patrol_completion"]["rate"], Value::Null);
    assert_eq!(f["three_zero_communities"]["count"], 1);

    // A grid leader of g-0102 sees only their grid's share of Donghu.
    let leader = hq.operator("grid_leader", &["g-0102"]).await;
    let (s, f) = hq.get(&format!("/v1/admin/figures?from={from}&to={to}"), &leader).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(f["communities"].as_array().unwrap().len(), 1);
    assert_eq!(f["communities"][0]["patrol_completion"]["of"], 0);
    assert_eq!(f["communities"][0]["visit_coverage"]["of"], 1);
    // Bad periods are client errors.
    let (s, v) = hq.get("/v1/admin/figures?from=2026-02-01&to=2026-01-01", &hq.admin).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    let (s, _) = hq.get("/v1/admin/figures", &hq.admin).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
