//! Cases: the street office's steps reach the phone; steps HQ can no longer take are kept
//! as visible conflicts; closing needs the six clear items.

use gridpatrol_protocol::case_flow::ClearItems;
use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::wire::OpStatus;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

both!(operator_steps_reach_the_phone, late_phone_steps_become_conflicts);

async fn operator_steps_reach_the_phone(hq: &Hq) {
    hq.seed().await;
    let mut a = hq.phone("w-001").await;
    let mut leader = hq.phone("w-003").await;
    let mut ca = a.cursors();
    let photo = sha(b"before");
    let (rep, case_id) = report("w-001", "g-0101", ReportCategory::SafetyHazard, None, vec![photo.clone()]);
    assert_eq!(statuses(&a.push(&[rep]).await), vec![OpStatus::Applied]);
    let path = format!("/v1/admin/cases/{case_id}/actions");
    for action in ["accept", "open"] {
        hq.admin(Method::POST, &path, json!({ "action": action })).await;
    }
    // Dispatch starts the deadline clock: without a deadline it is refused.
    let (s, v) = hq.post(&path, &hq.admin, json!({ "action": "dispatch" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let deadline = (now() + chrono::Duration::days(2)).to_rfc3339();
    hq.admin(
        Method::POST,
        &path,
        json!({ "action": "dispatch", "deadline": deadline, "responsible_unit": "城管 (urban management)" }),
    )
    .await;
    // Illegal from here: 409.
    let (s, v) = hq.post(&path, &hq.admin, json!({ "action": "accept" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    let pages = a.pull_all(&mut ca).await;
    let snap = pages.iter().flat_map(|p| p.cases.clone()).last().expect("the case reaches the phone");
    let states: Vec<CaseState> = snap.events.iter().map(|e| e.to).collect();
    assert_eq!(states, vec![CaseState::Reported, CaseState::Accepted, CaseState::Opened, CaseState::Dispatched]);
    assert_eq!(snap.events[3].actor_id, "street-admin");
    assert!(snap.events[3].clear.deadline.is_some());
    // The grid leader covers g-0101 and sees it too; w-002 (g-0102) does not.
    let mut cl = leader.cursors();
    assert!(leader.pull_all(&mut cl).await.iter().any(|p| p.cases.iter().any(|c| c.case_id == case_id)));
    let b = hq.phone("w-002").await;
    let mut cb = b.cursors();
    assert!(b.pull_all(&mut cb).await.iter().all(|p| p.cases.is_empty()));

    // The worker handles it on the phone; the street verifies and closes with six clear.
    let after = sha(b"after");
    let r = a
        .push(&[case_step(
            &case_id,
            "w-001",
            CaseState::Dispatched,
            CaseState::Handling,
            ClearItems::default(),
            vec![],
        )])
        .await;
    assert_eq!(statuses(&r), vec![OpStatus::Applied], "{r:?}");
    hq.admin(Method::POST, &path, json!({ "action": "verify", "photos": [after] })).await;
    let (s, v) = hq.post(&path, &hq.admin, json!({ "action": "close" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "closing needs the six clear items: {v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("台账清"), "{v}");
    let mut clear = all_clear(&after);
    clear.deadline = None;
    hq.admin(Method::POST, &path, json!({ "action": "close", "clear": clear })).await;
    let detail = hq.admin(Method::GET, &format!("/v1/admin/cases/{case_id}"), serde_json::Value::Null).await;
    assert_eq!(detail["state"], "closed");
    assert_eq!(detail["report"]["photos"], json!([photo]));
    assert_eq!(detail["events"].as_array().unwrap().len(), 7);
    let pages = a.pull_all(&mut ca).await;
    let snap = pages.iter().flat_map(|p| p.cases.clone()).last().unwrap();
    assert_eq!(snap.events.last().unwrap().to, CaseState::Closed);
    // 反馈清 from the follow-up visit: its satisfaction becomes the case's.
    let mut follow = visit("w-001", "h-0001", "g-0101", VisitType::FollowUp);
    if let gridpatrol_protocol::records::Command::RecordVisit { visit } = &mut follow {
        visit.satisfaction = Some(4);
        visit.case_id = Some(case_id.clone());
    }
    assert_eq!(statuses(&a.push(&[follow]).await), vec![OpStatus::Applied]);
    let detail = hq.admin(Method::GET, &format!("/v1/admin/cases/{case_id}"), serde_json::Value::Null).await;
    assert_eq!(detail["clear"]["satisfaction"], 4, "{detail}");
    // Reopen goes back to opened.
    hq.admin(Method::POST, &path, json!({ "action": "reopen", "note": "居民反映仍有问题" })).await;
    let pages = a.pull_all(&mut ca).await;
    let snap = pages.iter().flat_map(|p| p.cases.clone()).last().unwrap();
    assert_eq!(snap.events.last().unwrap().to, CaseState::Opened);
    let _ = &mut leader;
}

async fn late_phone_steps_become_conflicts(hq: &Hq) {
    hq.seed().await;
    let mut a = hq.phone("w-001").await;
    let (rep, case_id) = report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]);
    a.push(&[rep]).await;
    // HQ accepts while the phone, offline, solves it on the spot (reported → closed).
    hq.admin(Method::POST, &format!("/v1/admin/cases/{case_id}/actions"), json!({ "action": "accept" })).await;
    let photo = sha(b"fixed");
    let r = a
        .push(&[case_step(
            &case_id,
            "w-001",
            CaseState::Reported,
            CaseState::Closed,
            all_clear(&photo),
            vec![photo.clone()],
        )])
        .await;
    assert_eq!(statuses(&r), vec![OpStatus::Conflict], "{r:?}");
    // The office opens and dispatches; the phone, still offline, starts handling. Legal from
    // HQ's state and this worker's to take (protocol/src/roles.rs): applied, and the collision
    // is recorded as well.
    let path = format!("/v1/admin/cases/{case_id}/actions");
    hq.admin(Method::POST, &path, json!({ "action": "open" })).await;
    let deadline = (now() + chrono::Duration::days(2)).to_rfc3339();
    hq.admin(Method::POST, &path, json!({ "action": "dispatch", "deadline": deadline })).await;
    let r = a
        .push(&[case_step(&case_id, "w-001", CaseState::Reported, CaseState::Handling, ClearItems::default(), vec![])])
        .await;
    assert_eq!(statuses(&r), vec![OpStatus::Conflict], "{r:?}");
    let conflicts = hq.admin(Method::GET, "/v1/admin/conflicts", serde_json::Value::Null).await;
    let mut res: Vec<&str> = conflicts.as_array().unwrap().iter().map(|c| c["resolution"].as_str().unwrap()).collect();
    res.sort();
    assert_eq!(res, vec!["applied", "not_applied"]);
    assert!(conflicts[0]["payload"]["event"].is_object(), "what the phone sent is kept");
    let detail = hq.admin(Method::GET, &format!("/v1/admin/cases/{case_id}"), serde_json::Value::Null).await;
    assert_eq!(detail["state"], "handling");
    // A step that was never legal (and HQ did not move the case) is rejected, not a conflict.
    let r = a
        .push(&[case_step(&case_id, "w-001", CaseState::Handling, CaseState::Archived, ClearItems::default(), vec![])])
        .await;
    assert_eq!(statuses(&r), vec![OpStatus::Rejected]);
    // Legal, but the office's to take: rejected with the role table's code.
    let r = a
        .push(&[case_step(&case_id, "w-001", CaseState::Handling, CaseState::Verified, ClearItems::default(), vec![])])
        .await;
    assert_eq!(r.results[0].code.as_deref(), Some("role_not_allowed"), "{r:?}");
    // A case in a grid not the worker's: forbidden.
    let mut other = hq.phone("w-201").await;
    let r = other
        .push(&[case_step(&case_id, "w-201", CaseState::Handling, CaseState::SentBack, ClearItems::default(), vec![])])
        .await;
    assert_eq!(r.results[0].code.as_deref(), Some("forbidden"));
}
