//! `bench record`: N recording calls through the core (half check-ins with checklist answers,
//! half visits), one call at a time, against N raw rusqlite single-row inserts at the same
//! durability (WAL + synchronous=FULL) into a table of the same width as the visit table.
//! The same again with the store encrypted (SQLCipher, as on the phones) against raw inserts
//! into a SQLCipher database under a key. Then an encrypted store holding 100,000 records: how
//! long opening it and the "today" view take.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gridpatrol_core::*;

pub struct Stats {
    pub p50_us: f64,
    pub p99_us: f64,
    pub rps: f64,
}

pub fn stats(mut lat: Vec<Duration>, total: Duration) -> Stats {
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    Stats { p50_us: pick(0.50), p99_us: pick(0.99), rps: lat.len() as f64 / total.as_secs_f64() }
}

pub fn run(n: usize, big: usize, dir: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run `cargo run --release -p gridpatrol -- bench record` for real figures");
    }
    let tmp = tempfile::tempdir_in(dir.unwrap_or_else(std::env::temp_dir))?;
    let config = GridConfig::sample();

    // Against plain SQLite (the line every earlier build printed), then with the store
    // encrypted (SQLCipher, as on the phones) against raw inserts into a SQLCipher database
    // under a key, at the same durability.
    let (a, b) = compare(tmp.path(), "plain", &config, None, n)?;
    println!("record: {}", line(&a, &b));
    let key = StoreKey::random();
    let (a, b) = compare(tmp.path(), "sqlcipher", &config, Some(key.clone()), n)?;
    println!("record sqlcipher: {}", line(&a, &b).replacen("| raw:", "| raw_sqlcipher:", 1));

    // A store holding `big` records (seeded without fsync: only the reads below are timed).
    let big_dir = tmp.path().join("big");
    let seeding =
        StoreOptions { durability: Durability::SeedingOnly, key: Some(key.clone()), ..StoreOptions::default() };
    let records = {
        let s = Store::init(&big_dir, &config, "w-001", seeding)?;
        let mut w = Workload::new(&s, true)?;
        for i in 0..big {
            w.one(&s, i)?;
        }
        w.records
    };
    let mut opens = Vec::new();
    let mut todays = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let s = Store::open(&big_dir, StoreOptions { key: Some(key.clone()), ..StoreOptions::default() })?;
        opens.push(t.elapsed());
        let t = Instant::now();
        let today = s.today()?;
        todays.push(t.elapsed());
        assert_eq!(today.unsent.records as usize, records, "today sees every record");
    }
    opens.sort();
    todays.sort();
    println!(
        "open_ms={:.1} today_ms={:.2} (SQLCipher-encrypted store of {records} records; medians of 7; targets: ratio>=0.75, p99<=1000us, open<=50ms, today<=5ms)",
        opens[3].as_secs_f64() * 1e3,
        todays[3].as_secs_f64() * 1e3
    );
    Ok(())
}

fn line(a: &Stats, b: &Stats) -> String {
    format!(
        "p50_us={:.0} p99_us={:.0} rps={:.0} | raw: p50_us={:.0} p99_us={:.0} rps={:.0} | ratio={:.2}",
        a.p50_us,
        a.p99_us,
        a.rps,
        b.p50_us,
        b.p99_us,
        b.rps,
        a.rps / b.rps
    )
}

/// `n` recording calls through the core against `n` raw inserts, interleaved in blocks so that
/// disk and CPU conditions are shared fairly; both under `key` when one is given.
fn compare(
    dir: &Path,
    name: &str,
    config: &GridConfig,
    key: Option<StoreKey>,
    n: usize,
) -> Result<(Stats, Stats), Box<dyn std::error::Error>> {
    let store = Store::init(
        &dir.join(format!("core-{name}")),
        config,
        "w-001",
        StoreOptions { key: key.clone(), ..StoreOptions::default() },
    )?;
    let raw = raw_db(&dir.join(format!("raw-{name}.db")), key.as_ref())?;
    let mut w = Workload::new(&store, false)?;
    let (mut ours, mut theirs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut ours_total, mut theirs_total) = (Duration::ZERO, Duration::ZERO);
    let block = 500;
    let mut done = 0;
    while done < n {
        let m = block.min(n - done);
        let t0 = Instant::now();
        for i in done..done + m {
            let t = Instant::now();
            w.one(&store, i)?;
            ours.push(t.elapsed());
        }
        ours_total += t0.elapsed();
        let t0 = Instant::now();
        for i in done..done + m {
            let t = Instant::now();
            raw_insert(&raw, i)?;
            theirs.push(t.elapsed());
        }
        theirs_total += t0.elapsed();
        done += m;
    }
    Ok((stats(ours, ours_total), stats(theirs, theirs_total)))
}

/// The timed workload: check-ins with checklist answers and visits, alternating; as in a
/// worker's day, a report every 20 calls and a new patrol every 100 calls.
pub(crate) struct Workload {
    patrol: String,
    answers: Vec<ChecklistAnswer>,
    /// Mix in reports and patrol changes (for the big store), or only the timed calls.
    day_mix: bool,
    /// Outbox rows written so far.
    pub records: usize,
}

impl Workload {
    pub fn new(store: &Store, day_mix: bool) -> Result<Workload> {
        let answers = store
            .active_template()
            .patrol
            .checklist
            .iter()
            .take(2)
            .map(|i| ChecklistAnswer { item_id: i.id.clone(), answer: Answer::Ok, note: None })
            .collect();
        Ok(Workload { patrol: store.start_patrol("g-0101", PatrolShift::Day)?.id, answers, day_mix, records: 1 })
    }

    /// The patrol the workload checks in on now.
    pub fn patrol(&self) -> &str {
        &self.patrol
    }

    pub fn one(&mut self, store: &Store, i: usize) -> Result<()> {
        self.records += 1;
        if self.day_mix && i % 100 == 98 {
            store.finish_patrol(&self.patrol, PatrolOutcome::NothingFound, None)?;
            self.patrol = store.start_patrol("g-0101", PatrolShift::Day)?.id;
            self.records += 1;
        } else if self.day_mix && i % 20 == 5 {
            store.file_report(ReportInput {
                grid_id: "g-0101".into(),
                category: ReportCategory::ResidentRequest,
                urgency: None,
                location: GeoPoint { lat: 31.232, lng: 121.473 },
                place_name: None,
                description: "路灯不亮 (street light out)".into(),
                people_involved: 0,
                source: ReportSource::Resident,
                patrol_id: None,
                visit_id: None,
                photos: vec![],
                datum: None,
            })?;
        } else if i.is_multiple_of(2) {
            let input = CheckInInput {
                location: GeoPoint { lat: 31.232 + (i % 100) as f64 * 1e-5, lng: 121.473 },
                accuracy_m: Some(6.0),
                place_name: None,
                answers: self.answers.clone(),
                datum: None,
                mock_location: false,
            };
            store.check_in(&self.patrol, input)?;
        } else {
            store.record_visit(VisitInput {
                household_id: ["h-0001", "h-0002", "h-0003"][i % 3].into(),
                visit_type: VisitType::Routine,
                outcome: VisitOutcome::Met,
                needs: vec![],
                note: Some("走访正常 (all well)".into()),
                satisfaction: None,
                case_id: None,
                location: None,
                occurred_at: None,
                datum: None,
            })?;
        }
        Ok(())
    }
}

fn raw_db(path: &Path, key: Option<&StoreKey>) -> Result<rusqlite::Connection, Box<dyn std::error::Error>> {
    let c = rusqlite::Connection::open(path)?;
    if let Some(key) = key {
        // SQLCipher's raw-key form, as the core gives its key (`core/src/key.rs`).
        c.execute_batch(&key.keying_sql())?;
    }
    c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    c.pragma_update(None, "synchronous", "FULL")?;
    // Same width as the core's visit table: 13 columns.
    c.execute_batch(
        "CREATE TABLE visit_raw (id TEXT PRIMARY KEY, worker_id TEXT, household_id TEXT, grid_id TEXT,
            visit_type TEXT, outcome TEXT, needs TEXT, note TEXT, satisfaction INTEGER, case_id TEXT,
            occurred_ms INTEGER, lat REAL, lng REAL)",
    )?;
    Ok(c)
}

fn raw_insert(c: &rusqlite::Connection, i: usize) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT INTO visit_raw VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")?
        .execute(rusqlite::params![
            new_id(),
            "w-001",
            "h-0001",
            "g-0101",
            "routine",
            "met",
            "[]",
            "走访正常 (all well)",
            Option::<i64>::None,
            Option::<String>::None,
            i as i64,
            31.232,
            121.473
        ])?;
    Ok(())
}
