//! 相约星期五: a weekly meeting's 民情清单 — each item becomes a task owned by a unit or a worker,
//! is tracked to closure through it, and the list shows open, closed and overdue items; the
//! community's figures count the list's closure rate.

use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::{Command, TaskEvent};
use gridpatrol_protocol::wire::OpStatus;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(a_weekly_list_is_tracked_to_closure);

async fn a_weekly_list_is_tracked_to_closure(hq: &Hq) {
    hq.seed().await;
    let unit = hq
        .admin(
            Method::POST,
            "/v1/admin/units",
            json!({ "kind": "property", "name": "东湖物业", "community_ids": ["c-01"] }),
        )
        .await;
    let unit_id = unit["id"].as_str().unwrap();
    let today = now().format("%Y-%m-%d").to_string();
    let item = |topic: &str, unit: Option<&str>, deadline: chrono::DateTime<chrono::Utc>| {
        json!({ "topic": topic, "household_id": "h-0001", "grid_id": "g-0101", "assignee_id": "w-001",
                "unit_id": unit, "deadline": deadline.to_rfc3339() })
    };
    // An item for a grid of another community refuses the whole list.
    let bad = json!({ "community_id": "c-01", "held_on": today, "attendees": 20,
                      "items": [{ "topic": "x", "grid_id": "g-0201", "assignee_id": "w-201", "deadline": (now() + chrono::Duration::days(3)).to_rfc3339() }] });
    let (s, v) = hq.post("/v1/admin/meetings", &hq.admin, bad).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("items[0].grid_id")), "{v}");
    // Another community's office may not record c-01's meeting.
    let other = hq.operator("community", &["c-02"]).await;
    let list = json!({ "community_id": "c-01", "held_on": today, "attendees": 23, "note": "第12期",
        "items": [
            item("3栋楼道灯不亮 (stairwell light out)", Some(unit_id), now() + chrono::Duration::days(7)),
            item("小区停车难 (parking)", None, now() + chrono::Duration::days(14)),
            item("垃圾清运不及时 (rubbish)", None, now() + chrono::Duration::seconds(1)),
        ] });
    assert_eq!(hq.post("/v1/admin/meetings", &other, list.clone()).await.0, StatusCode::FORBIDDEN);
    let m = hq.admin(Method::POST, "/v1/admin/meetings", list).await;
    let items = m["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["owner"], "东湖物业", "the unit owns the first item");
    assert_eq!(items[1]["owner"], "w-001");
    let task_of = |n: usize| items[n]["task_id"].as_str().unwrap().to_string();

    // The items reach the worker's phone as weekly-meeting tasks.
    let mut a = hq.phone("w-001").await;
    let mut cursors = a.cursors();
    let tasks: Vec<_> = a.pull_all(&mut cursors).await.into_iter().flat_map(|p| p.tasks).collect();
    assert_eq!(tasks.iter().filter(|t| t.source == TaskSource::WeeklyMeeting).count(), 3);
    // The unit closes the first; the worker closes the second; the third runs past its deadline.
    let unit_token = hq.operator("unit", &[unit_id]).await;
    let step = format!("/v1/admin/tasks/{}/steps", task_of(0));
    hq.post(&step, &unit_token, json!({ "action": "acknowledge" })).await;
    let (_, v) = hq.post(&step, &unit_token, json!({ "action": "complete", "result": "已换灯 (replaced)" })).await;
    assert_eq!(v["status"], "done");
    let ev = |action, from, to, result: Option<&str>| Command::TaskStep {
        event: TaskEvent {
            id: new_id(),
            task_id: task_of(1),
            action,
            from,
            to,
            at: now(),
            result: result.map(str::to_string),
            photos: vec![],
            location: None,
        },
    };
    let r = a
        .push(&[
            ev(TaskAction::Acknowledge, TaskStatus::Dispatched, TaskStatus::Acknowledged, None),
            ev(TaskAction::Complete, TaskStatus::Acknowledged, TaskStatus::Done, Some("划定临时车位 (spaces marked)")),
        ])
        .await;
    assert!(statuses(&r).iter().all(|s| *s == OpStatus::Applied), "{r:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let meetings = hq.admin(Method::GET, "/v1/admin/meetings?community_id=c-01", Value::Null).await;
    let m = &meetings[0];
    assert_eq!((m["closed"].as_i64(), m["open"].as_i64(), m["overdue"].as_i64()), (Some(2), Some(0), Some(1)));
    let states: Vec<&str> = m["items"].as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["closed", "closed", "overdue"]);
    assert_eq!(hq.get("/v1/admin/meetings", &other).await.1.as_array().map(Vec::len), Some(0), "c-02 sees none");

    let from = (now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let to = (now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let f = hq.admin(Method::GET, &format!("/v1/admin/figures?from={from}&to={to}"), Value::Null).await;
    assert_eq!(f["communities"][0]["weekly_list_closure"], json!({ "count": 2, "of": 3, "rate": 0.6667 }));
}
