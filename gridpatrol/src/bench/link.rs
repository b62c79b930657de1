//! `bench link`: a worker's day (200 records, 10 photos) synced over a 2G link as a basement has
//! it — 50 kbit/s up, 200 kbit/s down, 300 ms round trip, 2% segment loss and three connections
//! cut in the middle of the transfer (`simnet::link`). Printed beside what the link itself
//! allows (its bytes over its bandwidth) and, in the same run over the same link, the way
//! ODK Collect sends a submission: the records in one POST and each photo as one whole-file
//! POST, started again from zero after a cut. Also a sync with nothing new over that link.
//!
//! The link runs `--scale` times faster than real (bandwidth × k, delays ÷ k) and the times
//! measured are multiplied back by k, so a transfer of minutes takes seconds; the phone's and
//! HQ's own work (a few milliseconds) is inflated by k too, which only makes our figures worse.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use axum::Router;
use gridpatrol_core::sync::{Backoff, NoProgress, SyncOptions};
use gridpatrol_core::*;
use gridpatrol_hq::{DatabaseUrl, HqConfig};
use gridpatrol_simnet::link::{LinkProxy, LinkSpec};

const LINK: LinkSpec = LinkSpec {
    up_bits_per_s: 50_000,
    down_bits_per_s: 200_000,
    rtt: Duration::from_millis(300),
    jitter: Duration::from_millis(40),
    loss: 0.02,
};

/// A real, photo-like JPEG of at most about `bytes` bytes and at most 1600 px, which the store
/// keeps as it is (not re-encoded): a photo as the phone keeps it.
fn photo(seed: u8, bytes: usize) -> Vec<u8> {
    let mut width = 1600f64;
    loop {
        let j = gridpatrol_testing::noisy_jpeg(width as u16, (width * 0.75) as u16, u64::from(seed), 85);
        if j.len() <= bytes + bytes / 10 || width <= 64.0 {
            return j;
        }
        width = (width * (bytes as f64 / j.len() as f64).sqrt() * 0.98).max(64.0);
    }
}

/// HQ on SQLite with the sample street, and an admin client for it.
struct Hq {
    hq: gridpatrol_hq::RunningHq,
    admin: String,
    client: reqwest::Client,
}

impl Hq {
    async fn start(dir: &Path) -> Result<Hq, Box<dyn std::error::Error>> {
        let mut config = HqConfig::new("127.0.0.1:0".parse()?, DatabaseUrl::Sqlite(dir.join("hq")));
        let admin = format!("bench-{}", new_id().replace('-', ""));
        config.bootstrap_admin_token = Some(admin.clone());
        config.rate_limit_per_device = (1_000_000, 1_000_000.0);
        let hq = gridpatrol_hq::start(config).await?;
        let me = Hq { hq, admin, client: reqwest::Client::new() };
        me.post("/v1/admin/import", serde_json::to_value(GridConfig::sample())?).await?;
        Ok(me)
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let r =
            self.client.post(format!("{}{path}", self.hq.url())).bearer_auth(&self.admin).json(&body).send().await?;
        Ok(r.error_for_status()?.json().await?)
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, Box<dyn std::error::Error>> {
        Ok(self.client.get(format!("{}{path}", self.hq.url())).bearer_auth(&self.admin).send().await?)
    }
}

/// A phone enrolled through `url`, with the day recorded: a patrol (start, two check-ins,
/// finish), a report with a photo per photo, visits for the rest. Returns the photos' bytes.
async fn phone_day(
    dir: &Path,
    hq: &Hq,
    url: &str,
    records: usize,
    photos: usize,
    photo_kb: usize,
) -> Result<(Store, Vec<Vec<u8>>, Vec<String>), Box<dyn std::error::Error>> {
    let code = hq.post("/v1/admin/workers/w-001/enrolment-codes", serde_json::json!({})).await?;
    let code = code["code"].as_str().ok_or("no enrolment code")?;
    let store = Store::enrol(&dir.join("phone"), url, code, StoreOptions::default()).await?;
    let here = GeoPoint { lat: 31.232, lng: 121.473 };
    let patrol = store.start_patrol("g-0101", PatrolShift::Day)?;
    for _ in 0..2 {
        let input = CheckInInput {
            location: here,
            accuracy_m: Some(8.0),
            place_name: None,
            answers: vec![],
            datum: None,
            mock_location: false,
        };
        store.check_in(&patrol.id, input)?;
    }
    store.finish_patrol(&patrol.id, PatrolOutcome::NothingFound, None)?;
    let (mut files, mut shas) = (Vec::new(), Vec::new());
    for i in 0..photos {
        let path = dir.join(format!("cam-{i}.jpg"));
        let bytes = photo(i as u8, photo_kb * 1024);
        std::fs::write(&path, &bytes)?;
        let report = store.file_report(ReportInput {
            grid_id: "g-0101".into(),
            category: ReportCategory::SafetyHazard,
            urgency: None,
            location: here,
            place_name: Some("车棚 (bike shed)".into()),
            description: "电动车飞线充电 (e-bike charging from a dangling cable)".into(),
            people_involved: 0,
            source: ReportSource::Resident,
            patrol_id: None,
            visit_id: None,
            photos: vec![path],
            datum: None,
        })?;
        // The whole-file baseline uploads the photo as the phone keeps it, as the sync does.
        for sha in &report.photos {
            files.push(store.attachment_photo(sha)?);
        }
        shas.extend(report.photos);
    }
    for i in 0..records.saturating_sub(4 + photos) {
        store.record_visit(super::routine_visit(i))?;
    }
    Ok((store, files, shas))
}

/// Sync until nothing is left (a cut connection fails a run; the next resumes): the wall time.
async fn sync_all(store: &Store, options: &SyncOptions) -> Result<Duration, Box<dyn std::error::Error>> {
    let t = Instant::now();
    for _ in 0..60 {
        if store.sync(options, &NoProgress).await.is_ok() {
            let today = store.today()?;
            if today.unsent.records == 0 && today.unsent.photos == 0 {
                return Ok(t.elapsed());
            }
        }
    }
    Err("the day did not reach HQ".into())
}

type Files = Arc<Mutex<HashMap<String, usize>>>;

/// The baseline's server: each upload counted once it has fully arrived.
async fn receive(State(files): State<Files>, UrlPath(name): UrlPath<String>, body: axum::body::Bytes) -> &'static str {
    if !body.is_empty() {
        *files.lock().unwrap_or_else(|p| p.into_inner()).entry(name).or_default() += 1;
    }
    "ok"
}

/// The ODK way over `spec`: the records in one POST, each photo in one whole POST, each
/// started again from zero when the link cuts it. The wall time and the bytes sent up.
async fn whole_file(
    spec: LinkSpec,
    records_json: Vec<u8>,
    photos: &[Vec<u8>],
    cut_fractions: &[f64],
) -> Result<(Duration, u64), Box<dyn std::error::Error>> {
    let files: Files = Arc::default();
    let app = Router::new().route("/upload/{name}", post(receive)).with_state(files.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server_addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let link = LinkProxy::start(server_addr, spec, 11);
    let total: u64 = records_json.len() as u64 + photos.iter().map(|p| p.len() as u64).sum::<u64>();
    link.drop_at(&cut_fractions.iter().map(|f| (total as f64 * f) as u64).collect::<Vec<_>>());
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let uploads: Vec<(String, Vec<u8>)> = std::iter::once(("records".to_string(), records_json))
        .chain(photos.iter().enumerate().map(|(i, p)| (format!("photo-{i}"), p.clone())))
        .collect();
    let t = Instant::now();
    for (name, body) in &uploads {
        let mut tries = 0;
        loop {
            tries += 1;
            let r = client.post(format!("{}/upload/{name}", link.url())).body(body.clone()).send().await;
            if r.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if tries > 20 {
                return Err(format!("{name} never arrived").into());
            }
        }
    }
    let took = t.elapsed();
    let got = files.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if got.len() != uploads.len() || got.values().any(|n| *n != 1) {
        return Err(format!("the baseline's uploads did not arrive exactly once: {got:?}").into());
    }
    Ok((took, link.stats.up_bytes.load(Ordering::Relaxed)))
}

pub async fn run(
    scale: f64,
    records: usize,
    photos: usize,
    photo_kb: usize,
    chunk_kb: usize,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let spec = LINK.scaled(scale);
    let options = SyncOptions {
        chunk_bytes: chunk_kb * 1024,
        max_attempts: 6,
        backoff: Backoff { base: Duration::from_millis(20), cap: Duration::from_millis(200) },
        timeout: Duration::from_secs(60),
        ..SyncOptions::default()
    };
    let cuts = [0.25, 0.5, 0.75];

    // The same day over a link without cost or cuts: the bytes the transfer needs.
    let clean_hq = Hq::start(&dir.join("clean")).await?;
    let free = LinkSpec {
        up_bits_per_s: 1 << 40,
        down_bits_per_s: 1 << 40,
        rtt: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
    };
    let clean_link = LinkProxy::start(clean_hq.hq.addr, free, 3);
    let (clean, _, _) = phone_day(&dir.join("clean"), &clean_hq, &clean_link.url(), records, photos, photo_kb).await?;
    let before = clean_link.stats.up_bytes.load(Ordering::Relaxed);
    sync_all(&clean, &options).await?;
    let clean_up = clean_link.stats.up_bytes.load(Ordering::Relaxed) - before;
    let records_json = serde_json::to_vec(&clean.outbox(0, 1_000_000)?.iter().map(|e| &e.command).collect::<Vec<_>>())?;
    drop(clean);
    clean_hq.hq.stop().await?;

    // The day over the 2G link, cut three times.
    let hq = Hq::start(&dir.join("2g")).await?;
    let link = LinkProxy::start(hq.hq.addr, spec, 7);
    let (store, files, shas) = phone_day(&dir.join("2g"), &hq, &link.url(), records, photos, photo_kb).await?;
    let (up0, down0) = (link.stats.up_bytes.load(Ordering::Relaxed), link.stats.down_bytes.load(Ordering::Relaxed));
    link.drop_at(&cuts.iter().map(|f| up0 + (clean_up as f64 * f) as u64).collect::<Vec<_>>());
    let took = sync_all(&store, &options).await?;
    let up = link.stats.up_bytes.load(Ordering::Relaxed) - up0;
    let down = link.stats.down_bytes.load(Ordering::Relaxed) - down0;
    let drops = link.stats.drops.load(Ordering::Relaxed);
    // Everything at HQ, once: the records HQ lists and every photo whole.
    let visits = hq.get("/v1/admin/visits").await?.json::<Vec<serde_json::Value>>().await?.len();
    let reports = hq.get("/v1/admin/reports").await?.json::<Vec<serde_json::Value>>().await?;
    if visits != records.saturating_sub(4 + photos) || reports.len() != photos {
        return Err(format!("HQ holds {visits} visits and {} reports", reports.len()).into());
    }
    for sha in &shas {
        let resp = hq.get(&format!("/v1/admin/attachments/{sha}")).await?;
        if !resp.status().is_success() {
            return Err(format!("photo {sha} is not at HQ").into());
        }
    }
    // Nothing new: what a sync costs over the same link.
    let t = Instant::now();
    let noop = store.sync(&options, &NoProgress).await?;
    let noop_secs = t.elapsed().as_secs_f64() * scale;

    let seconds = took.as_secs_f64() * scale;
    let link_seconds = up as f64 * 8.0 / LINK.up_bits_per_s as f64 + down as f64 * 8.0 / LINK.down_bits_per_s as f64;
    let resent = up.saturating_sub(clean_up);
    let (wf_took, wf_up) = whole_file(spec, records_json, &files, &cuts).await?;
    let wf_seconds = wf_took.as_secs_f64() * scale;
    println!(
        "link: bytes={} seconds={seconds:.0} link_seconds={link_seconds:.0} ratio={:.2} resent_bytes={resent} | whole_file: seconds={wf_seconds:.0} | speedup={:.2}",
        up + down,
        seconds / link_seconds,
        wf_seconds / seconds,
    );
    println!(
        "link detail: records={records} photos={photos}x{photo_kb}KB chunk={}KB cuts={drops} lost_segments={} whole_file_up_bytes={wf_up} scale={scale} \
         (50 kbit/s up, 200 kbit/s down, 300 ms RTT, 2% loss; targets: ratio<=1.3, resent_bytes<=one chunk per cut)",
        options.chunk_bytes / 1024,
        link.stats.lost_segments.load(Ordering::Relaxed)
    );
    println!(
        "link noop sync: requests={} bytes={} seconds={noop_secs:.1}",
        noop.requests,
        noop.bytes_sent + noop.bytes_received
    );
    drop(store);
    hq.hq.stop().await?;
    Ok(())
}
