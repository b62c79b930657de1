//! What the terminal shell's end-to-end tests share: running `gridpatrol device …`, and an HQ
//! on SQLite in a temporary folder with the sample street imported.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use gridpatrol_hq::{DatabaseUrl, HqConfig, RunningHq};
use serde_json::Value;

pub const ADMIN: &str = "cli-test-admin-token-0123456789abcdef01234567";

/// `gridpatrol device --store <store> <args>`, with no installation id from the environment.
pub fn device(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .arg("device")
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("GRIDPATROL_INSTALLATION_ID")
        .output()
        .expect("run gridpatrol")
}

/// `device … --json` that must succeed: its JSON output.
pub fn ok_json(store: &Path, args: &[&str]) -> Value {
    let out = device(store, &[args, &["--json"]].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// An HQ on SQLite in `data`, the sample street imported, its admin `ADMIN`.
pub async fn street_hq(data: &Path) -> (RunningHq, String, reqwest::Client) {
    let mut c = HqConfig::new("127.0.0.1:0".parse().unwrap(), DatabaseUrl::Sqlite(data.to_path_buf()));
    c.bootstrap_admin_token = Some(ADMIN.into());
    let hq = gridpatrol_hq::start(c).await.unwrap();
    let url = hq.url();
    let client = reqwest::Client::new();
    let sample = serde_json::to_value(gridpatrol_core::GridConfig::sample()).unwrap();
    admin(&client, &url, "/v1/admin/import", sample).await;
    (hq, url, client)
}

/// A POST as the street admin that must succeed: its JSON answer.
pub async fn admin(client: &reqwest::Client, url: &str, path: &str, body: Value) -> Value {
    let resp = client.post(format!("{url}{path}")).bearer_auth(ADMIN).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// A one-time enrolment code for `worker`.
pub async fn enrolment_code(client: &reqwest::Client, url: &str, worker: &str) -> String {
    let v = admin(client, url, &format!("/v1/admin/workers/{worker}/enrolment-codes"), serde_json::json!({})).await;
    v["code"].as_str().unwrap().to_string()
}
