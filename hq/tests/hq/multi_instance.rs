//! Two HQ instances on one database (the PostgreSQL deployment; SQLite too, as two
//! processes on one folder would): nothing that matters lives in one instance's memory.

use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::wire::OpStatus;
use reqwest::Method;
use serde_json::json;

use crate::common::*;

both!(two_instances_share_one_database, one_rate_limit_per_device_across_instances);

async fn two_instances_share_one_database(a: &Hq) {
    let b = gridpatrol_hq::start(config(a.place.database())).await.expect("second instance");
    assert!(b.created_admin_token.is_none(), "the admin exists already");
    let b_url = b.url();
    a.seed().await;
    let mut phone = a.phone("w-001").await;
    // The same batch sent to both instances at once: each op applied exactly once.
    let ops = phone.ops(&[
        visit("w-001", "h-0001", "g-0101", VisitType::MustVisit),
        report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]).0,
    ]);
    let req = phone.request(ops);
    let via = |url: String| {
        let client = a.client.clone();
        let token = phone.token.clone();
        let req = req.clone();
        async move {
            let resp = client.post(format!("{url}/v1/push")).bearer_auth(token).json(&req).send().await.unwrap();
            assert!(resp.status().is_success());
            resp.json::<gridpatrol_protocol::wire::PushResponse>().await.unwrap()
        }
    };
    let (ra, rb) = tokio::join!(via(a.url.clone()), via(b_url.clone()));
    let mut all: Vec<OpStatus> = statuses(&ra);
    all.extend(statuses(&rb));
    assert_eq!(all.iter().filter(|s| **s == OpStatus::Applied).count(), 2, "{ra:?} {rb:?}");
    assert_eq!(all.iter().filter(|s| **s == OpStatus::Duplicate).count(), 2);

    // Several phones pushing concurrently through both instances.
    let mut phones = [a.phone("w-001").await, a.phone("w-003").await, a.phone("w-003").await];
    let mut jobs = Vec::new();
    for (i, p) in phones.iter_mut().enumerate() {
        let url = if i % 2 == 0 { a.url.clone() } else { b_url.clone() };
        let worker = p.worker_id.clone();
        let cmds: Vec<_> =
            (0..8).map(|_| report(&worker, "g-0101", ReportCategory::ResidentRequest, None, vec![]).0).collect();
        let ops = p.ops(&cmds);
        let req = p.request(ops);
        let client = a.client.clone();
        let token = p.token.clone();
        jobs.push(tokio::spawn(async move {
            for op in req.ops.chunks(2) {
                let mut r = req.clone();
                r.ops = op.to_vec();
                let resp = client.post(format!("{url}/v1/push")).bearer_auth(&token).json(&r).send().await.unwrap();
                assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
            }
        }));
    }
    for j in jobs {
        j.await.unwrap();
    }
    // A new phone of the grid, pulling page by page through the other instance, sees every case once.
    let leader = a.phone("w-003").await;
    let mut cursors = leader.cursors();
    let mut cases = Vec::new();
    loop {
        let resp = a
            .client
            .post(format!("{b_url}/v1/pull"))
            .bearer_auth(&leader.token)
            .json(&json!({ "cursors": cursors, "max_bytes": 4096 }))
            .send()
            .await
            .unwrap();
        let page: gridpatrol_protocol::wire::PullResponse = resp.json().await.unwrap();
        cases.extend(page.cases.iter().map(|c| c.case_id.clone()));
        cursors = page.cursors;
        if !page.more {
            break;
        }
    }
    cases.sort();
    cases.dedup();
    assert_eq!(cases.len(), 1 + 3 * 8);
    // Dispatched on one instance, pulled on the other.
    let (s, v) = a
        .call(Method::POST, "/v1/admin/tasks", Some(&a.admin), Some(&json!({ "id": "t-mi", "source": "street", "title": "巡查加密",
            "target_unit": "街道", "assignee_id": "w-001", "deadline": (now() + chrono::Duration::days(1)).to_rfc3339() })))
        .await;
    assert!(s.is_success(), "{v}");
    let resp = a
        .client
        .post(format!("{b_url}/v1/pull"))
        .bearer_auth(&phone.token)
        .json(&json!({ "cursors": { "reference": phone.enrolled.reference_version } }))
        .send()
        .await
        .unwrap();
    let page: gridpatrol_protocol::wire::PullResponse = resp.json().await.unwrap();
    assert_eq!(page.tasks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), vec!["t-mi"]);
    b.stop().await.unwrap();
}

/// Two instances on one PostgreSQL: a device gets one rate limit between them, not one per
/// instance (the buckets live in the database). SQLite: one HQ process per data folder, whose
/// buckets are in memory — the test is PostgreSQL's.
async fn one_rate_limit_per_device_across_instances(a: &Hq) {
    if a.db == Db::Sqlite {
        return;
    }
    a.seed().await;
    let phone = a.phone("w-001").await;
    let tight = |c: &mut gridpatrol_hq::HqConfig| c.rate_limit_per_device = (3, 0.01);
    let mut ca = config(a.place.database());
    tight(&mut ca);
    let mut cb = config(a.place.database());
    tight(&mut cb);
    let (x, y) = (gridpatrol_hq::start(ca).await.unwrap(), gridpatrol_hq::start(cb).await.unwrap());
    let pull = |url: String| {
        let (client, token) = (a.client.clone(), phone.token.clone());
        async move {
            client
                .post(format!("{url}/v1/pull"))
                .bearer_auth(token)
                .header(gridpatrol_protocol::wire::PROTOCOL_HEADER, "2")
                .json(&json!({ "cursors": {} }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Three through alternating instances use up the burst; the fourth is refused wherever it goes.
    for url in [x.url(), y.url(), x.url()] {
        assert!(pull(url).await.is_success());
    }
    assert_eq!(pull(y.url()).await, reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(pull(x.url()).await, reqwest::StatusCode::TOO_MANY_REQUESTS);
    x.stop().await.unwrap();
    y.stop().await.unwrap();
}
