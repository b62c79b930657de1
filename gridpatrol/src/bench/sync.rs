//! `bench sync`: one phone with N pending records syncs to HQ on loopback (HQ on SQLite, as
//! shipped), against the limit of a minimal batched HTTP upload into SQLite measured in the
//! same run. Also what a no-op sync costs. Each size runs several rounds (15 by default), a
//! sync then a raw upload each, fresh databases every time; the medians are printed, the ratio
//! being the median of each round's own ratio (a round on a shared 2-core machine varies by
//! ±15%, a 10k one more: it lasts ~30 ms; the two halves of one round see the same machine).

use std::path::Path;
use std::time::Instant;

use gridpatrol_core::sync::{NoProgress, SyncOptions};
use gridpatrol_core::*;
use gridpatrol_hq::{DatabaseUrl, HqConfig};

use super::raw_upload;

pub async fn run(sizes: &[usize], rounds: usize, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut noop = None;
    for &n in sizes {
        let (mut ours, mut raws, mut ratios, mut last) = (Vec::new(), Vec::new(), Vec::new(), None);
        for round in 0..rounds.max(1) {
            let here = dir.join(format!("n{n}-{round}"));
            let (rps, report, noop_now) = sync_once(n, &here, noop.is_none()).await?;
            noop = noop.or(noop_now);
            let raw = raw_upload::measure(&here, n).await?;
            ours.push(rps);
            raws.push(raw);
            ratios.push(rps / raw);
            std::fs::remove_dir_all(&here)?;
            last = Some(report);
        }
        let report = last.ok_or("no rounds")?;
        let (ours, raw, ratio) = (median(&mut ours), median(&mut raws), median(&mut ratios));
        let wire = (report.bytes_sent + report.bytes_received) as f64 / n as f64;
        println!(
            "sync: n={n} rps={ours:.0} requests={} wire_bytes_per_record={wire:.0} | raw: rps={raw:.0} | ratio={:.2}",
            report.requests, ratio
        );
    }
    if let Some((requests, bytes)) = noop {
        println!("noop sync: requests={requests} bytes={bytes} (targets: ratio>=0.8, <=150 B/record, noop <=2 requests, <=2048 B)");
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One sync of `n` pending records to a fresh HQ: records per second, the sync's report, and
/// (when asked) a no-op sync's requests and bytes right after.
async fn sync_once(
    n: usize,
    here: &Path,
    with_noop: bool,
) -> Result<(f64, gridpatrol_core::sync::SyncReport, Option<(u64, u64)>), Box<dyn std::error::Error>> {
    {
        let mut config = HqConfig::new("127.0.0.1:0".parse()?, DatabaseUrl::Sqlite(here.join("hq")));
        let admin = format!("bench-{}", new_id().replace('-', ""));
        config.bootstrap_admin_token = Some(admin.clone());
        config.rate_limit_per_device = (1_000_000, 1_000_000.0);
        let hq = gridpatrol_hq::start(config).await?;
        let client = reqwest::Client::new();
        let post = |path: &str, body: serde_json::Value| {
            client.post(format!("{}{path}", hq.url())).bearer_auth(&admin).json(&body).send()
        };
        post("/v1/admin/import", serde_json::to_value(GridConfig::sample())?).await?.error_for_status()?;
        let code: serde_json::Value = post("/v1/admin/workers/w-001/enrolment-codes", serde_json::json!({}))
            .await?
            .error_for_status()?
            .json()
            .await?;
        let phone_dir = here.join("phone");
        let code = code["code"].as_str().ok_or("no enrolment code")?;
        drop(Store::enrol(&phone_dir, &hq.url(), code, StoreOptions::default()).await?);

        // Seed N unsent records quickly (no fsync), then reopen as a phone does (FULL).
        {
            let seeding = StoreOptions { durability: Durability::SeedingOnly, ..StoreOptions::default() };
            let s = Store::open(&phone_dir, seeding)?;
            for i in 0..n {
                s.record_visit(super::routine_visit(i))?;
            }
        }
        let store = Store::open(&phone_dir, StoreOptions::default())?;
        let options = SyncOptions::default();
        let t = Instant::now();
        let report = store.sync(&options, &NoProgress).await?;
        let secs = t.elapsed().as_secs_f64();
        if report.unsent_after != 0 || report.applied != n as u64 {
            return Err(format!("sync left {} unsent, applied {}", report.unsent_after, report.applied).into());
        }
        let rps = n as f64 / secs;
        let mut noop = None;
        if with_noop {
            let again = store.sync(&options, &NoProgress).await?;
            noop = Some((again.requests, again.bytes_sent + again.bytes_received));
        }
        drop(store);
        hq.stop().await?;
        Ok((rps, report, noop))
    }
}
