//! Pull scoping: decided by HQ from the credential. A task reaches only its assignee; a
//! worker who loses a grid is told to purge it; other grids' households are never sent;
//! pages respect the byte budget.

use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::wire::PullCursors;
use reqwest::Method;
use serde_json::json;

use crate::common::*;

both!(task_reaches_only_its_assignee, lost_grid_is_purged_and_households_stay_scoped, pages_are_bounded_by_max_bytes);

fn task(id: &str, assignee: &str, grid: Option<&str>) -> serde_json::Value {
    json!({
        "id": id, "source": "diversion_110", "title": "楼道噪音纠纷 (noise dispute)",
        "description": "110 转派", "target_unit": "人民调解委员会", "assignee_id": assignee,
        "grid_id": grid, "deadline": (now() + chrono::Duration::days(1)).to_rfc3339()
    })
}

async fn task_reaches_only_its_assignee(hq: &Hq) {
    hq.seed().await;
    let a = hq.phone("w-001").await;
    let b = hq.phone("w-002").await;
    let (mut ca, mut cb) = (a.cursors(), b.cursors());
    hq.admin(Method::POST, "/v1/admin/tasks", task("t-1", "w-001", Some("g-0101"))).await;
    let pa = a.pull_all(&mut ca).await;
    let pb = b.pull_all(&mut cb).await;
    let got_a: Vec<String> = pa.iter().flat_map(|p| p.tasks.iter().map(|t| t.id.clone())).collect();
    assert_eq!(got_a, vec!["t-1"]);
    assert!(pb.iter().all(|p| p.tasks.is_empty()), "{pb:?}");
    // Nothing new: an empty page, cursors unchanged.
    let again = a.pull(&ca).await;
    assert!(again.tasks.is_empty() && !again.more && again.cursors == ca);

    // The phone acknowledges; HQ's state machine moves the task.
    let mut a = a;
    let r = a
        .push(&[gridpatrol_protocol::records::Command::TaskStep {
            event: gridpatrol_protocol::records::TaskEvent {
                location: None,
                id: new_id(),
                task_id: "t-1".into(),
                action: TaskAction::Acknowledge,
                from: TaskStatus::Dispatched,
                to: TaskStatus::Acknowledged,
                at: now(),
                result: None,
                photos: vec![],
            },
        }])
        .await;
    assert_eq!(statuses(&r), vec![gridpatrol_protocol::wire::OpStatus::Applied]);

    // Reassigned to B: both phones hear of it, A sees the new assignee (and drops it).
    hq.admin(Method::POST, "/v1/admin/tasks/t-1/reassign", json!({ "assignee_id": "w-002" })).await;
    let pa = a.pull_all(&mut ca).await;
    let pb = b.pull_all(&mut cb).await;
    let ta: Vec<_> = pa.iter().flat_map(|p| p.tasks.clone()).collect();
    let tb: Vec<_> = pb.iter().flat_map(|p| p.tasks.clone()).collect();
    assert_eq!(ta.len(), 1);
    assert_eq!(ta[0].assignee_id, "w-002");
    assert_eq!(tb.len(), 1);
    assert_eq!(tb[0].status, TaskStatus::Dispatched);
    // A's late step on a task no longer theirs is a visible conflict, not applied.
    let r = a
        .push(&[gridpatrol_protocol::records::Command::TaskStep {
            event: gridpatrol_protocol::records::TaskEvent {
                location: None,
                id: new_id(),
                task_id: "t-1".into(),
                action: TaskAction::OnTheWay,
                from: TaskStatus::Acknowledged,
                to: TaskStatus::OnTheWay,
                at: now(),
                result: None,
                photos: vec![],
            },
        }])
        .await;
    assert_eq!(statuses(&r), vec![gridpatrol_protocol::wire::OpStatus::Conflict]);
    let conflicts = hq.admin(Method::GET, "/v1/admin/conflicts", serde_json::Value::Null).await;
    assert_eq!(conflicts.as_array().unwrap().len(), 1);
    assert_eq!(conflicts[0]["resolution"], "not_applied");
    // A task of another worker was never A's: forbidden.
    hq.admin(Method::POST, "/v1/admin/tasks", task("t-2", "w-201", None)).await;
    let r = a
        .push(&[gridpatrol_protocol::records::Command::TaskStep {
            event: gridpatrol_protocol::records::TaskEvent {
                location: None,
                id: new_id(),
                task_id: "t-2".into(),
                action: TaskAction::Acknowledge,
                from: TaskStatus::Dispatched,
                to: TaskStatus::Acknowledged,
                at: now(),
                result: None,
                photos: vec![],
            },
        }])
        .await;
    assert_eq!(r.results[0].code.as_deref(), Some("forbidden"));
}

async fn lost_grid_is_purged_and_households_stay_scoped(hq: &Hq) {
    hq.seed().await;
    let a = hq.phone("w-001").await;
    let b = hq.phone("w-002").await;
    let grids = |p: &gridpatrol_protocol::config::GridConfig| {
        let mut g: Vec<String> = p.households.iter().map(|h| h.grid_id.clone()).collect();
        g.dedup();
        g
    };
    assert_eq!(grids(&a.enrolled.reference), vec!["g-0101"]);
    assert_eq!(grids(&b.enrolled.reference), vec!["g-0102"]);
    let (mut ca, mut cb) = (a.cursors(), b.cursors());
    // A case in g-0101 exists before B gets the grid.
    let mut a = a;
    let (rep, case_id) = report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]);
    a.push(&[rep]).await;
    let pb = b.pull_all(&mut cb).await;
    assert!(pb.iter().all(|p| p.cases.is_empty()), "B sees no case of g-0101");

    // g-0101 moves from A to B.
    hq.admin(Method::PUT, "/v1/admin/workers/w-001", json!({ "name": "李网格", "role": "full_time", "grid_ids": [] }))
        .await;
    hq.admin(
        Method::PUT,
        "/v1/admin/workers/w-002",
        json!({ "name": "王志愿", "role": "volunteer", "grid_ids": ["g-0102", "g-0101"] }),
    )
    .await;

    let pa = a.pull_all(&mut ca).await;
    assert_eq!(pa[0].purge_grids, vec!["g-0101"]);
    let ra = pa[0].reference.as_ref().expect("a new snapshot");
    assert!(ra.households.is_empty(), "no households of grids A lost");
    let pb = b.pull_all(&mut cb).await;
    assert!(pb[0].purge_grids.is_empty());
    assert_eq!(grids(pb[0].reference.as_ref().unwrap()), vec!["g-0101", "g-0102"]);
    // The case already in the gained grid comes along.
    let cases: Vec<String> = pb.iter().flat_map(|p| p.cases.iter().map(|c| c.case_id.clone())).collect();
    assert_eq!(cases, vec![case_id]);
    // Never another street's grid's households.
    assert!(pb.iter().all(|p| p.reference.iter().all(|r| r.households.iter().all(|h| h.grid_id != "g-0201"))));
    // The lost grid's cases no longer reach A.
    let (rep2, _) = report("w-002", "g-0101", ReportCategory::Dispute, None, vec![]);
    let mut b = b;
    b.push(&[rep2]).await;
    let pa = a.pull_all(&mut ca).await;
    assert!(pa.iter().all(|p| p.cases.is_empty()));
}

async fn pages_are_bounded_by_max_bytes(hq: &Hq) {
    hq.seed().await;
    let a = hq.phone("w-001").await;
    for i in 0..12 {
        hq.admin(Method::POST, "/v1/admin/tasks", task(&format!("t-{i:02}"), "w-001", Some("g-0101"))).await;
    }
    // A small budget: several pages, each within budget (one item at least), all tasks once.
    let mut cursors = PullCursors { reference: a.enrolled.reference_version, ..Default::default() };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (s, v) = a.send("/v1/pull", &json!({ "cursors": cursors, "max_bytes": 1200 })).await;
        assert!(s.is_success(), "{v}");
        let page: gridpatrol_protocol::wire::PullResponse = serde_json::from_value(v).unwrap();
        pages += 1;
        assert!(!page.tasks.is_empty() || !page.more);
        seen.extend(page.tasks.iter().map(|t| t.id.clone()));
        cursors = page.cursors.clone();
        if !page.more {
            break;
        }
        assert!(pages < 50);
    }
    assert!(pages >= 3, "{pages} pages");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12);
}
