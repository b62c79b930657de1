//! A lost phone, from outside: the terminal shell enrols, records and syncs; HQ orders it wiped;
//! the next `device sync` erases the store and says so plainly (Chinese first), as does every
//! command after it, with exit code 2.

use std::path::Path;
use std::process::{Command, Output};

use gridpatrol_hq::{DatabaseUrl, HqConfig};
use serde_json::Value;

const ADMIN: &str = "cli-wipe-admin-token-0123456789abcdef0123456";

fn device(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .arg("device")
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("GRIDPATROL_INSTALLATION_ID")
        .output()
        .expect("run gridpatrol")
}

fn ok_json(store: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = device(store, &with_json);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

async fn admin(client: &reqwest::Client, url: &str, path: &str, body: Value) -> Value {
    let resp = client.post(format!("{url}{path}")).bearer_auth(ADMIN).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_phone_says_so_plainly_on_every_command() {
    let data = tempfile::tempdir().unwrap();
    let mut c = HqConfig::new("127.0.0.1:0".parse().unwrap(), DatabaseUrl::Sqlite(data.path().to_path_buf()));
    c.bootstrap_admin_token = Some(ADMIN.into());
    let hq = gridpatrol_hq::start(c).await.unwrap();
    let url = hq.url();
    let client = reqwest::Client::new();
    let sample = serde_json::to_value(gridpatrol_core::GridConfig::sample()).unwrap();
    admin(&client, &url, "/v1/admin/import", sample).await;
    let code = admin(&client, &url, "/v1/admin/workers/w-001/enrolment-codes", serde_json::json!({})).await;
    let code = code["code"].as_str().unwrap().to_string();
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
