//! Finding 1 of the exactly-once issue, replayed from outside as it was reported: the terminal
//! shell and HTTP only. Phone S1 enrols, records and syncs; its store folder is copied to S2,
//! which enrols with a new code for the same worker. Both go on recording and syncing: HQ holds
//! every visit once, S1's token keeps working, neither phone has anything unsent.

mod common;

use std::process::Command;

use common::{enrolment_code, ok_json as device, street_hq, ADMIN};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_store_folder_enrolled_again_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let (hq, url, client) = street_hq(data.path()).await;
    let code = || enrolment_code(&client, &url, "w-001");
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
