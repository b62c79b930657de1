//! The audit trail read back (street admin): who saw, exported or changed what, filtered by
//! actor, action, target and period; and an operator's account revoked, its token refused.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(the_audit_trail_answers_who_did_what_and_a_revoked_operator_is_refused);

async fn the_audit_trail_answers_who_did_what_and_a_revoked_operator_is_refused(hq: &Hq) {
    hq.seed().await;
    let created = hq
        .admin(
            Method::POST,
            "/v1/admin/operators",
            json!({ "name": "东湖社区", "role": "community", "scope_ids": ["c-01"] }),
        )
        .await;
    let (op_id, token) = (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string());
    // The operator sees, exports and changes something.
    assert_eq!(hq.get("/v1/admin/patrols", &token).await.0, StatusCode::OK);
    let csv = hq.client.get(format!("{}/v1/admin/export/visits.csv", hq.url)).bearer_auth(&token).send().await.unwrap();
    assert!(csv.status().is_success());
    let deadline = (now() + chrono::Duration::days(1)).to_rfc3339();
    let task = json!({ "id": "t-audit", "source": "street", "title": "巡查加密", "target_unit": "街道", "assignee_id": "w-001",
                       "grid_id": "g-0101", "deadline": deadline });
    assert_eq!(hq.post("/v1/admin/tasks", &token, task).await.0, StatusCode::CREATED);

    let trail = hq.admin(Method::GET, &format!("/v1/admin/audit?actor={op_id}"), Value::Null).await;
    let actions: Vec<(&str, &str)> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("task.dispatch", "t-audit"), ("export", "visits"), ("list", "patrols")], "newest first");
    assert!(trail[0]["at"].as_str().unwrap().ends_with("+08:00"));
    let exports = hq.admin(Method::GET, "/v1/admin/audit?action=export", Value::Null).await;
    assert_eq!(exports.as_array().unwrap().len(), 1);
    let long_ago = hq.admin(Method::GET, "/v1/admin/audit?from=2001-01-01&to=2001-01-02", Value::Null).await;
    assert_eq!(long_ago, json!([]));
    // Only the street admin reads the trail.
    assert_eq!(hq.get("/v1/admin/audit", &token).await.0, StatusCode::FORBIDDEN);
    let (s, v) = hq.get("/v1/admin/audit?limit=0", &hq.admin).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));

    // Revoked: the operator's token is refused from now on; the revocation is in the trail.
    let r = hq.admin(Method::POST, &format!("/v1/admin/operators/{op_id}/revoke"), Value::Null).await;
    assert_eq!(r["revoked"], true);
    assert_eq!(hq.get("/v1/admin/patrols", &token).await.0, StatusCode::UNAUTHORIZED);
    let revocations =
        hq.admin(Method::GET, &format!("/v1/admin/audit?action=operator.revoke&target={op_id}"), Value::Null).await;
    assert_eq!(revocations.as_array().unwrap().len(), 1);
    let me = hq.admin(Method::GET, "/v1/admin/me", Value::Null).await;
    let (s, _) =
        hq.post(&format!("/v1/admin/operators/{}/revoke", me["id"].as_str().unwrap()), &hq.admin, Value::Null).await;
    assert_eq!(s, StatusCode::CONFLICT, "an admin does not lock themselves out");
}
