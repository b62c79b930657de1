//! The baseline `bench sync` is measured against: a minimal batched HTTP upload into SQLite —
//! plain JSON, one transaction per 1,000 rows, the same durability as HQ (WAL + FULL), and no
//! sync logic at all (no cursor, no dedup, no auth, no compression). It is the limit the
//! real sync is compared with.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{extract::State, routing::post, Json, Router};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct RawRecord {
    id: String,
    worker_id: String,
    household_id: String,
    grid_id: String,
    visit_type: String,
    outcome: String,
    needs: String,
    note: String,
    occurred_ms: i64,
    lat: f64,
    lng: f64,
    device_ms: i64,
    hlc: String,
}

type Db = Arc<Mutex<rusqlite::Connection>>;

async fn upload(State(db): State<Db>, Json(rows): Json<Vec<RawRecord>>) -> Json<usize> {
    let n = rows.len();
    tokio::task::spawn_blocking(move || {
        let mut c = db.lock().unwrap();
        let tx = c.transaction().unwrap();
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO raw VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)").unwrap();
            for r in rows {
                stmt.execute(rusqlite::params![
                    r.id,
                    r.worker_id,
                    r.household_id,
                    r.grid_id,
                    r.visit_type,
                    r.outcome,
                    r.needs,
                    r.note,
                    r.occurred_ms,
                    r.lat,
                    r.lng,
                    r.device_ms,
                    r.hlc
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    })
    .await
    .unwrap();
    Json(n)
}

/// Upload `n` records in batches of 1,000 and return records per second.
pub async fn measure(dir: &Path, n: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let c = rusqlite::Connection::open(dir.join("raw-upload.db"))?;
    c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.execute_batch(
        "CREATE TABLE raw (id TEXT PRIMARY KEY, worker_id TEXT, household_id TEXT, grid_id TEXT, visit_type TEXT,
            outcome TEXT, needs TEXT, note TEXT, occurred_ms INTEGER, lat REAL, lng REAL, device_ms INTEGER, hlc TEXT)",
    )?;
    let app = Router::new()
        .route("/raw", post(upload))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(Arc::new(Mutex::new(c)));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let batches: Vec<Vec<RawRecord>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(|c| {
            c.iter()
                .map(|i| RawRecord {
                    id: gridpatrol_core::new_id(),
                    worker_id: "w-001".into(),
                    household_id: "h-0001".into(),
                    grid_id: "g-0101".into(),
                    visit_type: "routine".into(),
                    outcome: "met".into(),
                    needs: "[]".into(),
                    note: "走访正常 (all well)".into(),
                    occurred_ms: *i as i64,
                    lat: 31.232,
                    lng: 121.473,
                    device_ms: *i as i64,
                    hlc: format!("{:015}-{:06}", i, 0),
                })
                .collect()
        })
        .collect();
    let t = Instant::now();
    for b in &batches {
        let body = serde_json::to_vec(b)?;
        let resp = client
            .post(format!("http://{addr}/raw"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(format!("raw upload failed: {}", resp.status()).into());
        }
    }
    let rps = n as f64 / t.elapsed().as_secs_f64();
    server.abort();
    Ok(rps)
}
