//! `bench console`: the console's pages rendered over a street's year of records on SQLite and
//! (given a URL) PostgreSQL. The records reach HQ the way phones send them (`/v1/push`); on
//! PostgreSQL the tables are then vacuumed and analysed (untimed); then a signed-in browser
//! session asks each page `rounds` times and the p99 of each is taken.

use std::time::{Duration, Instant};

use gridpatrol_core::records::{Command, Report, Visit};
use gridpatrol_core::*;
use gridpatrol_hq::{DatabaseUrl, HqConfig};
use gridpatrol_protocol::wire::{EnrolRequest, EnrolResponse, PushOp, PushRequest, PROTOCOL_HEADER};

use super::hq::{gzip, street};

const BATCH: usize = 500;
const PHONES: usize = 200;
const PASSWORD: &str = "bench-console-password";
/// One record in this many is a report (each opens a case); the rest are visits.
const REPORT_EVERY: usize = 50;

pub async fn run(records: usize, rounds: usize, pg: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    one_backend("sqlite", DatabaseUrl::Sqlite(tmp.path().join("hq")), records, rounds).await?;
    match pg {
        Some(url) => {
            let schema = format!("bench_{}", new_id().replace('-', "_"));
            let (u, s) = (url.clone(), schema.clone());
            tokio::task::spawn_blocking(move || -> Result<(), String> {
                let mut c = postgres::Client::connect(&u, postgres::NoTls).map_err(|e| e.to_string())?;
                c.batch_execute(&format!("CREATE SCHEMA {s}")).map_err(|e| e.to_string())
            })
            .await??;
            let sep = if url.contains('?') { '&' } else { '?' };
            let db = DatabaseUrl::Postgres(format!("{url}{sep}options=-c%20search_path%3D{schema}"));
            let result = one_backend("postgres", db, records, rounds).await;
            let _ = tokio::task::spawn_blocking(move || {
                if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            })
            .await;
            result?;
        }
        None => println!("console postgres: skipped (give --pg postgres://… or GRIDPATROL_BENCH_PG_URL)"),
    }
    Ok(())
}

fn op(i: usize, k: usize, at: chrono::DateTime<chrono::Utc>) -> Command {
    let (lng, lat) = (121.0 + (i % 50) as f64 * 0.01 + 0.005, 31.0 + (i / 50) as f64 * 0.01 + 0.005);
    if k.is_multiple_of(REPORT_EVERY) {
        return Command::FileReport {
            report: Report {
                id: new_id(),
                worker_id: format!("bw-{i}"),
                grid_id: format!("bg-{i}"),
                category: ReportCategory::ResidentRequest,
                urgency: Urgency::Normal,
                location: GeoPoint { lat, lng },
                place_name: Some("1栋".into()),
                description: "路灯不亮 (street light out)".into(),
                people_involved: 1,
                source: ReportSource::Resident,
                patrol_id: None,
                visit_id: None,
                occurred_at: at,
                photos: vec![],
                case_id: new_id(),
            },
        };
    }
    Command::RecordVisit {
        visit: Visit {
            id: new_id(),
            worker_id: format!("bw-{i}"),
            household_id: format!("bh-{i}"),
            grid_id: format!("bg-{i}"),
            visit_type: VisitType::Routine,
            outcome: VisitOutcome::Met,
            needs: vec![],
            note: Some("走访正常 (all well)".into()),
            satisfaction: None,
            case_id: None,
            location: None,
            occurred_at: at,
        },
    }
}

async fn one_backend(
    name: &str,
    db: DatabaseUrl,
    records: usize,
    rounds: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let admin = format!("bench-{}", new_id().replace('-', ""));
    let db_url = db.clone();
    let mut config = HqConfig::new("127.0.0.1:0".parse()?, db);
    config.bootstrap_admin_token = Some(admin.clone());
    config.bootstrap_admin_password = Some(PASSWORD.into());
    config.rate_limit_per_device = (1_000_000, 1_000_000.0);
    config.rate_limit_per_operator = (1_000_000, 1_000_000.0);
    let hq = gridpatrol_hq::start(config).await?;
    let url = hq.url();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?;
    client
        .post(format!("{url}/v1/admin/import"))
        .bearer_auth(&admin)
        .json(&street(PHONES))
        .send()
        .await?
        .error_for_status()?;

    // A year of records from 200 phones, oldest first (not timed).
    let per_phone = records.div_ceil(PHONES);
    let now = chrono::Utc::now();
    let year = chrono::Duration::days(365);
    let mut jobs = Vec::new();
    for i in 0..PHONES {
        let code: serde_json::Value = client
            .post(format!("{url}/v1/admin/workers/bw-{i}/enrolment-codes"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let device_id = new_id();
        let req = EnrolRequest {
            code: code["code"].as_str().unwrap_or_default().into(),
            device_id: device_id.clone(),
            epoch: 0,
            app_version: "bench".into(),
            installation_id: None,
        };
        let e: EnrolResponse =
            client.post(format!("{url}/v1/enrol")).json(&req).send().await?.error_for_status()?.json().await?;
        let (client, url) = (client.clone(), url.clone());
        jobs.push(tokio::spawn(async move {
            for b in 0..per_phone.div_ceil(BATCH) {
                let ops: Vec<PushOp> = (b * BATCH..((b + 1) * BATCH).min(per_phone))
                    .map(|k| {
                        let at = now - year + year * (k as i32) / (per_phone.max(1) as i32);
                        PushOp {
                            seq: k as i64 + 1,
                            mutation_id: new_id(),
                            hlc: format!("{:015}-{:06}", now.timestamp_millis(), k),
                            device_ms: now.timestamp_millis(),
                            command: serde_json::to_value(op(i, k, at)).expect("json"),
                        }
                    })
                    .collect();
                let body = PushRequest {
                    device_id: device_id.clone(),
                    epoch: e.epoch,
                    device_time_ms: now.timestamp_millis(),
                    device_hlc: None,
                    ops,
                };
                let resp = client
                    .post(format!("{url}/v1/push"))
                    .bearer_auth(&e.device_token)
                    .header(PROTOCOL_HEADER, "2")
                    .header("content-type", "application/json")
                    .header("content-encoding", "gzip")
                    .body(gzip(&serde_json::to_vec(&body).expect("json")))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !resp.status().is_success() {
                    return Err(format!("push failed: {} {}", resp.status(), resp.text().await.unwrap_or_default()));
                }
            }
            Ok::<(), String>(())
        }));
        // A few phones at a time: the seeding is not what is measured.
        if jobs.len() >= 8 {
            for j in jobs.drain(..) {
                j.await??;
            }
        }
    }
    for j in jobs {
        j.await??;
    }
    // A year-old database has long been vacuumed and analysed; a freshly loaded one would be
    // by autovacuum in the middle of the timing. Do it now, untimed.
    if let DatabaseUrl::Postgres(pg) = &db_url {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            let mut c = postgres::Client::connect(&pg, postgres::NoTls).map_err(|e| e.to_string())?;
            // This bench's own schema only: the server may hold others.
            let tables: Vec<String> = c
                .query("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()", &[])
                .map_err(|e| e.to_string())?
                .iter()
                .map(|r| format!("\"{}\"", r.get::<_, String>(0)))
                .collect();
            if tables.is_empty() {
                return Err("no tables in the bench's schema".into());
            }
            c.batch_execute(&format!("VACUUM ANALYZE {}", tables.join(", "))).map_err(|e| e.to_string())
        })
        .await??;
    }

    // A browser's session: sign in as the admin.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(300))
        .build()?;
    let login = browser.get(format!("{url}/login")).send().await?;
    let csrf_cookie = cookie(&login, "gp_login_csrf").ok_or("no sign-in token")?;
    let signed = browser
        .post(format!("{url}/login"))
        .header("cookie", format!("gp_login_csrf={csrf_cookie}"))
        .form(&[("_csrf", csrf_cookie.as_str()), ("username", "admin"), ("password", PASSWORD)])
        .send()
        .await?;
    let session = cookie(&signed, "gp_session").ok_or("sign-in failed")?;
    let cases: serde_json::Value = client
        .get(format!("{url}/v1/admin/cases"))
        .bearer_auth(&admin)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let case = cases[0]["id"].as_str().unwrap_or_default().to_string();
    let pages = [
        "/board".to_string(),
        "/board?community=bc-0".into(),
        "/cases".into(),
        format!("/cases/{case}"),
        "/map".into(),
        "/desk".into(),
        "/meetings".into(),
        "/templates".into(),
        "/enrol".into(),
        "/devices".into(),
        "/audit".into(),
        "/users".into(),
    ];
    let (mut worst, mut worst_ms) = (String::new(), 0.0_f64);
    let mut each = Vec::new();
    for page in &pages {
        let mut lat = Vec::with_capacity(rounds);
        for _ in 0..rounds.max(1) {
            let t = Instant::now();
            let r =
                browser.get(format!("{url}{page}")).header("cookie", format!("gp_session={session}")).send().await?;
            if r.status() != reqwest::StatusCode::OK {
                return Err(format!("{page}: {}", r.status()).into());
            }
            r.bytes().await?;
            lat.push(t.elapsed().as_secs_f64() * 1e3);
        }
        lat.sort_by(f64::total_cmp);
        let p99 = lat[((lat.len() as f64 * 0.99) as usize).min(lat.len() - 1)];
        each.push(format!("{page}={p99:.0}"));
        if p99 > worst_ms {
            (worst, worst_ms) = (page.clone(), p99);
        }
    }
    hq.stop().await?;
    println!(
        "console {name}: pages={} records={} p99_ms={worst_ms:.0} worst_page={worst} (target: p99 <= 100 ms on every page)",
        pages.len(),
        per_phone * PHONES
    );
    println!("  console {name} p99_ms by page: {}", each.join(" "));
    Ok(())
}

fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (kv, _) = c.split_once(';').unwrap_or((c, ""));
        let (k, v) = kv.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}
