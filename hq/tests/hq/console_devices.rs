//! 设备 / Devices in the console: each phone's last contact and what it said was unsent then;
//! wiping and authorising a discard only through a confirmation page that shows those counts
//! first, with its CSRF token, audited by the API's own handlers; another community's office
//! can do neither. Also: an older phone that reports no counts still pulls.

use gridpatrol_protocol::wire::{PullCursors, PullRequest, PullResponse, UnsentCounts};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::console::{create_user, Browser};

both!(the_devices_page_shows_unsent_work_and_wipes_only_after_confirmation);

async fn device(hq: &Hq, id: &str) -> Value {
    let (_, list) = hq.get("/v1/admin/devices", &hq.admin).await;
    list.as_array().unwrap().iter().find(|d| d["device_id"] == id).cloned().expect("listed")
}

async fn pull_reporting(phone: &Phone, unsent: Option<UnsentCounts>) -> (StatusCode, Value) {
    phone.send("/v1/pull", &PullRequest { cursors: PullCursors::default(), max_bytes: None, unsent }).await
}

async fn the_devices_page_shows_unsent_work_and_wipes_only_after_confirmation(hq: &Hq) {
    hq.seed().await;
    let lost = hq.phone("w-001").await;
    let handed_back = hq.phone("w-001").await;
    let counts = UnsentCounts { records: 3, photos: 1, photo_bytes: 2048 };
    assert_eq!(pull_reporting(&lost, Some(counts)).await.0, StatusCode::OK);
    // An older phone sends no counts: its pull works and HQ shows none.
    assert_eq!(pull_reporting(&handed_back, None).await.0, StatusCode::OK);
    assert!(device(hq, &handed_back.device_id).await["unsent_at_last_contact"].is_null());
    let d = device(hq, &lost.device_id).await;
    assert_eq!(d["unsent_at_last_contact"], serde_json::json!({ "records": 3, "photos": 1, "photo_bytes": 2048 }));
    assert!(d["last_contact_at"].is_string());

    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let list = admin.get("/devices").await.text();
    assert!(list.contains(&lost.device_id) && list.contains("3 条记录 · 1 张照片 (2 KB)"), "{list}");
    let wipe_page = format!("/devices/{}/wipe", lost.device_id);
    assert!(list.contains(&format!(r#"href="{wipe_page}""#)), "a wipe link per device");

    // The confirmation shows the counts first; a post without its token does nothing.
    let confirm = admin.get(&wipe_page).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let html = confirm.text();
    let counts_at = html.find(r#"id="unsent""#).expect("the counts");
    let form_at = html.find(&format!(r#"<form method="post" action="{wipe_page}""#)).expect("the wipe form");
    assert!(counts_at < form_at && html.contains("3 条记录"), "{html}");
    let refused = admin.post(&wipe_page, &[]).await;
    assert_eq!((refused.status, refused.error.as_deref()), (StatusCode::FORBIDDEN, Some("csrf_failed")));
    assert!(device(hq, &lost.device_id).await["wipe_ordered_at"].is_null());

    // Another community's office: not listed, and refused by the API's scope check.
    let password = create_user(&mut admin, "西湖社区", "xihu", "community", "c-02").await;
    let mut other = Browser::signed_in(&hq.url, "xihu", &password).await;
    assert!(!other.get("/devices").await.text().contains(&lost.device_id));
    assert_eq!(other.get(&wipe_page).await.status, StatusCode::NOT_FOUND);
    // (Its session's token from any of its forms: the post passes CSRF and meets the scope.)
    let token = other.get("/password").await.csrf();
    let p = other.post(&wipe_page, &[("_csrf", &token)]).await;
    assert_eq!((p.status, p.error.as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert!(device(hq, &lost.device_id).await["wipe_ordered_at"].is_null());

    let done = admin.submit(&wipe_page, &wipe_page, &[]).await;
    assert_eq!((done.status, done.location.as_deref()), (StatusCode::SEE_OTHER, Some("/devices")), "{}", done.text());
    let d = device(hq, &lost.device_id).await;
    assert!(d["wipe_ordered_at"].is_string() && d["revoked_at"].is_string(), "{d}");
    assert!(admin.get("/devices").await.text().contains("已下令清除"));
    let (_, audit) = hq.get(&format!("/v1/admin/audit?target={}", lost.device_id), &hq.admin).await;
    let order = audit.as_array().unwrap().iter().find(|e| e["action"] == "device.wipe_order").expect("audited");
    assert_eq!(order["detail"], "records=3 photos=1 photo_bytes=2048");
    let (s, v) = pull_reporting(&lost, None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("device_wipe")));

    // A discard, likewise through its confirmation; the phone learns it at its next pull.
    let discard_page = format!("/devices/{}/discard", handed_back.device_id);
    assert!(admin.get(&discard_page).await.text().contains("未报告"), "no counts reported: said so");
    let done = admin.submit(&discard_page, &discard_page, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let (s, v) = pull_reporting(&handed_back, Some(UnsentCounts::default())).await;
    assert_eq!(s, StatusCode::OK);
    let pulled: PullResponse = serde_json::from_value(v).unwrap();
    assert!(pulled.discard_authorised);
    let (_, audit) = hq.get(&format!("/v1/admin/audit?target={}", handed_back.device_id), &hq.admin).await;
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "device.discard_authorise"));
}
