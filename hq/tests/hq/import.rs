//! Importing a street's configuration keeps everything in it — the tasks included, which reach
//! their assignees' phones — or refuses the whole file, naming the field.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(an_import_keeps_its_tasks_or_refuses_the_file);

async fn an_import_keeps_its_tasks_or_refuses_the_file(hq: &Hq) {
    let deadline = (now() + chrono::Duration::days(1)).to_rfc3339();
    let task = |id: &str, assignee: &str| {
        json!({ "id": id, "source": "diversion_110", "title": "楼道噪音纠纷 (noise)", "target_unit": "人民调解",
                "assignee_id": assignee, "grid_id": "g-0101", "deadline": deadline, "dispatched_at": now().to_rfc3339() })
    };
    // A task for a worker who does not exist: the whole file is refused, nothing is written.
    let mut bad = street();
    bad["tasks"] = json!([task("t-imp-1", "w-001"), task("t-imp-2", "w-999")]);
    let (s, v) = hq.post("/v1/admin/import", &hq.admin, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "tasks[1].assignee_id", "{v}");
    let communities = hq.admin(Method::GET, "/v1/admin/communities", Value::Null).await;
    assert_eq!(communities.as_array().map(Vec::len), Some(0), "nothing of the refused file was kept");

    let mut good = street();
    good["tasks"] = json!([task("t-imp-1", "w-001")]);
    let summary = hq.admin(Method::POST, "/v1/admin/import", good.clone()).await;
    assert_eq!((summary["tasks"].as_i64(), summary["tasks_already_dispatched"].as_i64()), (Some(1), Some(0)));
    // The task reaches its assignee's phone.
    let a = hq.phone("w-001").await;
    let mut cursors = a.cursors();
    let tasks: Vec<String> =
        a.pull_all(&mut cursors).await.iter().flat_map(|p| p.tasks.iter().map(|t| t.id.clone())).collect();
    assert_eq!(tasks, vec!["t-imp-1"]);
    // Importing the same file again keeps the task as it is.
    let again = hq.admin(Method::POST, "/v1/admin/import", good).await;
    assert_eq!((again["tasks"].as_i64(), again["tasks_already_dispatched"].as_i64()), (Some(0), Some(1)));
}
