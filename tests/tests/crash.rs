//! Crash test (fault injection by SIGKILL): a child process records in a loop and prints
//! each id once its call returned; we kill it at random moments, many rounds, reopen the
//! store, and check that every printed id is present and intact and the outbox consistent.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridpatrol_core::*;

const ROUNDS: usize = 30;

/// Tiny xorshift so the kill moments vary per run but are reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_record_that_was_reported_saved() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, gridpatrol_testing::tiny_jpeg(0)).unwrap();
    drop(Store::init(&store_dir, &GridConfig::sample(), "w-001", StoreOptions::default()).unwrap());

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let mut promised: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(&store_dir)
            .arg(&photo)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    match line {
                        Ok(l) => lines.lock().unwrap().push(l),
                        Err(_) => break,
                    }
                }
            })
        };
        // Wait until the child is writing, then kill it somewhere in the next 0..60 ms.
        let start = Instant::now();
        while lines.lock().unwrap().is_empty() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(rng.next() % 60_000));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        reader.join().unwrap();
        assert!(!status.success(), "round {round}: child should have been killed");
        let got = lines.lock().unwrap().clone();
        assert!(!got.is_empty(), "round {round}: child recorded nothing before the kill");
        promised.extend(got);
        verify(&store_dir, &promised, round);
    }
    eprintln!("crash test: {ROUNDS} rounds, {} promised records verified", promised.len());
}

fn verify(store_dir: &Path, promised: &[String], round: usize) {
    // Reopening runs recovery exactly as the app does after a crash.
    let store = Store::open(store_dir, StoreOptions::default()).unwrap();
    let db = rusqlite::Connection::open(store_dir.join(store::DB_FILE)).unwrap();
    let ok: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok", "round {round}");
    for line in promised {
        let parts: Vec<&str> = line.split(' ').collect();
        let (table, id) = (parts[0], parts[1]);
        let n: i64 = db.query_row(&format!("SELECT COUNT(*) FROM {table} WHERE id = ?1"), [id], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "round {round}: promised {table} {id} is missing");
        // Intact: its outbox row is there and decodes to the same record.
        let payload: String = db
            .query_row("SELECT payload FROM outbox WHERE entity_id = ?1", [id], |r| r.get(0))
            .unwrap_or_else(|_| panic!("round {round}: no outbox row for {table} {id}"));
        let cmd: gridpatrol_core::Command = serde_json::from_str(&payload).unwrap();
        assert_eq!(cmd.entity_id(), id);
        if table == "report" && parts[2] != "-" {
            let sha = parts[2];
            let bytes: Vec<u8> = db
                .query_row("SELECT bytes FROM attachment_blob WHERE sha256 = ?1 AND kind = 'photo'", [sha], |r| {
                    r.get(0)
                })
                .unwrap_or_else(|_| panic!("round {round}: photo of report {id} missing"));
            assert!(bytes.len() > 10);
        }
    }
    // The outbox is gap-free and every row has its domain record (nothing half-written).
    let ob = store.outbox(0, 1_000_000).unwrap();
    assert!(ob.len() > promised.len(), "round {round}");
    assert!(ob.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1), "round {round}: gap in the outbox");
    for (kind, table) in
        [("record_visit", "visit"), ("check_in", "checkpoint"), ("file_report", "report"), ("start_patrol", "patrol")]
    {
        let rows: i64 = db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        let entries = ob.iter().filter(|e| e.op == kind).count() as i64;
        assert_eq!(rows, entries, "round {round}: {table} rows vs {kind} outbox rows");
    }
    let today = store.today().unwrap();
    assert_eq!(today.unsent.records, ob.len() as u64);
}
