//! `bench hq`: 200 phones push 500 records each, all at once, to one HQ on loopback — on
//! SQLite and (given a URL) on PostgreSQL. Phones are simulated at the protocol level
//! (enrol, then gzip-compressed pushes of 100 operations) so that the figure is HQ's.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridpatrol_core::config::{Community, Grid, Household, Street, Worker};
use gridpatrol_core::records::{Command, Visit};
use gridpatrol_core::*;
use gridpatrol_hq::{DatabaseUrl, HqConfig};
use gridpatrol_protocol::wire::{EnrolRequest, EnrolResponse, PushOp, PushRequest, PushResponse, PROTOCOL_HEADER};

const BATCH: usize = 100;

pub(super) fn street(phones: usize) -> GridConfig {
    let per = 50;
    let communities = phones.div_ceil(per);
    let mut c = GridConfig {
        street: Street { code: "310101003".into(), name: "压测街道 (bench street)".into() },
        communities: vec![],
        grids: vec![],
        workers: vec![],
        households: vec![],
        tasks: vec![],
        template: None,
        teams: vec![],
        buildings: vec![],
    };
    for k in 0..communities {
        c.communities.push(Community {
            id: format!("bc-{k}"),
            code: format!("310101003{:03}", k + 1),
            name: format!("社区{k}"),
        });
    }
    for i in 0..phones {
        let (k, g) = (i / per, i % per);
        let (lng, lat) = (121.0 + g as f64 * 0.01, 31.0 + k as f64 * 0.01);
        c.grids.push(Grid {
            id: format!("bg-{i}"),
            code: format!("310101003{:03}{:03}", k + 1, g + 1),
            community_id: format!("bc-{k}"),
            name: format!("网格{i}"),
            boundary: vec![[lng, lat], [lng + 0.01, lat], [lng + 0.01, lat + 0.01], [lng, lat + 0.01]],
        });
        c.workers.push(Worker {
            id: format!("bw-{i}"),
            name: format!("网格员{i}"),
            role: WorkerRole::FullTime,
            grid_ids: vec![format!("bg-{i}")],
        });
        c.households.push(Household {
            id: format!("bh-{i}"),
            grid_id: format!("bg-{i}"),
            label: "1栋101".into(),
            name: "住户".into(),
            phone: None,
            care_tags: vec![],
            must_visit: Some(false),
        });
    }
    c
}

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip to memory");
    gz.finish().expect("gzip to memory")
}

pub async fn run(phones: usize, per_phone: usize, pg: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let mut backends = vec![("sqlite", DatabaseUrl::Sqlite(tmp.path().join("hq")), None, 1)];
    if let Some(url) = pg {
        // One HQ on PostgreSQL, then two instances on one PostgreSQL behind a round-robin
        // balancer (each run in a schema of its own).
        for (name, instances) in [("postgres", 1), ("postgres x2", 2)] {
            let schema = format!("bench_{}", new_id().replace('-', "_"));
            let (u, s) = (url.clone(), schema.clone());
            tokio::task::spawn_blocking(move || -> Result<(), String> {
                let mut c = postgres::Client::connect(&u, postgres::NoTls).map_err(|e| e.to_string())?;
                c.batch_execute(&format!("CREATE SCHEMA {s}")).map_err(|e| e.to_string())
            })
            .await??;
            let sep = if url.contains('?') { '&' } else { '?' };
            backends.push((
                name,
                DatabaseUrl::Postgres(format!("{url}{sep}options=-c%20search_path%3D{schema}")),
                Some((url.clone(), schema)),
                instances,
            ));
        }
    } else {
        println!("hq postgres: skipped (give --pg postgres://… ; scripts/bench.sh does)");
    }
    for (name, db, cleanup, instances) in backends {
        let result = one_backend(name, db, phones, per_phone, instances).await;
        if let Some((url, schema)) = cleanup {
            let _ = tokio::task::spawn_blocking(move || {
                if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            })
            .await;
        }
        result?;
    }
    Ok(())
}

async fn one_backend(
    name: &str,
    db: DatabaseUrl,
    phones: usize,
    per_phone: usize,
    instances: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let admin = format!("bench-{}", new_id().replace('-', ""));
    let mut hqs = Vec::new();
    for _ in 0..instances {
        let mut config = HqConfig::new("127.0.0.1:0".parse()?, db.clone());
        config.bootstrap_admin_token = Some(admin.clone());
        config.rate_limit_per_device = (1_000_000, 1_000_000.0);
        config.rate_limit_per_operator = (1_000_000, 1_000_000.0);
        hqs.push(gridpatrol_hq::start(config).await?);
    }
    // Several instances: phones reach them through a round-robin balancer, per connection.
    let balancer = (instances > 1).then(|| gridpatrol_simnet::Balancer::start(hqs.iter().map(|h| h.addr).collect()));
    let url = balancer.as_ref().map_or_else(|| hqs[0].url(), |b| b.url());
    let client = reqwest::Client::builder().pool_max_idle_per_host(phones).timeout(Duration::from_secs(120)).build()?;
    client
        .post(format!("{url}/v1/admin/import"))
        .bearer_auth(&admin)
        .json(&street(phones))
        .send()
        .await?
        .error_for_status()?;

    // Enrol every phone first (not timed).
    let mut devices = Vec::new();
    for i in 0..phones {
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
        let resp: EnrolResponse =
            client.post(format!("{url}/v1/enrol")).json(&req).send().await?.error_for_status()?.json().await?;
        devices.push((i, device_id, resp.epoch, resp.device_token));
    }

    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, device_id, epoch, token) in devices {
        let (client, url, latencies) = (client.clone(), url.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let now = chrono::Utc::now();
            for b in 0..per_phone.div_ceil(BATCH) {
                let ops: Vec<PushOp> = (b * BATCH..((b + 1) * BATCH).min(per_phone))
                    .map(|k| {
                        let visit = Visit {
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
                            occurred_at: now,
                        };
                        PushOp {
                            seq: k as i64 + 1,
                            mutation_id: new_id(),
                            hlc: format!("{:015}-{:06}", now.timestamp_millis(), k),
                            device_ms: now.timestamp_millis(),
                            command: serde_json::to_value(Command::RecordVisit { visit }).expect("json"),
                        }
                    })
                    .collect();
                let body = PushRequest {
                    device_id: device_id.clone(),
                    epoch,
                    device_time_ms: now.timestamp_millis(),
                    device_hlc: None,
                    ops,
                };
                let bytes = gzip(&serde_json::to_vec(&body).expect("json"));
                let t = Instant::now();
                let resp = client
                    .post(format!("{url}/v1/push"))
                    .bearer_auth(&token)
                    .header(PROTOCOL_HEADER, "2")
                    .header("content-type", "application/json")
                    .header("content-encoding", "gzip")
                    .body(bytes)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !resp.status().is_success() {
                    return Err(format!("push failed: {} {}", resp.status(), resp.text().await.unwrap_or_default()));
                }
                let r: PushResponse = resp.json().await.map_err(|e| e.to_string())?;
                latencies.lock().expect("latency list").push(t.elapsed());
                if r.results.iter().any(|x| x.status != gridpatrol_protocol::wire::OpStatus::Applied) {
                    return Err("an operation was not applied".to_string());
                }
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let wall = start.elapsed().as_secs_f64();
    for hq in hqs {
        hq.stop().await?;
    }
    let mut lat = latencies.lock().map_err(|e| e.to_string())?.clone();
    lat.sort();
    let p99 = lat[((lat.len() as f64 * 0.99) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    let total = phones * per_phone;
    println!(
        "hq {name}: phones={phones} records={total} records_per_s={:.0} push_p99_ms={p99:.0} pushes={} (targets: >=20000 records/s, p99<500 ms)",
        total as f64 / wall,
        lat.len()
    );
    Ok(())
}
