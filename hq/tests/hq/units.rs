//! Units: a 110 diversion is routed to a unit (here the justice office), whose own account sees
//! only its unit's tasks and works them — acknowledge, arrive with a GPS fix, complete, or send
//! back — under the same rules as a worker's phone; the phone sees the caller masked.

use gridpatrol_protocol::domain::TaskStatus;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(a_unit_sees_and_works_only_its_own_tasks);

async fn a_unit_sees_and_works_only_its_own_tasks(hq: &Hq) {
    hq.seed().await;
    let other_office = hq.operator("community", &["c-02"]).await;
    let body = json!({ "kind": "justice", "name": "东湖司法所 (Donghu justice office)", "community_ids": ["c-01"] });
    let (s, v) = hq.post("/v1/admin/units", &other_office, body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another community's office cannot add c-01's units: {v}");
    let unit = hq.admin(Method::POST, "/v1/admin/units", body).await;
    let unit_id = unit["id"].as_str().unwrap().to_string();
    assert_eq!(unit["kind_label"], "司法所/人民调解 (justice office / people's mediation)");
    let unit_token = hq.operator("unit", &[&unit_id]).await;

    let deadline = (now() + chrono::Duration::hours(4)).to_rfc3339();
    let task = |id: &str, unit: Option<&str>| {
        json!({ "id": id, "source": "diversion_110", "title": "邻里噪音纠纷 (noise dispute)", "target_unit": "人民调解",
                "assignee_id": "w-001", "grid_id": "g-0101", "deadline": deadline, "unit_id": unit,
                "caller": "13812345678", "location": { "lat": 31.005, "lng": 121.005 }, "category": "dispute" })
    };
    hq.admin(Method::POST, "/v1/admin/tasks", task("t-110-a", Some(&unit_id))).await;
    hq.admin(Method::POST, "/v1/admin/tasks", task("t-110-b", Some(&unit_id))).await;
    hq.admin(Method::POST, "/v1/admin/tasks", task("t-street", None)).await;
    // A unit alone, no grid worker: the unit's task, on no phone. Neither a unit nor a worker: refused.
    let mut unit_only = task("t-unit-only", Some(&unit_id));
    unit_only.as_object_mut().unwrap().remove("assignee_id");
    hq.admin(Method::POST, "/v1/admin/tasks", unit_only).await;
    let mut nobody = task("t-nobody", None);
    nobody.as_object_mut().unwrap().remove("assignee_id");
    let (s, v) = hq.post("/v1/admin/tasks", &hq.admin, nobody).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("task.assignee_id")), "{v}");
    // A unit takes tasks only in the communities it serves (c-01 here; g-0201 is c-02's).
    let mut elsewhere = task("t-elsewhere", Some(&unit_id));
    elsewhere["grid_id"] = json!("g-0201");
    elsewhere["assignee_id"] = json!("w-201");
    let (s, v) = hq.post("/v1/admin/tasks", &hq.admin, elsewhere).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("details.unit_id")), "{v}");
    let (s, v) = hq.post("/v1/admin/tasks", &hq.admin, task("t-nowhere", Some("no-such-unit"))).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("details.unit_id")), "{v}");

    // The unit's account lists its two tasks, nothing else, and nothing else of HQ's.
    let (s, list) = hq.get("/v1/admin/tasks", &unit_token).await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&"t-110-a") && ids.contains(&"t-110-b") && ids.contains(&"t-unit-only"));
    assert!(list.to_string().contains("138****5678") && !list.to_string().contains("13812345678"));
    assert_eq!(hq.get("/v1/admin/patrols", &unit_token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(hq.get("/v1/admin/cases", &unit_token).await.0, StatusCode::FORBIDDEN);

    // The worker's phone gets the task with the unit named and the caller masked.
    let a = hq.phone("w-001").await;
    let mut cursors = a.cursors();
    let pulled: Vec<_> = a.pull_all(&mut cursors).await.into_iter().flat_map(|p| p.tasks).collect();
    let t = pulled.iter().find(|t| t.id == "t-110-a").expect("the routed task reaches its worker");
    assert!(pulled.iter().all(|t| t.id != "t-unit-only"), "a unit's own task is on no phone");
    assert_eq!(t.details.caller.as_deref(), Some("138****5678"));
    assert_eq!(t.details.unit_name.as_deref(), Some("东湖司法所 (Donghu justice office)"));

    // The unit works t-110-a: refused steps first, each with its reason.
    let step = |id: &str| format!("/v1/admin/tasks/{id}/steps");
    let here = json!({ "lat": 31.005, "lng": 121.005 });
    let (s, v) = hq.post(&step("t-110-a"), &unit_token, json!({ "action": "arrive", "location": here })).await;
    assert_eq!(s, StatusCode::CONFLICT, "not acknowledged yet: {v}");
    hq.post(&step("t-110-a"), &unit_token, json!({ "action": "acknowledge" })).await;
    let (s, v) = hq.post(&step("t-110-a"), &unit_token, json!({ "action": "arrive" })).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("location")), "{v}");
    let (s, v) = hq
        .post(
            &step("t-110-a"),
            &unit_token,
            json!({ "action": "arrive", "location": { "lat": 31.005, "lng": 121.005 } }),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("arrived")), "{v}");
    let (s, _) = hq.post(&step("t-110-a"), &unit_token, json!({ "action": "complete" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "completing needs the result");
    let (_, v) = hq
        .post(&step("t-110-a"), &unit_token, json!({ "action": "complete", "result": "双方和解 (reconciled)" }))
        .await;
    assert_eq!(v["status"], "done");
    // t-110-b is sent back with its reason; the street office may not take field steps.
    let (s, v) = hq.post(&step("t-110-b"), &hq.admin, json!({ "action": "acknowledge" })).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("role_not_allowed")), "{v}");
    let (s, _) = hq.post(&step("t-street"), &unit_token, json!({ "action": "acknowledge" })).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not routed to this unit");
    let (_, v) = hq
        .post(&step("t-110-b"), &unit_token, json!({ "action": "send_back", "result": "非本所职责 (not ours)" }))
        .await;
    assert_eq!(v["status"], "sent_back");

    // The unit works its own task to the end.
    for body in [json!({ "action": "acknowledge" }), json!({ "action": "complete", "result": "已调解 (mediated)" })]
    {
        let (s, v) = hq.post(&step("t-unit-only"), &unit_token, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // The worker's phone hears of both.
    let statuses: Vec<(String, TaskStatus)> =
        a.pull_all(&mut cursors).await.into_iter().flat_map(|p| p.tasks).map(|t| (t.id, t.status)).collect();
    assert!(statuses.contains(&("t-110-a".into(), TaskStatus::Done)), "{statuses:?}");
    assert!(statuses.contains(&("t-110-b".into(), TaskStatus::SentBack)), "{statuses:?}");
    let units: Value = hq.get("/v1/admin/units", &unit_token).await.1;
    assert_eq!(units.as_array().map(Vec::len), Some(1), "a unit's account sees its own unit");
}
