//! `bench screens`: every screen model rendered over a store of 100,000 records (a worker's
//! year: check-ins, visits, a report — and its case — every 20 records, a patrol every 100),
//! p99 per screen against the 5 ms target.

use std::time::{Duration, Instant};

use gridpatrol_core::screens::{CaseFilter, HouseholdQuery, Screen};
use gridpatrol_core::*;

use super::record::Workload;

fn quantile_ms(lat: &[Duration], q: f64) -> f64 {
    lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3
}

pub fn run(records: usize, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run `cargo run --release -p gridpatrol -- bench screens` for real figures");
    }
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("store");
    let seeding = StoreOptions { durability: Durability::SeedingOnly, ..StoreOptions::default() };
    let (patrol, case_id, seeded) = {
        let s = Store::init(&dir, &GridConfig::sample(), "w-001", seeding)?;
        let mut w = Workload::new(&s, true)?;
        for i in 0..records {
            w.one(&s, i)?;
        }
        let case_id = s.case_inbox(&CaseFilter::default())?.rows.first().map(|r| r.case_id.clone()).ok_or("no case")?;
        (w.patrol().to_string(), case_id, w.records)
    };
    let store = Store::open(&dir, StoreOptions::default())?;
    let screens = [
        ("home", Screen::Today),
        ("grid", Screen::Grid { grid_id: "g-0101".into(), query: HouseholdQuery::default() }),
        ("patrol", Screen::Patrol { patrol_id: patrol }),
        ("case_inbox", Screen::CaseInbox { filter: CaseFilter::default() }),
        ("case", Screen::Case { case_id }),
        ("task_inbox", Screen::TaskInbox { include_closed: true }),
        ("sync_status", Screen::SyncStatus),
    ];
    let mut line = String::from("screens:");
    let mut medians = String::new();
    let mut worst = 0.0f64;
    for (name, screen) in &screens {
        store.render(screen)?; // warm the statement cache, as a screen shown twice would be
        let mut lat = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            store.render(screen)?;
            lat.push(t.elapsed());
        }
        lat.sort();
        let p99 = quantile_ms(&lat, 0.99);
        worst = worst.max(p99);
        line.push_str(&format!(" {name}_p99_ms={p99:.2}"));
        medians.push_str(&format!(" {name}={:.2}", quantile_ms(&lat, 0.5)));
    }
    println!("{line}");
    println!(
        "screens detail: records={seeded} rounds={rounds} worst_p99_ms={worst:.2} p50_ms:{medians} (target: p99<=5 ms per screen)"
    );
    Ok(())
}
