//! A lost phone, from outside: the terminal shell enrols, records and syncs; HQ orders it wiped;
//! the next `device sync` erases the store and says so plainly (Chinese first), as does every
//! command after it, with exit code 2.

mod common;

use common::{admin, device, enrolment_code, ok_json, street_hq};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_phone_says_so_plainly_on_every_command() {
    let data = tempfile::tempdir().unwrap();
    let (hq, url, client) = street_hq(data.path()).await;
    let code = enrolment_code(&client, &url, "w-001").await;
    let phones = tempfile::tempdir().unwrap();
    let store = phones.path().join("phone");

    let enrolled = tokio::task::spawn_blocking({
        let (store, url) = (store.clone(), url.clone());
        move || {
            let enrolled = ok_json(&store, &["enrol", "--hq", &url, "--code", &code]);
            ok_json(&store, &["sync"]);
            ok_json(&store, &["visit", "--household", "h-0001", "--type", "routine", "--outcome", "met"]);
            enrolled
        }
    })
    .await
    .unwrap();
    let device_id = enrolled["device_id"].as_str().unwrap().to_string();
    admin(&client, &url, &format!("/v1/admin/devices/{device_id}/wipe"), Value::Null).await;

    tokio::task::spawn_blocking(move || {
        for args in
            [&["sync"][..], &["today"], &["visit", "--household", "h-0001", "--type", "routine", "--outcome", "met"]]
        {
            let out = device(&store, args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let text = String::from_utf8_lossy(&out.stderr);
            assert!(text.contains("error [device_wiped]"), "{text}");
            let zh = text.find("本机已按街道指令清除全部数据").expect("Chinese first");
            assert!(zh < text.find("this phone was wiped on the street office's order (").unwrap_or(usize::MAX));
            assert!(text.contains("指挥中心已确认 (erased and confirmed to HQ)"), "{text}");
            assert!(text.contains("清除的未发送记录 (unsent work erased): 1 条记录"), "{text}");
        }
        let out = device(&store, &["today", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["error"]["code"], "device_wiped");
        assert_eq!(v["error"]["wipe"]["stage"], "confirmed");
        assert_eq!(v["error"]["wipe"]["erased_records"], 1);
    })
    .await
    .unwrap();
    hq.stop().await.unwrap();
}
