//! What the fuzz targets share: a real HQ in this process (SQLite in a temporary folder, the
//! sample street imported, one phone enrolled), reached over loopback with the phone's client.

use std::sync::OnceLock;

pub struct LiveHq {
    pub rt: tokio::runtime::Runtime,
    pub url: String,
    pub client: reqwest::Client,
    pub device_token: String,
    _hq: gridpatrol_hq::RunningHq,
    _dir: tempfile::TempDir,
}

/// The one HQ of this fuzzing process.
pub fn hq() -> &'static LiveHq {
    static HQ: OnceLock<LiveHq> = OnceLock::new();
    HQ.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = gridpatrol_hq::HqConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            gridpatrol_hq::DatabaseUrl::parse(&dir.path().display().to_string()),
        );
        let hq = rt.block_on(gridpatrol_hq::start(config)).unwrap();
        let url = hq.url();
        let admin = hq.created_admin_token.clone().expect("a fresh HQ makes its admin");
        let client = reqwest::Client::new();
        let device_token = rt.block_on(async {
            let config = serde_json::to_string(&gridpatrol_protocol::config::GridConfig::sample()).unwrap();
            let post = |path: &str, body: String, token: Option<&str>| {
                let mut r = client.post(format!("{url}{path}")).header("content-type", "application/json").body(body);
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                r.send()
            };
            let ok = |r: reqwest::Response| async move {
                assert!(r.status().is_success(), "fuzz set-up: {}", r.status());
                serde_json::from_slice::<serde_json::Value>(&r.bytes().await.unwrap()).unwrap()
            };
            ok(post("/v1/admin/import", config, Some(&admin)).await.unwrap()).await;
            let code =
                ok(post("/v1/admin/workers/w-001/enrolment-codes", "{}".into(), Some(&admin)).await.unwrap()).await;
            let enrol = serde_json::json!({ "code": code["code"], "device_id": "fuzz-device-0001", "epoch": 0 });
            let answer = ok(post("/v1/enrol", enrol.to_string(), None).await.unwrap()).await;
            answer["device_token"].as_str().unwrap().to_string()
        });
        LiveHq { rt, url, client, device_token, _hq: hq, _dir: dir }
    })
}

impl LiveHq {
    /// POST `body` to `path` (with the phone's token when `authed`) and check HQ's promise about
    /// bad input: never a server error for a client's bytes, and every refusal a JSON error body
    /// with a stable code.
    pub fn post_checked(&self, path: &str, body: &[u8], authed: bool) {
        self.rt.block_on(async {
            let mut r = self
                .client
                .post(format!("{}{path}", self.url))
                .header("content-type", "application/json")
                .body(body.to_vec());
            if authed {
                r = r.bearer_auth(&self.device_token);
            }
            let resp = r.send().await.expect("HQ answers");
            let status = resp.status();
            let text = resp.text().await.expect("HQ's answer reads");
            assert!(!status.is_server_error(), "{path}: {status} for a client's bytes: {text}");
            if status.is_client_error() {
                let v: serde_json::Value = serde_json::from_str(&text).expect("a refusal is JSON");
                assert!(v["error"]["code"].is_string(), "{path}: {status} without a code: {text}");
            }
        })
    }
}
