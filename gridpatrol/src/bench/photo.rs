//! `bench photo`: what the core does to a 12 MP camera photo at capture (`photo::process`:
//! sanitise, decode with IDCT scaling, resize to 1600 px, re-encode at quality 80, thumbnail),
//! on a realistic 4000x3000 JPEG made here (a noisy colour gradient, 3–5 MB).
//! Target: p50 ≤ 400 ms in a release build. Then the same photo filed with a report through a
//! store (the whole recording call, file writes and fsyncs included).

use std::time::{Duration, Instant};

use gridpatrol_core::photo::{self, PhotoOptions};
use gridpatrol_core::*;

pub fn run(rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run `cargo run --release -p gridpatrol -- bench photo` for real figures");
    }
    let input = camera_jpeg(12);
    let opts = PhotoOptions::default();
    let mut times = Vec::with_capacity(rounds);
    let mut out = None;
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        let p = photo::process(&input, &opts, false)?;
        times.push(t.elapsed());
        out = Some(p);
    }
    let out = out.ok_or("no round ran")?;

    // The whole recording call: the photo processed, hashed and written with its thumbnail.
    let tmp = tempfile::tempdir()?;
    let store = Store::init(tmp.path(), &GridConfig::sample(), "w-001", StoreOptions::default())?;
    let mut report_times = Vec::new();
    for i in 0..rounds.clamp(1, 5) {
        // Another photo each time (another seed), so that each call writes its files.
        let path = tmp.path().join(format!("cam-{i}.jpg"));
        std::fs::write(&path, camera_jpeg(100 + i as u64))?;
        let t = Instant::now();
        store.file_report(report(path))?;
        report_times.push(t.elapsed());
    }
    println!(
        "photo: downscale_12mp_ms={:.0} p_max_ms={:.0} report_with_photo_ms={:.0} | input={}x{} {} bytes -> \
         stored={}x{} {} bytes (reencoded={}) thumbnail={} bytes | target_ms=400",
        ms(p50(&mut times)),
        ms(*times.iter().max().unwrap_or(&Duration::ZERO)),
        ms(p50(&mut report_times)),
        4000,
        3000,
        input.len(),
        out.width,
        out.height,
        out.stored.bytes.len(),
        out.reencoded,
        out.thumbnail.len(),
    );
    Ok(())
}

/// A 4000x3000 photo-like JPEG of 3–5 MB, as a phone's camera writes one: the noisy gradient
/// at the highest quality that keeps it within 5 MB.
fn camera_jpeg(seed: u64) -> Vec<u8> {
    let mut last = Vec::new();
    for quality in [92, 88, 85, 82, 80, 75, 70, 65, 60] {
        last = gridpatrol_testing::noisy_jpeg(4000, 3000, seed, quality);
        if last.len() <= 5 * 1024 * 1024 {
            break;
        }
    }
    last
}

fn p50(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(photo: std::path::PathBuf) -> ReportInput {
    ReportInput {
        grid_id: "g-0101".into(),
        category: ReportCategory::SafetyHazard,
        urgency: None,
        location: GeoPoint { lat: 31.2320, lng: 121.4730 },
        place_name: Some("车棚 (bike shed)".into()),
        description: "电动车飞线充电 (e-bike charging from a dangling cable)".into(),
        people_involved: 0,
        source: ReportSource::Resident,
        patrol_id: None,
        visit_id: None,
        photos: vec![photo],
        datum: None,
    }
}
