//! Lost and handed-back phones (docs/SYNC.md, "Wiping a phone", "Handing a phone back"), end to
//! end over real HTTP on SQLite and PostgreSQL: HQ orders a wipe, the phone erases its store and
//! photos at its next contact and confirms; a wipe stopped half-way (fault injection) finishes
//! at the next open and confirms at the next sync; HQ authorises discarding a handed-back
//! phone's unsent work for exactly one switch of worker.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use gridpatrol_core::sync::{SyncMode, SyncSend};
use gridpatrol_core::wipe::{self, WipeStage, WipeStep};
use gridpatrol_core::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

both!(
    an_online_phone_is_wiped_and_hq_records_the_confirmation,
    a_phone_offline_when_the_wipe_is_ordered_is_wiped_when_it_comes_back,
    fault_injection_a_wipe_stopped_at_each_step_finishes_at_reopen_and_confirms,
    a_community_operator_cannot_wipe_another_communitys_device,
    a_discard_authorisation_allows_exactly_one_switch_and_is_audited,
    a_phone_enrolled_by_another_worker_discards_only_with_authorisation,
    a_wipe_order_met_at_a_photo_upload_wipes_too,
    a_phone_ordered_wiped_that_enrols_again_is_wiped_and_its_code_stays_unused,
);

/// Residents' names and phone numbers of the test data (the households of the sample street).
fn personal_data() -> Vec<String> {
    let mut out = Vec::new();
    for h in GridConfig::sample().households {
        out.push(h.name.clone());
        out.extend(h.phone.clone());
    }
    assert!(out.len() >= 4);
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// (file, text) for every resident's name or phone number found in the bytes of a file under
/// the store folder.
fn personal_data_on_disk(dir: &Path) -> Vec<(PathBuf, String)> {
    let needles = personal_data();
    let mut found = Vec::new();
    for f in files_under(dir) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for n in &needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push((f.clone(), n.clone()));
            }
        }
    }
    found
}

/// The device token the store holds (read beside the open store, as a thief with the files could).
fn token_of(dir: &Path) -> String {
    let c =
        rusqlite::Connection::open_with_flags(dir.join("gridpatrol.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    c.query_row("SELECT device_token FROM sync_state WHERE id = 1", [], |r| r.get(0)).unwrap()
}

fn installation_of(dir: &Path) -> String {
    let c =
        rusqlite::Connection::open_with_flags(dir.join("gridpatrol.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    c.query_row("SELECT installation_id FROM device WHERE id = 1", [], |r| r.get(0)).unwrap()
}

/// A request with any token, answered with its status and JSON body.
async fn call(hq: &Hq, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = hq
        .client
        .request(method, format!("{}{path}", hq.url))
        .bearer_auth(token)
        .header(gridpatrol_protocol::wire::PROTOCOL_HEADER, "2");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn device_row(hq: &Hq, device_id: &str) -> Value {
    let list = hq.get("/v1/admin/devices").await;
    list.as_array().unwrap().iter().find(|d| d["device_id"] == device_id).cloned().expect("the device is listed")
}

/// The audit trail about one device, oldest first: (action, detail).
async fn audit_of(hq: &Hq, device_id: &str) -> Vec<(String, String)> {
    let v = hq.get(&format!("/v1/admin/audit?target={device_id}")).await;
    let mut out: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap_or("").to_string()))
        .collect();
    out.reverse();
    out
}

fn actions(audit: &[(String, String)]) -> Vec<&str> {
    audit.iter().map(|(a, _)| a.as_str()).collect()
}

fn is_wiped<T>(r: gridpatrol_core::Result<T>) -> bool {
    matches!(r, Err(CoreError::DeviceWiped))
}

fn visit_input(household: &str) -> VisitInput {
    VisitInput {
        household_id: household.into(),
        visit_type: VisitType::Routine,
        outcome: VisitOutcome::Met,
        needs: vec![],
        note: None,
        satisfaction: None,
        case_id: None,
        location: None,
        occurred_at: None,
        datum: None,
    }
}

/// Every operation of a wiped store answers `DeviceWiped`; only the marker is left on disk,
/// with no resident's name or phone number anywhere.
async fn assert_wiped(store: &Store, dir: &Path) {
    assert!(store.is_wiped());
    assert!(is_wiped(store.today()));
    assert!(is_wiped(store.record_visit(visit_input("h-0001"))));
    assert!(is_wiped(store.outbox(0, 10)));
    assert!(is_wiped(store.sync(&quick(), &gridpatrol_core::sync::NoProgress).await));
    let left: Vec<PathBuf> = files_under(dir);
    assert_eq!(left, vec![dir.join(wipe::MARKER_FILE)], "only the wipe's marker stays");
    assert_eq!(personal_data_on_disk(dir), vec![], "nothing personal stays on disk");
    assert!(is_wiped(Store::open(dir, StoreOptions::default()).and_then(|s| s.today())));
    assert!(is_wiped(Store::init(dir, &GridConfig::sample(), "w-001", StoreOptions::default())));
}

async fn an_online_phone_is_wiped_and_hq_records_the_confirmation(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    phone.visit("h-0001");
    let photo = phone.photo(1);
    phone.report(vec![photo]);
    phone.sync().await.unwrap();
    let device_id = phone.store.device().device_id;
    let token = token_of(phone.dir.path());
    let installation = installation_of(phone.dir.path());
    assert!(!personal_data_on_disk(phone.dir.path()).is_empty(), "the names are on disk before (the check is real)");

    let ordered = hq.post(&format!("/v1/admin/devices/{device_id}/wipe"), Value::Null).await;
    assert_eq!(ordered["unsent_at_last_contact"], json!({ "records": 0, "photos": 0, "photo_bytes": 0 }));
    assert!(ordered["wipe_confirmed_at"].is_null());
    // The order takes effect at the phone's next contact, here its next sync.
    assert!(is_wiped(phone.sync().await));
    assert_wiped(&phone.store, phone.dir.path()).await;
    let status = wipe::status(phone.dir.path()).unwrap().unwrap();
    assert_eq!(status.stage, WipeStage::Confirmed);

    let d = device_row(&hq, &device_id).await;
    for field in ["revoked_at", "wipe_ordered_at", "wipe_confirmed_at", "last_contact_at"] {
        assert!(d[field].is_string(), "{field}: {d}");
    }
    assert_eq!(d["revoked"], json!(true));
    let audit = audit_of(&hq, &device_id).await;
    let acts = actions(&audit);
    for a in ["device.revoke", "device.wipe_order", "device.wipe_confirm"] {
        assert_eq!(acts.iter().filter(|x| **x == a).count(), 1, "{a} once in {acts:?}");
    }
    let pos = |a: &str| acts.iter().position(|x| *x == a).unwrap();
    assert!(pos("device.revoke") < pos("device.wipe_confirm") && pos("device.wipe_order") < pos("device.wipe_confirm"));

    // The wiped token is good for confirming (again: the same answer) and for nothing else.
    let erased = json!({ "erased": { "records": 0, "photos": 0, "photo_bytes": 0 } });
    let (s1, first) = call(&hq, Method::POST, "/v1/wipe", &token, Some(erased.clone())).await;
    let (s2, again) = call(&hq, Method::POST, "/v1/wipe", &token, Some(erased)).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first["confirmed_ms"], again["confirmed_ms"]);
    let push = json!({ "device_id": device_id, "epoch": 1, "device_time_ms": NOW_MS, "ops": [] });
    for (path, body) in [("/v1/push", push), ("/v1/pull", json!({ "cursors": {} }))] {
        let (s, v) = call(&hq, Method::POST, path, &token, Some(body)).await;
        assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("device_wipe")), "{path}");
    }
    let (s, v) = call(&hq, Method::GET, "/v1/admin/devices", &token, None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("device_wipe")));
    assert_eq!(actions(&audit_of(&hq, &device_id).await).iter().filter(|a| **a == "device.wipe_confirm").count(), 1);

    // The app reinstalled on that phone, its installation id surviving (an iOS Keychain item)
    // and the platform's device id the same: it enrols under a new device id and works.
    let fresh = tempfile::tempdir().unwrap();
    let opts = StoreOptions { installation_id: Some(installation), ..StoreOptions::default() };
    let again = Store::enrol_device(fresh.path(), &hq.url, &hq.code("w-001").await, Some(&device_id), opts)
        .await
        .expect("a reinstalled app enrols");
    assert_ne!(again.device().device_id, device_id);
    again.record_visit(visit_input("h-0001")).unwrap();
    again.sync(&quick(), &gridpatrol_core::sync::NoProgress).await.unwrap();
    hq.stop().await;
}

async fn a_phone_offline_when_the_wipe_is_ordered_is_wiped_when_it_comes_back(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    phone.visit("h-0001");
    let photo = phone.photo(1);
    phone.report(vec![photo]);
    // Its last contact: on mobile data, records only; the photo stays unsent.
    let metered = gridpatrol_core::sync::SyncOptions {
        mode: SyncMode { send: SyncSend::RecordsOnly, ..SyncMode::default() },
        ..quick()
    };
    let report = phone.store.sync(&metered, &gridpatrol_core::sync::NoProgress).await.unwrap();
    assert_eq!((report.records_left, report.photos_left), (0, 1));
    let bytes = report.photo_bytes_left;
    assert!(bytes > 0);
    let device_id = phone.store.device().device_id;
    let at_contact = json!({ "records": 0, "photos": 1, "photo_bytes": bytes });
    assert_eq!(device_row(&hq, &device_id).await["unsent_at_last_contact"], at_contact);

    // Offline from here: the worker goes on recording.
    phone.visit("h-0002");
    phone.visit("h-0003");
    let visits_at_hq = hq.ids("visits").await;
    // The operator sees, before choosing to wipe, what was unsent at the last contact.
    let ordered = hq.post(&format!("/v1/admin/devices/{device_id}/wipe"), Value::Null).await;
    assert_eq!(ordered["unsent_at_last_contact"], at_contact);
    assert!(device_row(&hq, &device_id).await["wipe_confirmed_at"].is_null(), "not before the phone is back");

    // Online again: the first request is answered `device_wipe`.
    assert!(is_wiped(phone.sync().await));
    assert_wiped(&phone.store, phone.dir.path()).await;
    assert_eq!(hq.ids("visits").await, visits_at_hq, "the offline visits were erased, never sent");
    let audit = audit_of(&hq, &device_id).await;
    let detail = |a: &str| audit.iter().find(|(x, _)| x == a).map(|(_, d)| d.clone()).unwrap();
    assert_eq!(detail("device.wipe_order"), format!("records=0 photos=1 photo_bytes={bytes}"));
    assert_eq!(detail("device.wipe_confirm"), format!("records=2 photos=1 photo_bytes={bytes}"));
    assert!(device_row(&hq, &device_id).await["wipe_confirmed_at"].is_string());
    hq.stop().await;
}

async fn fault_injection_a_wipe_stopped_at_each_step_finishes_at_reopen_and_confirms(db: Db) {
    let hq = Hq::start(db).await;
    for step in [WipeStep::MarkerWritten, WipeStep::PhotosErased, WipeStep::FilesErased, WipeStep::BeforeConfirm] {
        let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
        phone.visit("h-0001");
        let photo = phone.photo(2);
        phone.report(vec![photo]);
        phone.sync().await.unwrap();
        phone.visit("h-0002");
        let device_id = phone.store.device().device_id;
        hq.post(&format!("/v1/admin/devices/{device_id}/wipe"), Value::Null).await;

        wipe::fault_injection_stop_wipe_after(phone.dir.path(), step);
        assert!(is_wiped(phone.sync().await), "{step:?}");
        // The crash: the app is gone mid-wipe.
        let Phone { dir, store, .. } = phone;
        drop(store);
        assert!(dir.path().join(wipe::MARKER_FILE).exists(), "{step:?}: the marker survives");
        assert!(device_row(&hq, &device_id).await["wipe_confirmed_at"].is_null(), "{step:?}: not confirmed yet");

        // Reopened: the wipe finishes before anything can be read, and the next sync confirms.
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(store.is_wiped(), "{step:?}");
        assert_eq!(personal_data_on_disk(dir.path()), vec![], "{step:?}");
        assert!(is_wiped(store.sync(&quick(), &gridpatrol_core::sync::NoProgress).await));
        assert!(device_row(&hq, &device_id).await["wipe_confirmed_at"].is_string(), "{step:?}: confirmed");
        assert_wiped(&store, dir.path()).await;
        let audit = audit_of(&hq, &device_id).await;
        let confirms: Vec<&(String, String)> = audit.iter().filter(|(a, _)| a == "device.wipe_confirm").collect();
        assert_eq!(confirms.len(), 1, "{step:?}");
        assert!(confirms[0].1.starts_with("records=1 photos=0"), "{step:?}: {:?}", confirms[0]);
    }
    hq.stop().await;
}

async fn a_community_operator_cannot_wipe_another_communitys_device(db: Db) {
    let hq = Hq::start(db).await;
    hq.post("/v1/admin/communities", json!({ "id": "c-02", "code": "310101002002", "name": "西湖社区" })).await;
    let operator = |c: &'static str| {
        let hq = &hq;
        async move {
            let v = hq
                .post("/v1/admin/operators", json!({ "name": "社区干部", "role": "community", "scope_ids": [c] }))
                .await;
            v["token"].as_str().unwrap().to_string()
        }
    };
    let other = operator("c-02").await;
    let own = operator("c-01").await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    phone.sync().await.unwrap();
    let device_id = phone.store.device().device_id;

    for action in ["wipe", "authorise-discard"] {
        let (s, v) = call(&hq, Method::POST, &format!("/v1/admin/devices/{device_id}/{action}"), &other, None).await;
        assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{action}");
    }
    let (_, listed) = call(&hq, Method::GET, "/v1/admin/devices", &other, None).await;
    assert_eq!(listed, json!([]), "another community's devices are not listed");
    assert!(device_row(&hq, &device_id).await["wipe_ordered_at"].is_null());
    assert!(!actions(&audit_of(&hq, &device_id).await).contains(&"device.wipe_order"));
    phone.visit("h-0001");
    phone.sync().await.expect("the phone goes on working");

    // The device's own community may.
    let (s, _) = call(&hq, Method::POST, &format!("/v1/admin/devices/{device_id}/wipe"), &own, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(is_wiped(phone.sync().await));
    let (s, v) = call(&hq, Method::POST, "/v1/admin/devices/no-such-device/wipe", &own, None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    hq.stop().await;
}

async fn a_discard_authorisation_allows_exactly_one_switch_and_is_audited(db: Db) {
    let hq = Hq::start(db).await;
    let Phone { dir, store, .. } = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let config = GridConfig::sample();
    let device_id = store.device().device_id;
    store.sync(&quick(), &gridpatrol_core::sync::NoProgress).await.unwrap();
    store.record_visit(visit_input("h-0001")).unwrap();
    store.record_visit(visit_input("h-0002")).unwrap();
    drop(store);
    // Without HQ's authorisation the switch is refused, and nothing changes.
    assert!(matches!(
        Store::init(dir.path(), &config, "w-002", StoreOptions::default()),
        Err(CoreError::UnsentWork { unsent: 2 })
    ));
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.device().worker_id, "w-001");

    let authorised = hq.post(&format!("/v1/admin/devices/{device_id}/authorise-discard"), Value::Null).await;
    assert_eq!(authorised["unsent_at_last_contact"], json!({ "records": 0, "photos": 0, "photo_bytes": 0 }));
    // The phone learns it at its next contact (which also sends the two visits).
    store.sync(&quick(), &gridpatrol_core::sync::NoProgress).await.unwrap();
    let sent = hq.ids("visits").await;
    assert_eq!(sent.len(), 2);
    // Handed back with work that will not be sent: a visit and a report with its photo.
    store.record_visit(visit_input("h-0003")).unwrap();
    let photo = dir.path().join("handed-back.jpg");
    std::fs::write(&photo, tiny_jpeg(3)).unwrap();
    store
        .file_report(ReportInput {
            grid_id: "g-0101".into(),
            category: ReportCategory::SafetyHazard,
            urgency: None,
            location: GeoPoint { lat: 31.232, lng: 121.473 },
            place_name: None,
            description: "楼道堆物".into(),
            people_involved: 0,
            source: ReportSource::Resident,
            patrol_id: None,
            visit_id: None,
            photos: vec![photo.clone()],
            datum: None,
        })
        .unwrap();
    std::fs::remove_file(&photo).unwrap();
    // Photos live inside the store's database (the photo and its thumbnail as blobs).
    let blobs = || -> i64 {
        let db = rusqlite::Connection::open(dir.path().join(gridpatrol_core::store::DB_FILE)).unwrap();
        db.query_row("SELECT count(*) FROM attachment_blob", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(blobs(), 2, "the photo and its thumbnail are stored");
    drop(store);

    // The one switch: the previous worker's unsent work is discarded.
    let store = Store::init(dir.path(), &config, "w-002", StoreOptions::default()).expect("authorised switch");
    assert_eq!(store.device().worker_id, "w-002");
    assert!(store.outbox(0, 100).unwrap().iter().all(|e| e.state != "pending"), "nothing of w-001 left to send");
    assert_eq!(blobs(), 0, "the unsent photo is gone");
    // The authorisation is used up on the phone, before HQ even hears of it.
    store.record_visit(visit_input("h-0004")).unwrap();
    drop(store);
    assert!(matches!(
        Store::init(dir.path(), &config, "w-001", StoreOptions::default()),
        Err(CoreError::UnsentWork { .. })
    ));

    // The next sync reports the discard; HQ audits it and never gets the discarded records.
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    store.sync(&quick(), &gridpatrol_core::sync::NoProgress).await.unwrap();
    assert_eq!(hq.ids("visits").await, sent, "the discarded visit never reached HQ");
    let audit = audit_of(&hq, &device_id).await;
    assert_eq!(
        actions(&audit).iter().filter(|a| a.starts_with("device.discard")).copied().collect::<Vec<_>>(),
        ["device.discard_authorise", "device.discard_done"]
    );
    let done = &audit.iter().find(|(a, _)| a == "device.discard_done").unwrap().1;
    assert!(done.starts_with("records=2 photos=1 photo_bytes=") && done.ends_with("to_worker=w-002"), "{done}");
    let d = device_row(&hq, &device_id).await;
    assert!(d["discard_used_at"].is_string() && d["discard_authorised_at"].is_string(), "{d}");
    // HQ's authorisation is used up too: its pulls no longer grant one, and the next switch
    // with unsent work is refused.
    store.record_visit(visit_input("h-0004")).unwrap();
    drop(store);
    assert!(matches!(
        Store::init(dir.path(), &config, "w-001", StoreOptions::default()),
        Err(CoreError::UnsentWork { unsent: 1 })
    ));
    hq.stop().await;
}

async fn a_phone_enrolled_by_another_worker_discards_only_with_authorisation(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    phone.sync().await.unwrap();
    let device_id = phone.store.device().device_id;
    phone.visit("h-0001");
    let Phone { dir, store, .. } = phone;
    drop(store);
    // Another worker's code on a phone holding unsent work: refused, as before.
    let refused = Store::enrol(dir.path(), &hq.url, &hq.code("w-002").await, StoreOptions::default()).await;
    assert!(matches!(refused, Err(CoreError::UnsentWork { unsent: 1 })), "{:?}", refused.err());
    // HQ authorises; the phone learns it from the enrolment's answer itself.
    hq.post(&format!("/v1/admin/devices/{device_id}/authorise-discard"), Value::Null).await;
    let store = Store::enrol(dir.path(), &hq.url, &hq.code("w-002").await, StoreOptions::default())
        .await
        .expect("the authorised switch");
    assert_eq!(store.device().worker_id, "w-002");
    assert!(store.outbox(0, 100).unwrap().iter().all(|e| e.state != "pending"));
    store.sync(&quick(), &gridpatrol_core::sync::NoProgress).await.unwrap();
    let audit = audit_of(&hq, &device_id).await;
    let done = &audit.iter().find(|(a, _)| a == "device.discard_done").expect("reported").1;
    assert!(done.starts_with("records=1 photos=0") && done.ends_with("to_worker=w-002"), "{done}");
    assert_eq!(hq.ids("visits").await, Vec::<String>::new(), "the discarded visit never reached HQ");
    hq.stop().await;
}

async fn a_wipe_order_met_at_a_photo_upload_wipes_too(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let photo = phone.photo(4);
    phone.report(vec![photo]);
    let records_only = gridpatrol_core::sync::SyncOptions {
        mode: SyncMode { send: SyncSend::RecordsOnly, ..SyncMode::default() },
        ..quick()
    };
    let r = phone.store.sync(&records_only, &gridpatrol_core::sync::NoProgress).await.unwrap();
    assert_eq!((r.records_left, r.photos_left), (0, 1));
    let device_id = phone.store.device().device_id;
    hq.post(&format!("/v1/admin/devices/{device_id}/wipe"), Value::Null).await;
    // Nothing to push: the first request of this run is the photo's, and it meets the order.
    assert!(is_wiped(phone.sync().await));
    assert_wiped(&phone.store, phone.dir.path()).await;
    let audit = audit_of(&hq, &device_id).await;
    let confirm = audit.iter().find(|(a, _)| a == "device.wipe_confirm").expect("confirmed");
    assert!(confirm.1.starts_with("records=0 photos=1"), "{confirm:?}");
    hq.stop().await;
}

async fn a_phone_ordered_wiped_that_enrols_again_is_wiped_and_its_code_stays_unused(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    phone.visit("h-0001");
    phone.sync().await.unwrap();
    let device_id = phone.store.device().device_id;
    hq.post(&format!("/v1/admin/devices/{device_id}/wipe"), Value::Null).await;
    let Phone { dir, store, .. } = phone;
    drop(store);
    // The phone is enrolled again (say its worker was given a fresh code): the enrolment meets
    // the order, the store is wiped and confirmed, and the code is not spent.
    let code = hq.code("w-001").await;
    let r = Store::enrol(dir.path(), &hq.url, &code, StoreOptions::default()).await;
    assert!(is_wiped(r));
    assert_eq!(personal_data_on_disk(dir.path()), vec![]);
    assert_eq!(files_under(dir.path()), vec![dir.path().join(wipe::MARKER_FILE)]);
    assert!(device_row(&hq, &device_id).await["wipe_confirmed_at"].is_string());
    let other = Phone::enrol(&hq.url, &code, NOW_MS).await;
    assert_ne!(other.store.device().device_id, device_id, "the unused code enrols another phone");
    hq.stop().await;
}
