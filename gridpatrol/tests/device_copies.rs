//! Finding 1 of the exactly-once issue, replayed from outside as it was reported: the terminal
//! shell and HTTP only. Phone S1 enrols, records and syncs; its store folder is copied to S2,
//! which enrols with a new code for the same worker. Both go on recording and syncing: HQ holds
//! every visit once, S1's token keeps working, neither phone has anything unsent.

use std::path::Path;
use std::process::Command;

use gridpatrol_hq::{DatabaseUrl, HqConfig};
use serde_json::Value;

const ADMIN: &str = "cli-copies-admin-token-0123456789abcdef01234";

fn device(store: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .arg("device")
        .arg("--store")
        .arg(store)
        .args(args)
        .arg("--json")
        .env_remove("GRIDPATROL_INSTALLATION_ID")
        .output()
        .expect("run gridpatrol");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

async fn admin(client: &reqwest::Client, url: &str, path: &str, body: Value) -> Value {
    let resp = client.post(format!("{url}{path}")).bearer_auth(ADMIN).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_store_folder_enrolled_again_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let mut c = HqConfig::new("127.0.0.1:0".parse().unwrap(), DatabaseUrl::Sqlite(data.path().to_path_buf()));
    c.bootstrap_admin_token = Some(ADMIN.into());
    let hq = gridpatrol_hq::start(c).await.unwrap();
    let url = hq.url();
    let client = reqwest::Client::new();
    let sample = serde_json::to_value(gridpatrol_core::GridConfig::sample()).unwrap();
    admin(&client, &url, "/v1/admin/import", sample).await;
    let code = || async {
        let v = admin(&client, &url, "/v1/admin/workers/w-001/enrolment-codes", serde_json::json!({})).await;
        v["code"].as_str().unwrap().to_string()
    };
    let phones = tempfile::tempdir().unwrap();
    let (s1, s2) = (phones.path().join("s1"), phones.path().join("s2"));
    let visit = ["visit", "--household", "h-0001", "--type", "routine", "--outcome", "met"];

    let c1 = code().await;
    let first = tokio::task::spawn_blocking({
        let (s1, url) = (s1.clone(), url.clone());
        move || {
            let enrolled = device(&s1, &["enrol", "--hq", &url, "--code", &c1]);
            for _ in 0..3 {
                device(&s1, &visit);
            }
            let r = device(&s1, &["sync"]);
            assert_eq!(r["applied"], 3, "{r}");
            enrolled
        }
    })
    .await
    .unwrap();
    // The folder copied to another phone (its installation file beside the folder is not).
    let status = Command::new("cp").arg("-r").arg(&s1).arg(&s2).status().unwrap();
    assert!(status.success());
    let c2 = code().await;
    tokio::task::spawn_blocking({
        let (s1, s2, url) = (s1.clone(), s2.clone(), url.clone());
        move || {
            let second = device(&s2, &["enrol", "--hq", &url, "--code", &c2]);
            assert_ne!(second["device_id"], first["device_id"], "the copy gets an identity of its own");
            for _ in 0..3 {
                device(&s2, &visit);
            }
            let r = device(&s2, &["sync"]);
            assert_eq!((r["applied"].as_u64(), r["unsent_after"].as_u64()), (Some(3), Some(0)), "{r}");
            for _ in 0..3 {
                device(&s1, &visit);
            }
            let r = device(&s1, &["sync"]);
            assert_eq!(
                (r["applied"].as_u64(), r["duplicates"].as_u64(), r["unsent_after"].as_u64()),
                (Some(3), Some(0), Some(0)),
                "S1 keeps its token and its work: {r}"
            );
        }
    })
    .await
    .unwrap();
    let resp = client
        .get(format!("{url}/v1/admin/visits?from=2000-01-01&to=2100-01-01"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    let rows = v.as_array().cloned().or_else(|| v["rows"].as_array().cloned()).unwrap();
    assert_eq!(rows.len(), 9, "every visit at HQ, once");

    // `hq backup` while HQ serves; `hq restore` into another data folder; a backup never
    // overwrites a file.
    let backup = phones.path().join("hq-backup.db");
    let hq_cmd = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gridpatrol")).arg("hq").args(args).output().expect("run gridpatrol hq")
    };
    let data_dir = data.path().to_str().unwrap();
    let out = hq_cmd(&["backup", "--database", data_dir, "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = hq_cmd(&["backup", "--database", data_dir, "--to", backup.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "an existing file is never overwritten");
    let restored = phones.path().join("restored-hq");
    let out = hq_cmd(&["restore", "--from", backup.to_str().unwrap(), "--database", restored.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = rusqlite::Connection::open(restored.join(gridpatrol_hq::db::SQLITE_DB_FILE)).unwrap();
    let visits: i64 = db.query_row("SELECT COUNT(*) FROM visit", [], |r| r.get(0)).unwrap();
    assert_eq!(visits, 9, "the backup holds what HQ held");
    hq.stop().await.unwrap();
}
