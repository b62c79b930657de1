//! The guarantees of docs/SYNC.md end to end: a real HQ (SQLite and PostgreSQL), real phones (core
//! stores), real HTTP on loopback. Network faults are injected by `gridpatrol_simnet`'s proxy.

mod common;

use common::*;
use gridpatrol_core::*;
use gridpatrol_simnet::{Fault, FaultProxy};

/// A progress listener that keeps what it was told.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<gridpatrol_core::sync::Progress>>);
impl gridpatrol_core::sync::SyncProgress for Recorded {
    fn on_progress(&self, p: gridpatrol_core::sync::Progress) {
        self.0.lock().unwrap().push(p);
    }
}

both!(
    offline_work_reaches_hq_once_when_the_network_returns,
    a_lost_response_is_resent_and_counted_once,
    a_reinstalled_phone_starts_a_new_epoch_and_nothing_is_confused,
    clocks_in_1970_and_2099_lose_nothing_and_hq_records_the_skew,
    one_bad_operation_is_rejected_and_the_rest_goes_through,
    a_task_reaches_only_its_assignee_and_a_lost_grid_is_purged,
);

async fn offline_work_reaches_hq_once_when_the_network_returns(db: Db) {
    let hq = Hq::start(db).await;
    let proxy = FaultProxy::start(hq.url.trim_start_matches("http://").parse().unwrap());
    let phone = Phone::enrol(&proxy.url(), &hq.code("w-001").await, NOW_MS).await;

    proxy.set(Fault::Offline); // the stairwell
    let patrol = phone.patrol();
    let visits: Vec<Visit> = (0..20).map(|i| phone.visit(["h-0001", "h-0002", "h-0003"][i % 3])).collect();
    let report = phone.report(vec![phone.photo(7)]);
    assert!(matches!(phone.sync().await, Err(CoreError::HqUnreachable { .. })));
    let today = phone.store.today().unwrap();
    assert_eq!(today.unsent.records, 1 + 2 + 1 + 20 + 1);
    assert_eq!(today.unsent.photos, 1);
    assert!(today.last_sync.last_error.is_some());

    proxy.set(Fault::Pass); // back upstairs
    let progress = Recorded::default();
    let r = phone.store.sync(&quick(), &progress).await.unwrap();
    let seen = progress.0.lock().unwrap().clone();
    use gridpatrol_core::sync::SyncPhase::*;
    for phase in [Pushing, UploadingPhotos, Pulling, Done] {
        assert!(seen.iter().any(|p| p.phase == phase), "progress reported {phase:?}: {seen:?}");
    }
    let pushed = seen.iter().rfind(|p| p.phase == Pushing).unwrap();
    assert_eq!((pushed.done, pushed.total), (25, 25));
    assert_eq!((r.pushed, r.applied, r.duplicates, r.rejected), (25, 25, 0, 0));
    assert_eq!(r.photos_uploaded, 1);
    assert_eq!(r.unsent_after, 0);
    let today = phone.store.today().unwrap();
    assert_eq!((today.unsent.records, today.unsent.photos), (0, 0));
    assert!(today.last_sync.last_error.is_none() && today.last_sync.last_success_at.is_some());

    // HQ holds each record exactly once.
    assert_eq!(hq.ids("visits").await, phone.ids("record_visit"));
    assert_eq!(hq.ids("reports").await, vec![report.id.clone()]);
    assert_eq!(hq.ids("patrols").await, vec![patrol.id.clone()]);
    assert_eq!(visits.len(), 20);
    // The photo's bytes at HQ hash to the id the phone gave it.
    let bytes = hq
        .client
        .get(format!("{}/v1/admin/attachments/{}", hq.url, report.photos[0]))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&bytes), report.photos[0]);

    // A second sync changes nothing and costs little.
    let again = phone.sync().await.unwrap();
    assert_eq!((again.pushed, again.photos_uploaded), (0, 0));
    assert!(again.requests <= 2, "no-op sync took {} requests", again.requests);
    assert_eq!(hq.ids("visits").await.len(), 20);
    hq.stop().await;
}

async fn a_lost_response_is_resent_and_counted_once(db: Db) {
    let hq = Hq::start(db).await;
    let proxy = FaultProxy::start(hq.url.trim_start_matches("http://").parse().unwrap());
    let phone = Phone::enrol(&proxy.url(), &hq.code("w-001").await, NOW_MS).await;
    for _ in 0..10 {
        phone.visit("h-0001");
    }
    // HQ commits the push, then the answer is lost on the way back.
    proxy.lose_next_responses(1);
    let r = phone.sync().await.unwrap();
    assert_eq!(proxy.lost.load(std::sync::atomic::Ordering::SeqCst), 1, "the fault fired");
    assert_eq!(r.duplicates, 10, "the resend was acknowledged as duplicates: {r:?}");
    assert_eq!(r.applied, 0);
    assert_eq!(phone.store.today().unwrap().unsent.records, 0);
    assert_eq!(hq.ids("visits").await, phone.ids("record_visit"));
    hq.stop().await;
}

async fn a_reinstalled_phone_starts_a_new_epoch_and_nothing_is_confused(db: Db) {
    let hq = Hq::start(db).await;
    let device = "android-3f2a9c";
    let first = Phone::enrol_as(&hq.url, &hq.code("w-001").await, NOW_MS, Some(device)).await;
    assert_eq!(first.store.device().epoch, 1);
    for _ in 0..5 {
        first.visit("h-0001");
    }
    first.sync().await.unwrap();
    // The app is reinstalled: a new store (a new installation) asking for the same platform
    // device id, sequence numbers from 1 again. HQ never hands an enrolled id to another
    // installation: the new store gets an id of its own, and its seqs are its own.
    let second = Phone::enrol_as(&hq.url, &hq.code("w-001").await, NOW_MS, Some(device)).await;
    assert_ne!(second.store.device().device_id, device);
    assert_eq!(second.store.device().epoch, 1);
    for _ in 0..3 {
        second.visit("h-0002");
    }
    assert_eq!(second.store.outbox(0, 10).unwrap()[0].seq, 1);
    let r = second.sync().await.unwrap();
    assert_eq!((r.applied, r.duplicates), (3, 0), "seq 1..3 of epoch 2 are new, not duplicates of epoch 1");
    let mut expected = first.ids("record_visit");
    expected.extend(second.ids("record_visit"));
    expected.sort();
    assert_eq!(hq.ids("visits").await, expected);
    hq.stop().await;
}

async fn clocks_in_1970_and_2099_lose_nothing_and_hq_records_the_skew(db: Db) {
    let hq = Hq::start(db).await;
    let past = Phone::enrol(&hq.url, &hq.code("w-001").await, 0).await; // 1970
    let future = Phone::enrol(&hq.url, &hq.code("w-003").await, 4_070_908_800_000).await; // 2099
    for p in [&past, &future] {
        p.visit("h-0001");
        p.visit("h-0003");
        p.report(vec![]);
    }
    // The 1970 phone's clock jumps about while it works.
    past.clock.set(NOW_MS);
    past.visit("h-0002");
    past.clock.set(5);
    past.visit("h-0002");
    let hlcs: Vec<String> = past.store.outbox(0, 100).unwrap().into_iter().map(|e| e.hlc).collect();
    assert!(hlcs.windows(2).all(|w| w[0] < w[1]), "device order kept: {hlcs:?}");
    for p in [&past, &future] {
        let r = p.sync().await.unwrap();
        assert_eq!(r.rejected, 0, "{r:?}");
        assert_eq!(r.unsent_after, 0);
    }
    let mut expected = past.ids("record_visit");
    expected.extend(future.ids("record_visit"));
    expected.sort();
    assert_eq!(hq.ids("visits").await, expected);
    assert_eq!(hq.ids("reports").await.len(), 2);
    // HQ knows each phone's skew, with the right sign.
    let devices = hq.get("/v1/admin/devices").await;
    let skew = |id: &str| {
        devices.as_array().unwrap().iter().find(|d| d["device_id"] == id).unwrap()["clock_skew_ms"].as_i64().unwrap()
    };
    assert!(skew(&past.store.device().device_id) < -50 * 365 * 86_400_000, "1970 phone behind");
    assert!(skew(&future.store.device().device_id) > 70 * 365 * 86_400_000, "2099 phone ahead");
    // After syncing, the 1970 phone's next record still sorts after everything HQ had.
    let before = past.store.outbox(0, 100).unwrap().last().unwrap().hlc.clone();
    past.visit("h-0001");
    assert!(past.store.outbox(0, 100).unwrap().last().unwrap().hlc > before);
    hq.stop().await;
}

async fn one_bad_operation_is_rejected_and_the_rest_goes_through(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let visits: Vec<Visit> = (0..5).map(|_| phone.visit("h-0001")).collect();
    // Corrupt the third operation the way a buggy or tampered app could: it claims another
    // worker's name. HQ must refuse it alone.
    let db_path = phone.dir.path().join(store::DB_FILE);
    let c = rusqlite::Connection::open(&db_path).unwrap();
    let payload: String = c.query_row("SELECT payload FROM outbox WHERE seq = 3", [], |r| r.get(0)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    v["visit"]["worker_id"] = "w-002".into();
    c.execute("UPDATE outbox SET payload = ?1 WHERE seq = 3", [v.to_string()]).unwrap();
    drop(c);

    let r = phone.sync().await.unwrap();
    assert_eq!((r.applied, r.rejected), (4, 1), "{r:?}");
    assert_eq!(r.unsent_after, 0, "the queue moved on");
    let pending = phone.store.pending_uploads(10).unwrap();
    assert_eq!(pending.rejected, 1);
    let item = &pending.items[0];
    assert_eq!((item.state, item.seq), (UploadState::Rejected, Some(3)));
    assert!(item.reason.as_deref().is_some_and(|r| !r.is_empty()), "the worker sees why: {item:?}");
    assert!(phone.store.today().unwrap().unsent.message.contains("rejected"));
    // The outbox shows each row as HQ settled it.
    let states: Vec<String> = phone.store.outbox(0, 10).unwrap().into_iter().map(|e| e.state).collect();
    assert_eq!(states, ["acked", "acked", "rejected", "acked", "acked"]);
    let mut expected: Vec<String> = visits.iter().map(|v| v.id.clone()).filter(|id| *id != visits[2].id).collect();
    expected.sort();
    assert_eq!(hq.ids("visits").await, expected);
    // Recording goes on after a rejection.
    phone.visit("h-0002");
    assert_eq!(phone.sync().await.unwrap().applied, 1);
    hq.stop().await;
}

async fn a_task_reaches_only_its_assignee_and_a_lost_grid_is_purged(db: Db) {
    let hq = Hq::start(db).await;
    let li = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let zhang = Phone::enrol(&hq.url, &hq.code("w-003").await, NOW_MS).await;
    hq.dispatch("t-110-e2e", "w-001").await;
    li.sync().await.unwrap();
    zhang.sync().await.unwrap();
    assert!(li.store.tasks().unwrap().iter().any(|t| t.id == "t-110-e2e"));
    assert!(!zhang.store.tasks().unwrap().iter().any(|t| t.id == "t-110-e2e"));

    for action in [TaskAction::Acknowledge, TaskAction::OnTheWay, TaskAction::Complete] {
        let result = (action == TaskAction::Complete).then(|| "已调解 (mediated)".to_string());
        li.store
            .act_on_task(TaskActionInput {
                task_id: "t-110-e2e".into(),
                action,
                result,
                photos: vec![],
                location: None,
                datum: None,
            })
            .unwrap();
    }
    li.sync().await.unwrap();
    let tasks = hq.get("/v1/admin/tasks").await;
    let t = tasks.as_array().unwrap().iter().find(|t| t["id"] == "t-110-e2e").unwrap();
    assert_eq!(t["status"], "done");

    // Li's grid g-0101 is reassigned away: Li's phone drops its households and records there.
    li.visit("h-0001");
    li.sync().await.unwrap();
    hq.admin(
        reqwest::Method::PUT,
        "/v1/admin/workers/w-001",
        Some(serde_json::json!({ "name": "李网格 (Li)", "role": "full_time", "grid_ids": ["g-0102"] })),
    )
    .await;
    let r = li.sync().await.unwrap();
    assert!(r.reference_updated);
    let db_path = li.dir.path().join(store::DB_FILE);
    let c = rusqlite::Connection::open(&db_path).unwrap();
    let count = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM household WHERE grid_id = 'g-0101'"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM visit WHERE grid_id = 'g-0101'"), 0);
    assert!(count("SELECT COUNT(*) FROM household WHERE grid_id = 'g-0102'") > 0);
    assert_eq!(li.store.today().unwrap().grids.len(), 1);
    hq.stop().await;
}
