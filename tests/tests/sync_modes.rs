//! Sync modes end to end (issue 12), against a real HQ over real HTTP: a time budget that stops
//! a run cleanly and says what is left, records only or records and photos, photos only on an
//! unmetered network, and a cancel that is as safe as losing the network (faults injected by
//! cancelling at many points of real runs).

mod common;

use std::time::{Duration, Instant};

use common::*;
use gridpatrol_core::sync::{NetworkKind, NoProgress, SyncCancel, SyncMode, SyncOptions, SyncReport, SyncSend};
use gridpatrol_core::*;
use gridpatrol_simnet::link::{LinkProxy, LinkSpec};

both!(
    a_time_budget_stops_the_run_cleanly_and_says_what_is_left,
    records_only_and_metered_networks_leave_photos_for_later,
    fault_cancelling_at_many_points_loses_and_doubles_nothing,
);

/// A noisy camera-like photo.
fn camera_photo(phone: &Phone, seed: u64, width: u16, height: u16) -> std::path::PathBuf {
    let path = phone.dir.path().join(format!("cam-{seed}.jpg"));
    std::fs::write(&path, gridpatrol_testing::noisy_jpeg(width, height, seed, 85)).unwrap();
    path
}

fn with_mode(mode: SyncMode) -> SyncOptions {
    SyncOptions { mode, ..quick() }
}

async fn photo_at_hq(hq: &Hq, sha: &str) -> Option<Vec<u8>> {
    let resp = hq.client.get(format!("{}/v1/admin/attachments/{sha}", hq.url)).bearer_auth(ADMIN).send().await.unwrap();
    resp.status().is_success().then_some(resp.bytes().await.unwrap().to_vec())
}

fn stored(phone: &Phone, sha: &str) -> Vec<u8> {
    phone.store.attachment_photo(sha).unwrap()
}

async fn a_time_budget_stops_the_run_cleanly_and_says_what_is_left(db: Db) {
    let hq = Hq::start(db).await;
    // About 500 KB/s up: three photos of some 800 KB each take seconds, the records far less.
    let spec = LinkSpec {
        up_bits_per_s: 4_000_000,
        down_bits_per_s: 8_000_000,
        rtt: Duration::from_millis(20),
        jitter: Duration::ZERO,
        loss: 0.0,
    };
    let link = LinkProxy::start(hq.url.trim_start_matches("http://").parse().unwrap(), spec, 7);
    let phone = Phone::enrol(&link.url(), &hq.code("w-001").await, NOW_MS).await;
    for i in 0..30 {
        phone.visit(["h-0001", "h-0002", "h-0003"][i % 3]);
    }
    let reports: Vec<Report> = (0..3).map(|i| phone.report(vec![camera_photo(&phone, i, 1600, 1200)])).collect();
    let photo_bytes: u64 = reports.iter().map(|r| stored(&phone, &r.photos[0]).len() as u64).sum();
    eprintln!("budget test: photos of {photo_bytes} bytes");
    assert!(photo_bytes > 900_000, "photos of {photo_bytes} bytes are too small for this test");

    // A budget already spent: nothing is sent, and the report says so.
    let spent = with_mode(SyncMode { time_budget_ms: Some(0), ..SyncMode::default() });
    let none = phone.store.sync(&spent, &NoProgress).await.unwrap();
    assert!(none.stopped_on_budget && !none.cancelled, "{none:?}");
    assert_eq!((none.pushed, none.records_left, none.photos_left, none.photo_bytes_left), (0, 33, 3, photo_bytes));

    let started = Instant::now();
    let budget = SyncMode { time_budget_ms: Some(2000), ..SyncMode::default() };
    let r = phone.store.sync(&with_mode(budget), &NoProgress).await.unwrap();
    let took = started.elapsed();
    assert!(r.stopped_on_budget && !r.cancelled, "{r:?}");
    assert!(took < Duration::from_millis(2000 + 800), "the run took {took:?} on a 2 s budget");
    // Records go first; the photos are what is left.
    assert_eq!(r.records_left, 0, "{r:?}");
    assert_eq!(hq.ids("visits").await, phone.ids("record_visit"));
    assert!(r.photos_left >= 1 && r.photos_left + r.photos_uploaded == 3, "{r:?}");
    assert!(r.photo_bytes_left > 0 && r.photo_bytes_left < photo_bytes, "{r:?}");
    let today = phone.store.today().unwrap();
    assert_eq!(today.unsent.photos, r.photos_left);

    // The next run carries on where this one stopped: each photo whole at HQ, once.
    let rest = phone.store.sync(&quick(), &NoProgress).await.unwrap();
    assert!(!rest.stopped_on_budget);
    assert_eq!(rest.photos_uploaded, r.photos_left);
    assert_eq!((rest.records_left, rest.photos_left, rest.photo_bytes_left), (0, 0, 0));
    for report in &reports {
        assert_eq!(photo_at_hq(&hq, &report.photos[0]).await, Some(stored(&phone, &report.photos[0])));
    }
    assert_eq!(hq.ids("reports").await.len(), 3);
}

async fn records_only_and_metered_networks_leave_photos_for_later(db: Db) {
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let report = phone.report(vec![phone.photo(5)]);
    let sha = report.photos[0].clone();
    let run = |mode: SyncMode| {
        let options = with_mode(mode);
        let store = &phone.store;
        async move { store.sync(&options, &NoProgress).await.unwrap() }
    };
    let held = |r: &SyncReport| (r.photos_uploaded, r.photos_held_back, r.photos_left, r.records_left);

    let r = run(SyncMode { send: SyncSend::RecordsOnly, ..SyncMode::default() }).await;
    assert_eq!(held(&r), (0, true, 1, 0), "records only: {r:?}");
    assert_eq!(hq.ids("reports").await, vec![report.id.clone()], "the record went");
    assert_eq!(photo_at_hq(&hq, &sha).await, None, "the photo did not");

    let on_mobile_data =
        SyncMode { network: NetworkKind::Metered, photos_wait_for_unmetered: true, ..SyncMode::default() };
    let r = run(on_mobile_data.clone()).await;
    assert_eq!(held(&r), (0, true, 1, 0), "metered, photos wait: {r:?}");
    assert_eq!(phone.store.today().unwrap().unsent.photos, 1);

    // On Wi-Fi the same setting sends it.
    let r = run(SyncMode { network: NetworkKind::Unmetered, ..on_mobile_data }).await;
    assert_eq!(held(&r), (1, false, 0, 0), "unmetered: {r:?}");
    assert_eq!(photo_at_hq(&hq, &sha).await, Some(stored(&phone, &sha)));

    // Metered without the setting sends photos too.
    let second = phone.report(vec![phone.photo(6)]);
    let r = run(SyncMode { network: NetworkKind::Metered, ..SyncMode::default() }).await;
    assert_eq!(held(&r), (1, false, 0, 0), "metered, photos allowed: {r:?}");
    assert_eq!(photo_at_hq(&hq, &second.photos[0]).await, Some(stored(&phone, &second.photos[0])));
}

/// Fault injection: runs with small pushes and small photo chunks are cancelled after a
/// random delay, round after round, while the worker keeps recording — so the cancel lands
/// before, between and inside pushes, photo chunks and pulls. Then one run without a cancel:
/// every record is at HQ exactly once and every photo whole.
async fn fault_cancelling_at_many_points_loses_and_doubles_nothing(db: Db) {
    const ROUNDS: usize = 30;
    let hq = Hq::start(db).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("cancel test seed {seed}");

    // Cancelled before it starts: nothing is sent.
    phone.visit("h-0001");
    let cancel = SyncCancel::new();
    cancel.cancel();
    let r = phone.store.sync(&SyncOptions { cancel, ..quick() }, &NoProgress).await.unwrap();
    assert!(r.cancelled && !r.stopped_on_budget, "{r:?}");
    assert_eq!((r.pushed, r.records_left), (0, 1));

    let mut reports = Vec::new();
    let (mut cancelled, mut finished) = (0, 0);
    for round in 0..ROUNDS {
        for i in 0..8 {
            phone.visit(["h-0001", "h-0002", "h-0003"][(round + i) % 3]);
        }
        if round % 3 == 0 {
            // Some tens of KB: several 16 KB chunks each.
            reports.push(phone.report(vec![camera_photo(&phone, round as u64, 400, 300)]));
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 30_000);
        let cancel = SyncCancel::new();
        let options = SyncOptions { batch_ops: 3, chunk_bytes: 16 * 1024, cancel: cancel.clone(), ..quick() };
        let sync = phone.store.sync(&options, &NoProgress);
        let stopper = async {
            tokio::time::sleep(delay).await;
            cancel.cancel();
        };
        let (result, ()) = tokio::join!(sync, stopper);
        let r = result.expect("a cancelled run is not an error");
        if r.cancelled {
            cancelled += 1;
        } else {
            finished += 1;
        }
    }
    let at_hq = hq.ids("visits").await.len();
    eprintln!(
        "cancel test: {cancelled} runs cancelled, {finished} finished first; {at_hq} visits at HQ before the last run"
    );
    assert!(cancelled >= 3, "too few runs were cut: {cancelled} of {ROUNDS}");

    let last = phone.store.sync(&quick(), &NoProgress).await.unwrap();
    assert!(!last.cancelled);
    assert_eq!((last.records_left, last.photos_left, last.photo_bytes_left), (0, 0, 0), "{last:?}");
    assert_eq!(hq.ids("visits").await, phone.ids("record_visit"), "each visit at HQ exactly once");
    assert_eq!(phone.ids("record_visit").len(), 1 + ROUNDS * 8);
    assert_eq!(hq.ids("reports").await, phone.ids("file_report"), "each report at HQ exactly once");
    for report in &reports {
        assert_eq!(photo_at_hq(&hq, &report.photos[0]).await, Some(stored(&phone, &report.photos[0])));
    }
}
