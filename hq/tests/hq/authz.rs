//! The authorisation matrix: every principal × every route, expected status decided here
//! and checked over HTTP. A route missing from the matrix fails the test.

use std::collections::BTreeSet;

use gridpatrol_protocol::domain::ReportCategory;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(every_role_against_every_route);

const WHO: [&str; 9] = [
    "street_admin",
    "community_own",
    "community_other",
    "grid_leader_own",
    "grid_leader_other",
    "device",
    "no_token",
    "revoked_device",
    "unit",
];

/// Every office account; a unit's account sees only its unit's tasks (403 here).
const READ: [u16; 9] = [200, 200, 200, 200, 200, 403, 401, 401, 403];
/// What every account may read about itself (who am I, the checklist templates, units).
const OWN: [u16; 9] = [200, 200, 200, 200, 200, 403, 401, 401, 200];
const PHONE: [u16; 9] = [403, 403, 403, 403, 403, 200, 401, 401, 403];
const PUBLIC: [u16; 9] = [200; 9];
fn admin_only(ok: u16) -> [u16; 9] {
    [ok, 403, 403, 403, 403, 403, 401, 401, 403]
}
/// Street admin, the community's operator and the grid's leader.
fn scoped(ok: u16) -> [u16; 9] {
    [ok, ok, 403, ok, 403, 403, 401, 401, 403]
}
/// Organisation changes: street admin and the community's operator only.
fn managers(ok: u16) -> [u16; 9] {
    [ok, ok, 403, 403, 403, 403, 401, 401, 403]
}
/// `POST /v1/wipe`: only a token revoked for a wipe (none of these; the active device is told no
/// wipe was ordered).
const WIPED_ONLY: [u16; 9] = [403, 403, 403, 403, 403, 403, 401, 401, 403];
/// `POST /v1/discarded`: the device's own token; without HQ's authorisation a conflict.
const DISCARD_REPORT: [u16; 9] = [403, 403, 403, 403, 403, 409, 401, 401, 403];
/// Field steps on a task routed to a unit: that unit's account only (offices: role_not_allowed).
const UNIT_STEP: [u16; 9] = [403, 403, 403, 403, 403, 403, 401, 401, 200];

enum Body {
    None,
    Json(Value),
    Chunk(Vec<u8>),
}

struct Call {
    method: Method,
    template: &'static str,
    path: String,
    body: Body,
    expect: [u16; 9],
}

fn call(method: Method, template: &'static str, path: impl Into<String>, body: Body, expect: [u16; 9]) -> Call {
    Call { method, template, path: path.into(), body, expect }
}

fn square(x: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[x, 31.0], [x + 0.01, 31.0], [x + 0.01, 31.01], [x, 31.01], [x, 31.0]]] })
}

struct Fixture {
    unit_id: String,
    /// One operator per principal, to be revoked by that principal's call.
    spare_operators: Vec<String>,
    device_id: String,
    victim_device: String,
    /// A device whose unsent work may be discarded (not revoked).
    handed_back_device: String,
    case_id: String,
    photo: String,
}

/// The calls for principal `i`, with fresh resources where a call consumes one.
async fn calls(hq: &Hq, worker_phone: &mut Phone, f: &Fixture, i: usize) -> Vec<Call> {
    use Method as M;
    let deadline = (now() + chrono::Duration::days(1)).to_rfc3339();
    let task = |id: String| {
        json!({ "id": id, "source": "hotline_12345", "title": "路灯不亮", "target_unit": "市政", "assignee_id": "w-001",
                "grid_id": "g-0101", "deadline": deadline })
    };
    let fresh_task = |suffix: &str| format!("t-{suffix}-{i}");
    let mut routed = task(fresh_task("u"));
    routed["unit_id"] = json!(f.unit_id);
    routed["source"] = json!("diversion_110");
    routed["caller"] = json!("13812345678");
    hq.admin(M::POST, "/v1/admin/tasks", routed).await;
    hq.admin(M::POST, "/v1/admin/tasks", task(fresh_task("r"))).await;
    hq.admin(M::POST, "/v1/admin/tasks", task(fresh_task("c"))).await;
    let (rep, fresh_case) = report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]);
    worker_phone.push(&[rep]).await;
    let chunk = format!("photo {i}").into_bytes();
    let chunk_sha = sha(&chunk);
    vec![
        call(M::GET, "/healthz", "/healthz", Body::None, PUBLIC),
        call(M::GET, "/openapi.json", "/openapi.json", Body::None, PUBLIC),
        call(M::GET, "/readyz", "/readyz", Body::None, PUBLIC),
        // Any operator's account (Prometheus scrapes with one); not a phone's.
        call(M::GET, "/metrics", "/metrics", Body::None, OWN),
        call(
            M::POST,
            "/v1/enrol",
            "/v1/enrol",
            Body::Json(json!({ "code": "0000-0000-0000", "device_id": new_id(), "epoch": 0 })),
            [401; 9],
        ),
        call(
            M::POST,
            "/v1/push",
            "/v1/push",
            Body::Json(json!({ "device_id": f.device_id, "epoch": 1, "device_time_ms": 0, "ops": [] })),
            PHONE,
        ),
        call(M::POST, "/v1/pull", "/v1/pull", Body::Json(json!({ "cursors": {} })), PHONE),
        call(
            M::POST,
            "/v1/fork",
            "/v1/fork",
            Body::Json(json!({ "installation_id": format!("installation-of-copy-{i}") })),
            PHONE,
        ),
        call(M::PUT, "/v1/attachments/{sha256}", format!("/v1/attachments/{chunk_sha}"), Body::Chunk(chunk), PHONE),
        call(M::GET, "/v1/attachments/{sha256}", format!("/v1/attachments/{}", f.photo), Body::None, PHONE),
        call(M::GET, "/v1/admin/me", "/v1/admin/me", Body::None, OWN),
        call(M::GET, "/v1/admin/units", "/v1/admin/units", Body::None, OWN),
        call(M::GET, "/v1/admin/meetings", "/v1/admin/meetings", Body::None, READ),
        call(M::GET, "/v1/admin/audit", "/v1/admin/audit", Body::None, admin_only(200)),
        call(
            M::POST,
            "/v1/admin/operators/{id}/revoke",
            format!("/v1/admin/operators/{}/revoke", f.spare_operators[i]),
            Body::None,
            admin_only(200),
        ),
        call(M::GET, "/v1/admin/teams", "/v1/admin/teams", Body::None, READ),
        call(
            M::PUT,
            "/v1/admin/teams",
            "/v1/admin/teams",
            Body::Json(
                json!({ "id": format!("team-{i}"), "name": "志愿服务队", "community_id": "c-01", "member_ids": [] }),
            ),
            managers(201),
        ),
        call(M::GET, "/v1/admin/buildings", "/v1/admin/buildings", Body::None, READ),
        call(
            M::PUT,
            "/v1/admin/buildings",
            "/v1/admin/buildings",
            Body::Json(json!({ "id": format!("b-{i}"), "grid_id": "g-0101", "name": "3栋" })),
            managers(201),
        ),
        call(
            M::POST,
            "/v1/admin/meetings",
            "/v1/admin/meetings",
            Body::Json(
                json!({ "community_id": "c-01", "held_on": now().format("%Y-%m-%d").to_string(), "attendees": 12,
                               "items": [{ "topic": "楼道灯不亮", "grid_id": "g-0101", "assignee_id": "w-001",
                                           "deadline": (now() + chrono::Duration::days(7)).to_rfc3339() }] }),
            ),
            managers(201),
        ),
        call(
            M::POST,
            "/v1/admin/units",
            "/v1/admin/units",
            Body::Json(json!({ "kind": "lawyer", "name": format!("律所 {i}"), "community_ids": ["c-01"] })),
            managers(201),
        ),
        call(
            M::PUT,
            "/v1/admin/units/{id}",
            format!("/v1/admin/units/{}", f.unit_id),
            Body::Json(json!({ "kind": "justice", "name": format!("司法所 {i}"), "community_ids": ["c-01"] })),
            managers(200),
        ),
        call(
            M::POST,
            "/v1/admin/tasks/{id}/steps",
            format!("/v1/admin/tasks/{}/steps", fresh_task("u")),
            Body::Json(json!({ "action": "acknowledge" })),
            UNIT_STEP,
        ),
        call(M::GET, "/v1/admin/street", "/v1/admin/street", Body::None, OWN),
        call(
            M::PUT,
            "/v1/admin/street",
            "/v1/admin/street",
            Body::Json(json!({ "code": "310101002", "name": "示范街道" })),
            admin_only(200),
        ),
        call(M::POST, "/v1/admin/import", "/v1/admin/import", Body::Json(street()), admin_only(200)),
        call(M::GET, "/v1/admin/communities", "/v1/admin/communities", Body::None, READ),
        call(
            M::POST,
            "/v1/admin/communities",
            "/v1/admin/communities",
            Body::Json(
                json!({ "id": format!("c-x{i}"), "code": format!("310101002{:03}", 100 + i), "name": "新社区" }),
            ),
            admin_only(201),
        ),
        call(
            M::PUT,
            "/v1/admin/communities/{id}",
            "/v1/admin/communities/c-01",
            Body::Json(json!({ "code": "310101002001", "name": "东湖社区 (Donghu)" })),
            admin_only(200),
        ),
        call(M::GET, "/v1/admin/grids", "/v1/admin/grids", Body::None, READ),
        call(
            M::POST,
            "/v1/admin/grids",
            "/v1/admin/grids",
            Body::Json(
                json!({ "id": format!("g-x{i}"), "code": format!("310101002001{:03}", 100 + i), "community_id": "c-01",
                               "name": "新网格", "boundary": square(121.5) }),
            ),
            managers(201),
        ),
        call(
            M::PUT,
            "/v1/admin/grids/{id}",
            "/v1/admin/grids/g-0101",
            Body::Json(
                json!({ "code": "310101002001001", "community_id": "c-01", "name": "东湖一网格", "boundary": square(121.0) }),
            ),
            managers(200),
        ),
        call(M::GET, "/v1/admin/workers", "/v1/admin/workers", Body::None, READ),
        call(
            M::POST,
            "/v1/admin/workers",
            "/v1/admin/workers",
            Body::Json(
                json!({ "id": format!("w-x{i}"), "name": "新网格员", "role": "volunteer", "grid_ids": ["g-0101"] }),
            ),
            managers(201),
        ),
        call(
            M::PUT,
            "/v1/admin/workers/{id}",
            "/v1/admin/workers/w-002",
            Body::Json(json!({ "name": "王志愿", "role": "volunteer", "grid_ids": ["g-0102"] })),
            managers(200),
        ),
        call(
            M::POST,
            "/v1/admin/workers/{id}/enrolment-codes",
            "/v1/admin/workers/w-001/enrolment-codes",
            Body::None,
            scoped(201),
        ),
        call(M::GET, "/v1/admin/households", "/v1/admin/households", Body::None, READ),
        call(
            M::POST,
            "/v1/admin/households",
            "/v1/admin/households",
            Body::Json(json!({ "id": format!("h-x{i}"), "grid_id": "g-0101", "label": "9栋101", "name": "吴先生" })),
            scoped(201),
        ),
        call(
            M::PUT,
            "/v1/admin/households/{id}",
            "/v1/admin/households/h-0002",
            Body::Json(
                json!({ "grid_id": "g-0101", "label": "3栋2单元402", "name": "刘先生", "phone": "13987654321" }),
            ),
            scoped(200),
        ),
        call(M::GET, "/v1/admin/templates", "/v1/admin/templates", Body::None, OWN),
        call(
            M::POST,
            "/v1/admin/templates",
            "/v1/admin/templates",
            Body::Json({
                let mut t = serde_json::to_value(gridpatrol_protocol::template::Template::default_3456()).unwrap();
                t["version"] = json!(10 + i);
                t["is_default"] = json!(false);
                t
            }),
            admin_only(201),
        ),
        call(M::GET, "/v1/admin/operators", "/v1/admin/operators", Body::None, admin_only(200)),
        call(
            M::POST,
            "/v1/admin/operators",
            "/v1/admin/operators",
            Body::Json(json!({ "name": "社区干部", "role": "community", "scope_ids": ["c-01"] })),
            admin_only(201),
        ),
        call(M::GET, "/v1/admin/devices", "/v1/admin/devices", Body::None, READ),
        call(
            M::POST,
            "/v1/admin/devices/{device_id}/revoke",
            format!("/v1/admin/devices/{}/revoke", f.victim_device),
            Body::None,
            scoped(200),
        ),
        call(
            M::POST,
            "/v1/admin/devices/{device_id}/wipe",
            format!("/v1/admin/devices/{}/wipe", f.victim_device),
            Body::None,
            scoped(200),
        ),
        call(
            M::POST,
            "/v1/admin/devices/{device_id}/authorise-discard",
            format!("/v1/admin/devices/{}/authorise-discard", f.handed_back_device),
            Body::None,
            scoped(200),
        ),
        call(
            M::POST,
            "/v1/wipe",
            "/v1/wipe",
            Body::Json(json!({ "erased": { "records": 0, "photos": 0, "photo_bytes": 0 } })),
            WIPED_ONLY,
        ),
        call(
            M::POST,
            "/v1/discarded",
            "/v1/discarded",
            Body::Json(
                json!({ "discarded": { "records": 1, "photos": 0, "photo_bytes": 0 }, "to_worker_id": "w-002" }),
            ),
            DISCARD_REPORT,
        ),
        // A unit's account: 200 with its own unit's tasks only (units.rs test).
        call(M::GET, "/v1/admin/tasks", "/v1/admin/tasks", Body::None, OWN),
        call(M::POST, "/v1/admin/tasks", "/v1/admin/tasks", Body::Json(task(fresh_task("n"))), scoped(201)),
        call(
            M::POST,
            "/v1/admin/tasks/{id}/reassign",
            format!("/v1/admin/tasks/{}/reassign", fresh_task("r")),
            Body::Json(json!({ "assignee_id": "w-003" })),
            scoped(200),
        ),
        call(
            M::POST,
            "/v1/admin/tasks/{id}/cancel",
            format!("/v1/admin/tasks/{}/cancel", fresh_task("c")),
            Body::None,
            scoped(200),
        ),
        call(M::GET, "/v1/admin/cases", "/v1/admin/cases", Body::None, READ),
        call(M::GET, "/v1/admin/cases/{id}", format!("/v1/admin/cases/{}", f.case_id), Body::None, scoped(200)),
        call(
            M::POST,
            "/v1/admin/cases/{id}/actions",
            format!("/v1/admin/cases/{fresh_case}/actions"),
            Body::Json(json!({ "action": "accept" })),
            // 受理 is an office's step (protocol/src/roles.rs): the grid leader gets 403 role_not_allowed.
            managers(200),
        ),
        call(M::GET, "/v1/admin/conflicts", "/v1/admin/conflicts", Body::None, READ),
        call(
            M::GET,
            "/v1/admin/attachments/{sha256}",
            format!("/v1/admin/attachments/{}", f.photo),
            Body::None,
            scoped(200),
        ),
        call(M::GET, "/v1/admin/patrols", "/v1/admin/patrols", Body::None, READ),
        call(M::GET, "/v1/admin/visits", "/v1/admin/visits", Body::None, READ),
        call(M::GET, "/v1/admin/reports", "/v1/admin/reports", Body::None, READ),
        call(M::GET, "/v1/admin/checkins/flagged", "/v1/admin/checkins/flagged", Body::None, READ),
        call(
            M::GET,
            "/v1/admin/export/flagged-checkins.csv",
            "/v1/admin/export/flagged-checkins.csv",
            Body::None,
            READ,
        ),
        call(M::GET, "/v1/admin/export/patrols.csv", "/v1/admin/export/patrols.csv", Body::None, READ),
        call(M::GET, "/v1/admin/export/visits.csv", "/v1/admin/export/visits.csv", Body::None, READ),
        call(M::GET, "/v1/admin/export/reports.csv", "/v1/admin/export/reports.csv", Body::None, READ),
        call(M::GET, "/v1/admin/export/cases.csv", "/v1/admin/export/cases.csv", Body::None, READ),
        call(M::GET, "/v1/admin/export/tasks.csv", "/v1/admin/export/tasks.csv", Body::None, READ),
        call(
            M::GET,
            "/v1/admin/figures",
            format!(
                "/v1/admin/figures?from={}&to={}",
                (now() - chrono::Duration::days(30)).format("%Y-%m-%d"),
                (now() + chrono::Duration::days(1)).format("%Y-%m-%d")
            ),
            Body::None,
            READ,
        ),
        call(M::GET, "/v1/admin/incidents", "/v1/admin/incidents", Body::None, READ),
        call(M::GET, "/v1/admin/settings/timeliness", "/v1/admin/settings/timeliness", Body::None, READ),
        call(
            M::PUT,
            "/v1/admin/settings/timeliness",
            "/v1/admin/settings/timeliness",
            Body::Json(json!({ "acknowledge_within_minutes": 30, "arrive_within_minutes": 120 })),
            admin_only(200),
        ),
        call(
            M::POST,
            "/v1/admin/incidents",
            "/v1/admin/incidents",
            Body::Json(json!({ "community_id": "c-01", "kind": "petition", "occurred_at": now().to_rfc3339() })),
            managers(201),
        ),
    ]
}

async fn every_role_against_every_route(hq: &Hq) {
    hq.seed().await;
    let tokens: Vec<Option<String>> = vec![
        Some(hq.admin.clone()),
        Some(hq.operator("community", &["c-01"]).await),
        Some(hq.operator("community", &["c-02"]).await),
        Some(hq.operator("grid_leader", &["g-0101"]).await),
        Some(hq.operator("grid_leader", &["g-0201"]).await),
        None, // the device, filled below
        None,
        None, // the revoked device, filled below
        None, // the unit's account, filled below
    ];
    let device = hq.phone("w-001").await;
    let revoked = hq.phone("w-001").await;
    let victim = hq.phone("w-001").await;
    let handed_back = hq.phone("w-001").await;
    hq.admin(Method::POST, &format!("/v1/admin/devices/{}/revoke", revoked.device_id), Value::Null).await;
    let mut tokens = tokens;
    tokens[5] = Some(device.token.clone());
    tokens[7] = Some(revoked.token.clone());
    let unit = hq
        .admin(
            Method::POST,
            "/v1/admin/units",
            json!({ "kind": "justice", "name": "司法所", "community_ids": ["c-01"] }),
        )
        .await;
    let unit_id = unit["id"].as_str().unwrap().to_string();
    tokens[8] = Some(hq.operator("unit", &[&unit_id]).await);

    let mut worker_phone = hq.phone("w-001").await;
    let photo_bytes = b"evidence photo".to_vec();
    let photo = sha(&photo_bytes);
    let (rep, case_id) = report("w-001", "g-0101", ReportCategory::SafetyHazard, None, vec![photo.clone()]);
    worker_phone.push(&[rep]).await;
    let resp = hq
        .client
        .put(format!("{}/v1/attachments/{photo}", hq.url))
        .bearer_auth(&worker_phone.token)
        .header("content-range", format!("bytes 0-{}/{}", photo_bytes.len() - 1, photo_bytes.len()))
        .body(photo_bytes)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let mut spare_operators = Vec::new();
    for i in 0..WHO.len() {
        let v = hq
            .admin(
                Method::POST,
                "/v1/admin/operators",
                json!({ "name": format!("spare {i}"), "role": "community", "scope_ids": ["c-02"] }),
            )
            .await;
        spare_operators.push(v["id"].as_str().unwrap().to_string());
    }
    let fixture = Fixture {
        unit_id,
        spare_operators,
        device_id: device.device_id.clone(),
        victim_device: victim.device_id.clone(),
        handed_back_device: handed_back.device_id.clone(),
        case_id,
        photo,
    };

    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for (i, token) in tokens.iter().enumerate() {
        for c in calls(hq, &mut worker_phone, &fixture, i).await {
            covered.insert(format!("{} {}", c.method, c.template));
            let mut req = hq.client.request(c.method.clone(), format!("{}{}", hq.url, c.path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req = match c.body {
                Body::None => req,
                Body::Json(v) => req.json(&v),
                Body::Chunk(b) => req.header("content-range", format!("bytes 0-{}/{}", b.len() - 1, b.len())).body(b),
            };
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            if status.as_u16() != c.expect[i] {
                failures.push(format!(
                    "{} {} as {}: expected {}, got {} {}",
                    c.method, c.path, WHO[i], c.expect[i], status, text
                ));
            }
            if !status.is_success() {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                assert!(v["error"]["code"].is_string(), "every error is a JSON ErrorBody: {text}");
                if i == 7 && status == StatusCode::UNAUTHORIZED && c.template != "/v1/enrol" {
                    assert_eq!(code(&v), "device_revoked");
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));

    // Every route of the router is in the matrix.
    let (_, doc) = hq.get("/openapi.json", &hq.admin).await;
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert_eq!(documented, covered, "routes without a row in the matrix (or rows for routes that do not exist)");
}
