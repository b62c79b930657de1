//! Harness for the end-to-end tests: a real HQ (in this process, or as a child process for the
//! kill test) on SQLite or PostgreSQL, seeded through its admin API, and phones that are real
//! core stores with hand-set clocks, talking real HTTP on loopback.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gridpatrol_core::sync::{Backoff, NoProgress, SyncOptions, SyncReport};
use gridpatrol_core::*;
use gridpatrol_hq::{DatabaseUrl, HqConfig, RunningHq};
use serde_json::{json, Value};

pub const ADMIN: &str = "e2e-admin-token-0123456789abcdef0123456789";
/// 2026-11-27 09:00 +08:00
pub const NOW_MS: i64 = 1_764_205_200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs `async fn name(db: Db)` on SQLite and on PostgreSQL. Without `GRIDPATROL_TEST_PG_URL`
/// the PostgreSQL variant is skipped, except under CI, where it fails.
#[allow(unused_macros)] // not every test file runs on both backends through it
macro_rules! both {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$f(crate::common::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::common::pg_base_url().is_none() {
                    return;
                }
                super::$f(crate::common::Db::Postgres).await;
            }
        }
    )*};
}
#[allow(unused_imports)] // not every test file runs on both backends through it
pub(crate) use both;

pub use gridpatrol_testing::{pg_base_url, tiny_jpeg, PgSchema};

/// A test's own database: a temporary folder, or a PostgreSQL schema dropped afterwards.
pub enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(PgSchema),
}

impl Place {
    pub fn new(db: Db) -> Place {
        match db {
            Db::Sqlite => Place::Sqlite(tempfile::tempdir().unwrap()),
            Db::Postgres => Place::Postgres(PgSchema::create(&pg_base_url().expect("PostgreSQL configured"))),
        }
    }

    /// What `gridpatrol hq serve --database` takes.
    pub fn arg(&self) -> String {
        match self {
            Place::Sqlite(d) => d.path().display().to_string(),
            Place::Postgres(schema) => schema.url(),
        }
    }
}

pub struct Hq {
    pub url: String,
    pub client: reqwest::Client,
    pub place: Place,
    running: Option<RunningHq>,
}

impl Hq {
    pub async fn start(db: Db) -> Hq {
        let place = Place::new(db);
        let running = gridpatrol_hq::start(Hq::config("127.0.0.1:0", &place)).await.expect("HQ starts");
        let hq = Hq { url: running.url(), client: reqwest::Client::new(), place, running: Some(running) };
        hq.import_sample().await;
        hq
    }

    fn config(listen: &str, place: &Place) -> HqConfig {
        let mut c = HqConfig::new(listen.parse().unwrap(), DatabaseUrl::parse(&place.arg()));
        c.rate_limit_per_device = (100_000, 100_000.0);
        c.rate_limit_per_operator = (100_000, 100_000.0);
        c.bootstrap_admin_token = Some(ADMIN.into());
        c
    }

    /// Stop HQ, put the SQLite backup `from` in place of its database, and start it again on
    /// the same address (`gridpatrol hq restore` does the middle step).
    pub async fn restore(&mut self, from: &std::path::Path) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
        let Place::Sqlite(dir) = &self.place else { panic!("restore is SQLite's") };
        gridpatrol_hq::backup::restore(from, dir.path()).expect("restore");
        let listen = self.url.trim_start_matches("http://").to_string();
        let running = gridpatrol_hq::start(Hq::config(&listen, &self.place)).await.expect("HQ restarts");
        self.running = Some(running);
    }

    /// Stop HQ and start it again on the same address and database.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
        let listen = self.url.trim_start_matches("http://").to_string();
        let running = gridpatrol_hq::start(Hq::config(&listen, &self.place)).await.expect("HQ restarts");
        self.running = Some(running);
    }

    /// An HQ whose process is run elsewhere (the kill test): only the client side.
    pub fn remote(url: String, place: Place) -> Hq {
        Hq { url, client: reqwest::Client::new(), place, running: None }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.url)).bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.admin(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn import_sample(&self) {
        let config = serde_json::to_value(GridConfig::sample()).unwrap();
        self.post("/v1/admin/import", config).await;
    }

    pub async fn code(&self, worker: &str) -> String {
        let v = self.post(&format!("/v1/admin/workers/{worker}/enrolment-codes"), json!({})).await;
        v["code"].as_str().unwrap().to_string()
    }

    /// Ids of a record list (`patrols`, `visits`, `reports`) as HQ holds them.
    pub async fn ids(&self, kind: &str) -> Vec<String> {
        let v = self.get(&format!("/v1/admin/{kind}?from=2000-01-01&to=2100-01-01")).await;
        let rows = v.as_array().cloned().or_else(|| v["rows"].as_array().cloned()).unwrap_or_default();
        let mut ids: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    }

    pub async fn dispatch(&self, id: &str, assignee: &str) -> Value {
        self.post(
            "/v1/admin/tasks",
            json!({
                "id": id, "source": "diversion_110", "title": "邻里纠纷 (neighbour dispute)",
                "description": "110 转派", "target_unit": "人民调解 (mediation)", "assignee_id": assignee,
                "grid_id": "g-0101", "deadline": "2030-01-01T00:00:00Z"
            }),
        )
        .await
    }
}

pub struct Phone {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    /// The installation id the shell keeps outside the store (None: the store keeps its own).
    pub installation: Option<String>,
}

pub fn quick() -> SyncOptions {
    SyncOptions {
        max_attempts: 6,
        backoff: Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(200) },
        timeout: Duration::from_secs(10),
        ..SyncOptions::default()
    }
}

impl Phone {
    pub async fn enrol(hq_url: &str, code: &str, clock_ms: i64) -> Phone {
        Phone::enrol_as(hq_url, code, clock_ms, None).await
    }

    pub async fn enrol_as(hq_url: &str, code: &str, clock_ms: i64, device_id: Option<&str>) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(clock_ms));
        let opts = StoreOptions { clock: clock.clone(), ..StoreOptions::default() };
        let store = Store::enrol_device(dir.path(), hq_url, code, device_id, opts).await.expect("enrol");
        Phone { dir, clock, store, installation: None }
    }

    /// Enrol a new store as the installation given (see `StoreOptions::installation_id`).
    pub async fn enrol_installed(hq_url: &str, code: &str, clock_ms: i64, installation: Option<&str>) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(clock_ms));
        let installation = installation.map(str::to_string);
        let opts =
            StoreOptions { clock: clock.clone(), installation_id: installation.clone(), ..StoreOptions::default() };
        let store = Store::enrol(dir.path(), hq_url, code, opts).await.expect("enrol");
        Phone { dir, clock, store, installation }
    }

    fn options(clock: &Arc<ManualClock>, installation: &Option<String>) -> StoreOptions {
        StoreOptions { clock: clock.clone(), installation_id: installation.clone(), ..StoreOptions::default() }
    }

    /// This phone's store folder copied (a cloned phone, a backup restored elsewhere) and
    /// opened by another installation (`installation`; the same id as this one's, or none, for
    /// a copy the shell cannot tell apart).
    pub fn copy(&self, installation: Option<&str>) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", self.dir.path().display()))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let clock = Arc::new(ManualClock::new(self.clock.now_ms()));
        let installation = installation.map(str::to_string);
        let store = Store::open(dir.path(), Phone::options(&clock, &installation)).expect("open the copy");
        Phone { dir, clock, store, installation }
    }

    /// Enrol this store again with a new code (its unsent work is kept and sent again).
    pub async fn reenrolled(self, hq_url: &str, code: &str) -> Phone {
        let Phone { dir, clock, store, installation } = self;
        drop(store);
        let store =
            Store::enrol(dir.path(), hq_url, code, Phone::options(&clock, &installation)).await.expect("re-enrol");
        Phone { dir, clock, store, installation }
    }

    pub async fn sync(&self) -> gridpatrol_core::Result<SyncReport> {
        self.store.sync(&quick(), &NoProgress).await
    }

    pub fn photo(&self, variant: u8) -> PathBuf {
        let p = self.dir.path().join(format!("photo-{variant}.jpg"));
        std::fs::write(&p, tiny_jpeg(variant)).unwrap();
        p
    }

    pub fn visit(&self, household: &str) -> Visit {
        self.store
            .record_visit(VisitInput {
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
            })
            .unwrap()
    }

    pub fn report(&self, photos: Vec<PathBuf>) -> Report {
        self.store
            .file_report(ReportInput {
                grid_id: "g-0101".into(),
                category: ReportCategory::SafetyHazard,
                urgency: None,
                location: GeoPoint { lat: 31.232, lng: 121.473 },
                place_name: None,
                description: "楼道堆物 (clutter in the stairwell)".into(),
                people_involved: 0,
                source: ReportSource::Resident,
                patrol_id: None,
                visit_id: None,
                photos,
                datum: None,
            })
            .unwrap()
    }

    /// A patrol with two check-ins, finished.
    pub fn patrol(&self) -> Patrol {
        let s = &self.store;
        let p = s.start_patrol("g-0101", PatrolShift::Night).unwrap();
        let answers: Vec<ChecklistAnswer> = s
            .active_template()
            .patrol
            .checklist
            .iter()
            .map(|i| ChecklistAnswer { item_id: i.id.clone(), answer: Answer::Ok, note: None })
            .collect();
        for _ in 0..2 {
            s.check_in(
                &p.id,
                CheckInInput {
                    location: GeoPoint { lat: 31.232, lng: 121.473 },
                    accuracy_m: None,
                    place_name: None,
                    answers: answers.clone(),
                    datum: None,
                    mock_location: false,
                },
            )
            .unwrap();
        }
        s.finish_patrol(&p.id, PatrolOutcome::NothingFound, None).unwrap()
    }

    /// Ids of this phone's own records of a kind, from its outbox.
    pub fn ids(&self, op: &str) -> Vec<String> {
        let mut ids: Vec<String> =
            self.store.outbox(0, 100_000).unwrap().into_iter().filter(|e| e.op == op).map(|e| e.entity_id).collect();
        ids.sort();
        ids
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}
