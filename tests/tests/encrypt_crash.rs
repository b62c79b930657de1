//! Crash test of the in-place encryption (fault injection by SIGKILL): a clear-text store full of
//! a worker's records, with photos still kept as files the way stores before schema v8 kept
//! them, is opened with a key by a child process (`encrypt-once`), which we kill at a random
//! moment of the migration, 30 rounds. After each kill the store opens with the key: every
//! record and photo is there, and nothing on disk is readable.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gridpatrol_core::*;

const ROUNDS: usize = 30;
const VISITS: usize = 4000;
const PHOTOS: u8 = 12;
const KEY_HEX: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";
const NOTE: &str = "楼道堆物需清理";
/// How every stored photo starts (a JPEG's start of image and its JFIF header).
const JFIF: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The clear store every round starts from: visits, reports with photos, photos as files.
fn seed(dir: &Path) -> (usize, Vec<String>) {
    let opts = StoreOptions { durability: Durability::SeedingOnly, ..StoreOptions::default() };
    let store = Store::init(dir, &GridConfig::sample(), "w-001", opts).unwrap();
    for i in 0..VISITS {
        store
            .record_visit(VisitInput {
                household_id: if i % 2 == 0 { "h-0001".into() } else { "h-0002".into() },
                visit_type: VisitType::Routine,
                outcome: VisitOutcome::Met,
                needs: vec![NeedTag::Living],
                note: Some(format!("{NOTE} {i}")),
                satisfaction: None,
                case_id: None,
                location: None,
                occurred_at: None,
                datum: None,
            })
            .unwrap();
    }
    let mut shas = Vec::new();
    for v in 0..PHOTOS {
        let path = dir.with_extension(format!("{v}.jpg"));
        std::fs::write(&path, gridpatrol_testing::tiny_jpeg(v)).unwrap();
        let report = store
            .file_report(ReportInput {
                grid_id: "g-0101".into(),
                category: ReportCategory::SafetyHazard,
                urgency: None,
                location: GeoPoint { lat: 31.232, lng: 121.473 },
                place_name: None,
                description: format!("{NOTE} report {v}"),
                people_involved: 1,
                source: ReportSource::Resident,
                patrol_id: None,
                visit_id: None,
                photos: vec![path],
                datum: None,
            })
            .unwrap();
        shas.extend(report.photos);
    }
    let records = store.outbox(0, 1_000_000).unwrap().len();
    drop(store);
    // Photos back out to files, as a store before schema v8 kept them.
    let db = rusqlite::Connection::open(dir.join(store::DB_FILE)).unwrap();
    let folder = dir.join("attachments");
    std::fs::create_dir_all(&folder).unwrap();
    let mut stmt = db.prepare("SELECT sha256, kind, bytes FROM attachment_blob").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?)));
    for row in rows.unwrap() {
        let (sha, kind, bytes) = row.unwrap();
        let name = if kind == "thumb" { format!("{sha}.thumb.jpg") } else { format!("{sha}.jpg") };
        std::fs::write(folder.join(name), bytes).unwrap();
    }
    drop(stmt);
    db.execute("DELETE FROM attachment_blob", []).unwrap();
    (records, shas)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Every file under the store folder: nothing clear-text SQLite, no resident, no note, no JPEG.
fn readable_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            let secrets: [&[u8]; 4] = [b"SQLite format 3", "陈阿姨".as_bytes(), b"13812345678", NOTE.as_bytes()];
            if secrets.iter().any(|s| bytes.windows(s.len()).any(|w| w == *s))
                || bytes.windows(JFIF.len()).any(|w| w == JFIF)
            {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

fn spawn(store_dir: &Path) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_encrypt-once"))
        .arg(store_dir)
        .arg(KEY_HEX)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "opening");
    (child, out)
}

#[test]
fn sigkill_during_encryption_in_place_loses_nothing_and_leaves_nothing_readable() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("clear");
    let (records, shas) = seed(&template);
    assert!(!readable_files(&template).is_empty(), "the seeded store is clear text");

    // How long one uninterrupted migration takes here: the kills land within it.
    let timing = dir.path().join("timing");
    copy_dir(&template, &timing);
    let (mut child, mut out) = spawn(&timing);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(child.wait().unwrap().success());
    let full_ms: u64 = line.trim().strip_prefix("encrypted ").unwrap().parse().unwrap();
    let window_us = (full_ms.max(1) * 1000) * 5 / 4;

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("encryption crash test seed {seed}, migration {full_ms} ms");
    let mut rng = Rng(seed);
    let (mut still_clear, mut done) = (0, 0);
    let key = StoreKey::from_hex(KEY_HEX).unwrap();
    for round in 0..ROUNDS {
        let store_dir = dir.path().join(format!("round{round}"));
        copy_dir(&template, &store_dir);
        let (mut child, _out) = spawn(&store_dir);
        let at = Duration::from_micros(rng.next() % window_us);
        let start = Instant::now();
        while start.elapsed() < at {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let head = std::fs::read(store_dir.join(store::DB_FILE)).unwrap();
        if head.starts_with(b"SQLite format 3") {
            still_clear += 1;
        } else {
            done += 1;
        }

        // The next open with the key finishes the job: everything there, nothing readable.
        let store = Store::open(&store_dir, StoreOptions { key: Some(key.clone()), ..StoreOptions::default() })
            .unwrap_or_else(|e| panic!("round {round} (killed after {at:?}): {e}"));
        assert_eq!(store.outbox(0, 1_000_000).unwrap().len(), records, "round {round}: records lost");
        for sha in &shas {
            let photo = store.attachment_photo(sha).unwrap_or_else(|e| panic!("round {round}: photo {sha}: {e}"));
            assert_eq!(&photo[..2], &[0xFF, 0xD8], "round {round}");
            assert!(store.attachment_thumbnail(sha).is_ok(), "round {round}");
        }
        drop(store);
        assert!(!store_dir.join("attachments").exists(), "round {round}: photo files left");
        assert!(!store_dir.join("gridpatrol.db.encrypting").exists(), "round {round}");
        assert_eq!(readable_files(&store_dir), Vec::<String>::new(), "round {round}: readable after the open");
        std::fs::remove_dir_all(&store_dir).unwrap();
    }
    eprintln!("killed before the switch: {still_clear}, after: {done}");
    assert!(still_clear > 0, "no kill landed before the encrypted copy replaced the clear store");
}
