//! Test harness: a real HQ on loopback, on SQLite (a temp folder) or PostgreSQL (a fresh
//! schema per test in `GRIDPATROL_TEST_PG_URL`), a street seeded through the admin API, and
//! phones that enrol, push and pull over HTTP.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use gridpatrol_hq::{DatabaseUrl, HqConfig, RunningHq};
use gridpatrol_protocol::case_flow::ClearItems;
use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::*;
use gridpatrol_protocol::wire::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
/// The console password of user `admin` in tests.
pub const ADMIN_PASSWORD: &str = "test-admin-password-0123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Generates `mod name { sqlite(), postgres() }` running `async fn name(hq: &Hq)` on both.
/// Without `GRIDPATROL_TEST_PG_URL` the PostgreSQL variant is skipped, except under CI,
/// where it fails.
macro_rules! both {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let hq = crate::common::Hq::start(crate::common::Db::Sqlite).await.expect("sqlite always runs");
                super::$f(&hq).await;
                hq.stop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(hq) = crate::common::Hq::start(crate::common::Db::Postgres).await else { return };
                super::$f(&hq).await;
                hq.stop().await;
            }
        }
    )*};
}
pub(crate) use both;

pub use gridpatrol_testing::PgSchema;

/// Where a test's database lives; `None` when PostgreSQL is not configured (outside CI).
pub enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(PgSchema),
}

impl Place {
    pub async fn new(db: Db) -> Option<Place> {
        match db {
            Db::Sqlite => Some(Place::Sqlite(tempfile::tempdir().unwrap())),
            Db::Postgres => {
                let base_url = gridpatrol_testing::pg_base_url()?;
                let schema = tokio::task::spawn_blocking(move || PgSchema::create(&base_url)).await.unwrap();
                Some(Place::Postgres(schema))
            }
        }
    }

    pub fn database(&self) -> DatabaseUrl {
        match self {
            Place::Sqlite(dir) => DatabaseUrl::Sqlite(dir.path().to_path_buf()),
            Place::Postgres(s) => DatabaseUrl::Postgres(s.url()),
        }
    }
}

pub struct Hq {
    pub url: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub db: Db,
    running: Option<RunningHq>,
    pub place: Place,
}

pub fn config(database: DatabaseUrl) -> HqConfig {
    let mut c = HqConfig::new("127.0.0.1:0".parse().unwrap(), database);
    // Generous limits: only the rate-limit test wants to hit them.
    c.rate_limit_per_device = (100_000, 100_000.0);
    c.rate_limit_per_operator = (100_000, 100_000.0);
    c.bootstrap_admin_token = Some(ADMIN_TOKEN.to_string());
    c.bootstrap_admin_password = Some(ADMIN_PASSWORD.to_string());
    c.console_login_limit = (100_000, 100_000.0);
    c
}

impl Hq {
    pub async fn start(db: Db) -> Option<Hq> {
        Hq::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: Db, tweak: impl FnOnce(&mut HqConfig)) -> Option<Hq> {
        let place = Place::new(db).await?;
        let mut c = config(place.database());
        tweak(&mut c);
        Some(Hq::on(db, place, c).await)
    }

    /// An HQ instance on an existing place (a second instance on the same database).
    pub async fn on(db: Db, place: Place, c: HqConfig) -> Hq {
        let running = gridpatrol_hq::start(c).await.expect("HQ starts");
        Hq { url: running.url(), client: client(), admin: ADMIN_TOKEN.into(), db, running: Some(running), place }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("HQ stops cleanly");
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("HQ answers");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(&body)).await
    }

    /// An admin call that must succeed.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let body = if body.is_null() { None } else { Some(body) };
        let (s, v) = self.call(method, path, Some(&self.admin), body.as_ref()).await;
        assert!(s.is_success(), "{path}: {s} {v}");
        v
    }

    pub async fn seed(&self) {
        self.admin(reqwest::Method::POST, "/v1/admin/import", street()).await;
    }

    /// An operator of `role` over `scope`; returns its token.
    pub async fn operator(&self, role: &str, scope: &[&str]) -> String {
        let v = self
            .admin(
                reqwest::Method::POST,
                "/v1/admin/operators",
                json!({ "name": format!("{role} op"), "role": role, "scope_ids": scope }),
            )
            .await;
        v["token"].as_str().unwrap().to_string()
    }

    pub async fn code(&self, worker: &str) -> String {
        let v = self
            .admin(reqwest::Method::POST, &format!("/v1/admin/workers/{worker}/enrolment-codes"), Value::Null)
            .await;
        v["code"].as_str().unwrap().to_string()
    }

    pub async fn phone(&self, worker: &str) -> Phone {
        Phone::enrol(self, worker, &uuid::Uuid::now_v7().to_string(), 0).await
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().gzip(true).build().unwrap()
}

/// The test street: two communities, three grids, four workers, households with must-visits.
pub fn street() -> Value {
    let square = |x: f64| json!([[x, 31.0], [x + 0.01, 31.0], [x + 0.01, 31.01], [x, 31.01]]);
    json!({
        "street": { "code": "310101002", "name": "示范街道 (Sample Street)" },
        "communities": [
            { "id": "c-01", "code": "310101002001", "name": "东湖社区 (Donghu)" },
            { "id": "c-02", "code": "310101002002", "name": "西湖社区 (Xihu)" }
        ],
        "grids": [
            { "id": "g-0101", "code": "310101002001001", "community_id": "c-01", "name": "东湖一网格", "boundary": square(121.0) },
            { "id": "g-0102", "code": "310101002001002", "community_id": "c-01", "name": "东湖二网格", "boundary": square(121.1) },
            { "id": "g-0201", "code": "310101002002001", "community_id": "c-02", "name": "西湖一网格", "boundary": square(121.2) }
        ],
        "workers": [
            { "id": "w-001", "name": "李网格", "role": "full_time", "grid_ids": ["g-0101"] },
            { "id": "w-002", "name": "王志愿", "role": "volunteer", "grid_ids": ["g-0102"] },
            { "id": "w-003", "name": "张网格长", "role": "grid_leader", "grid_ids": ["g-0101", "g-0102"] },
            { "id": "w-201", "name": "赵网格", "role": "full_time", "grid_ids": ["g-0201"] }
        ],
        "households": [
            { "id": "h-0001", "grid_id": "g-0101", "label": "3栋2单元301", "name": "陈阿姨", "phone": "13812345678", "care_tags": ["elderly", "lives_alone"] },
            { "id": "h-0002", "grid_id": "g-0101", "label": "3栋2单元402", "name": "刘先生", "phone": "13987654321", "care_tags": [] },
            { "id": "h-0003", "grid_id": "g-0101", "label": "5栋1单元101", "name": "赵大爷", "care_tags": ["elderly", "hardship"] },
            { "id": "h-0004", "grid_id": "g-0102", "label": "8栋1单元201", "name": "孙女士", "care_tags": ["disability"] },
            { "id": "h-0201", "grid_id": "g-0201", "label": "1栋101", "name": "周先生", "care_tags": ["special_group"] }
        ]
    })
}

/// A point inside grid g-0101 (the square at lng 121.0).
pub fn inside_g0101() -> GeoPoint {
    GeoPoint { lat: 31.005, lng: 121.005 }
}

static MUTATIONS: AtomicI64 = AtomicI64::new(0);

pub struct Phone {
    pub device_id: String,
    pub token: String,
    pub epoch: i64,
    pub worker_id: String,
    pub next_seq: i64,
    pub enrolled: EnrolResponse,
    client: reqwest::Client,
    url: String,
}

impl Phone {
    /// Enrol as the installation `installation-<device_id>` (the same store each time).
    pub async fn enrol(hq: &Hq, worker: &str, device_id: &str, epoch: i64) -> Phone {
        let installation = format!("installation-{device_id}");
        Phone::enrol_installation(hq, worker, device_id, epoch, Some(&installation)).await
    }

    /// Enrol asking for `device_id`, as the installation given; the phone uses the device id
    /// HQ answers with.
    pub async fn enrol_installation(
        hq: &Hq,
        worker: &str,
        device_id: &str,
        epoch: i64,
        installation: Option<&str>,
    ) -> Phone {
        let code = hq.code(worker).await;
        let req = EnrolRequest {
            code,
            device_id: device_id.into(),
            epoch,
            app_version: "test".into(),
            installation_id: installation.map(str::to_string),
        };
        let (s, v) =
            hq.call(reqwest::Method::POST, "/v1/enrol", None, Some(&serde_json::to_value(&req).unwrap())).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let enrolled: EnrolResponse = serde_json::from_value(v).unwrap();
        Phone {
            device_id: enrolled.device_id.clone().expect("HQ names the device id"),
            token: enrolled.device_token.clone(),
            epoch: enrolled.epoch,
            worker_id: enrolled.worker_id.clone(),
            next_seq: 1,
            enrolled,
            client: hq.client.clone(),
            url: hq.url.clone(),
        }
    }

    /// Outbox rows for these commands at the next sequence numbers.
    pub fn ops(&mut self, cmds: &[Command]) -> Vec<PushOp> {
        cmds.iter()
            .map(|c| {
                let seq = self.next_seq;
                self.next_seq += 1;
                PushOp {
                    seq,
                    mutation_id: format!(
                        "m-{}-{}",
                        uuid::Uuid::now_v7().simple(),
                        MUTATIONS.fetch_add(1, Ordering::Relaxed)
                    ),
                    hlc: format!("{:015}-{:06}", Utc::now().timestamp_millis(), seq),
                    device_ms: Utc::now().timestamp_millis(),
                    command: serde_json::to_value(c).unwrap(),
                }
            })
            .collect()
    }

    pub fn request(&self, ops: Vec<PushOp>) -> PushRequest {
        PushRequest {
            device_id: self.device_id.clone(),
            epoch: self.epoch,
            device_time_ms: Utc::now().timestamp_millis(),
            device_hlc: None,
            ops,
        }
    }

    pub async fn send(&self, path: &str, body: &impl serde::Serialize) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .json(body)
            .send()
            .await
            .unwrap();
        let s = resp.status();
        (s, resp.json().await.unwrap())
    }

    pub async fn push_req(&self, req: &PushRequest) -> PushResponse {
        let (s, v) = self.send("/v1/push", req).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        serde_json::from_value(v).unwrap()
    }

    pub async fn push(&mut self, cmds: &[Command]) -> PushResponse {
        let ops = self.ops(cmds);
        let req = self.request(ops);
        self.push_req(&req).await
    }

    pub async fn pull(&self, cursors: &PullCursors) -> PullResponse {
        let (s, v) =
            self.send("/v1/pull", &PullRequest { cursors: cursors.clone(), max_bytes: None, unsent: None }).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        serde_json::from_value(v).unwrap()
    }

    /// Pull until `more` is false, from the cursors the phone had at enrolment.
    pub async fn pull_all(&self, cursors: &mut PullCursors) -> Vec<PullResponse> {
        let mut pages = Vec::new();
        loop {
            let page = self.pull(cursors).await;
            *cursors = page.cursors.clone();
            let more = page.more;
            pages.push(page);
            if !more {
                return pages;
            }
        }
    }

    pub fn cursors(&self) -> PullCursors {
        PullCursors { reference: self.enrolled.reference_version, tasks: 0, cases: 0 }
    }
}

// ---------- commands ----------

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn start_patrol(worker: &str, grid: &str, id: &str) -> Command {
    Command::StartPatrol {
        patrol: Patrol {
            id: id.into(),
            worker_id: worker.into(),
            grid_id: grid.into(),
            shift: PatrolShift::Night,
            template_id: "3456-default".into(),
            template_version: 1,
            started_at: now(),
            finished_at: None,
            outcome: None,
            note: None,
        },
    }
}

pub const CHECKLIST: [&str; 5] =
    ["fire_passage", "ebike_charging", "public_facilities", "sanitation", "suspicious_activity"];

pub fn check_in(patrol: &str, at: GeoPoint, items: &[&str]) -> Command {
    Command::CheckIn {
        checkpoint: Checkpoint {
            id: new_id(),
            patrol_id: patrol.into(),
            at: now(),
            location: at,
            accuracy_m: Some(5.0),
            inside_grid: true,
            place_name: Some("北门 (north gate)".into()),
            answers: items
                .iter()
                .map(|i| ChecklistAnswer { item_id: (*i).into(), answer: Answer::Ok, note: None })
                .collect(),
            mock_location: false,
            trusted: true,
        },
    }
}

pub fn finish_patrol(patrol: &str, outcome: PatrolOutcome) -> Command {
    Command::FinishPatrol { patrol_id: patrol.into(), outcome, note: None, finished_at: now() }
}

pub fn visit(worker: &str, household: &str, grid: &str, kind: VisitType) -> Command {
    Command::RecordVisit {
        visit: Visit {
            id: new_id(),
            worker_id: worker.into(),
            household_id: household.into(),
            grid_id: grid.into(),
            visit_type: kind,
            outcome: VisitOutcome::Met,
            needs: vec![NeedTag::Living],
            note: Some("独居老人，需送餐".into()),
            satisfaction: None,
            case_id: None,
            location: Some(inside_g0101()),
            occurred_at: now(),
        },
    }
}

/// A report (and its case, whose id is returned in `case_id`).
pub fn report(
    worker: &str,
    grid: &str,
    category: ReportCategory,
    patrol: Option<&str>,
    photos: Vec<String>,
) -> (Command, String) {
    let case_id = new_id();
    let cmd = Command::FileReport {
        report: Report {
            id: new_id(),
            worker_id: worker.into(),
            grid_id: grid.into(),
            category,
            urgency: if category.report_at_once() { Urgency::Immediate } else { Urgency::Normal },
            location: inside_g0101(),
            place_name: Some("3栋车棚 (bike shed)".into()),
            description: "电动车在楼道充电 (e-bike charging in the stairwell)".into(),
            people_involved: 1,
            source: if patrol.is_some() { ReportSource::Patrol } else { ReportSource::Resident },
            patrol_id: patrol.map(Into::into),
            visit_id: None,
            occurred_at: now(),
            photos,
            case_id: case_id.clone(),
        },
    };
    (cmd, case_id)
}

pub fn case_step(
    case: &str,
    actor: &str,
    from: CaseState,
    to: CaseState,
    clear: ClearItems,
    photos: Vec<String>,
) -> Command {
    Command::CaseStep {
        event: CaseEvent {
            id: new_id(),
            case_id: case.into(),
            n: 2,
            from: Some(from),
            to,
            actor_id: actor.into(),
            at: now(),
            note: None,
            clear,
            photos,
        },
    }
}

pub fn all_clear(photo: &str) -> ClearItems {
    ClearItems {
        facts: Some("楼道充电".into()),
        responsible_unit: Some("物业 (property management)".into()),
        deadline: Some(now() + Duration::days(3)),
        outcome: Some("已清理 (cleared)".into()),
        outcome_photo: Some(photo.into()),
        feedback: Some("居民满意".into()),
        // Never in a step: a follow-up visit records it (protocol/src/roles.rs).
        satisfaction: None,
        ledger_ref: Some("TZ-2026-001".into()),
    }
}

pub fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn statuses(r: &PushResponse) -> Vec<OpStatus> {
    r.results.iter().map(|x| x.status).collect()
}

pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}
