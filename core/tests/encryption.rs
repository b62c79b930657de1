//! The store encrypted at rest (SQLCipher): what is on disk reveals no resident and no photo,
//! the wrong or a missing key is a typed error that changes nothing, and a clear-text store
//! (or one from before photos moved into the database) is encrypted in place without losing a
//! record. The crash test of that migration is `tests/tests/encrypt_crash.rs`.

mod common;

use std::path::Path;

use common::*;
use gridpatrol_core::*;

fn key(b: u8) -> StoreKey {
    StoreKey::from_bytes(&[b; 32]).unwrap()
}

fn keyed(clock: &std::sync::Arc<ManualClock>, k: Option<StoreKey>) -> StoreOptions {
    StoreOptions { key: k, ..opts(clock) }
}

/// Residents' names and phone numbers from the sample configuration, and a report's text.
const SECRETS: &[&str] = &["陈阿姨", "刘先生", "13812345678", "13987654321", "楼道堆物严重"];

/// Every file under the folder, read as bytes: none holds a secret (UTF-8 as stored).
fn assert_nothing_readable(dir: &Path) {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&p).unwrap();
            assert!(!bytes.starts_with(b"SQLite format 3"), "{} is clear-text SQLite", p.display());
            for s in SECRETS {
                assert!(
                    !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                    "{} holds {s:?} in clear text",
                    p.display()
                );
            }
            // A JPEG's start of image and JFIF header (how every stored photo starts).
            let jfif = b"\xFF\xD8\xFF\xE0\x00\x10JFIF";
            assert!(!bytes.windows(jfif.len()).any(|w| w == jfif), "{} holds a JPEG", p.display());
        }
    }
    assert!(files >= 1);
}

fn record_day(store: &Store, f_dir: &Path) -> Report {
    let photo = f_dir.join("hazard.jpg");
    std::fs::write(&photo, tiny_jpeg(3)).unwrap();
    let mut input = report_input("g-0101", vec![photo]);
    input.description = "楼道堆物严重".into();
    let report = store.file_report(input).unwrap();
    std::fs::remove_file(f_dir.join("hazard.jpg")).unwrap();
    report
}

#[test]
fn an_encrypted_store_shows_nothing_on_disk_and_opens_only_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let clock = std::sync::Arc::new(ManualClock::new(NOW_MS));
    let store = Store::init(&store_dir, &GridConfig::sample(), "w-001", keyed(&clock, Some(key(1)))).unwrap();
    let report = record_day(&store, dir.path());
    let households = store.grid_screen("g-0101", &HouseholdQuery::default()).unwrap().households_matching;
    drop(store);
    assert_nothing_readable(&store_dir);

    // The wrong key and no key: typed errors, and the store is left exactly as it was.
    let before = std::fs::read(store_dir.join(store::DB_FILE)).unwrap();
    match Store::open(&store_dir, keyed(&clock, Some(key(2)))) {
        Err(CoreError::StoreKeyWrong) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
    match Store::open(&store_dir, keyed(&clock, None)) {
        Err(CoreError::StoreKeyMissing) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
    match Store::init(&store_dir, &GridConfig::sample(), "w-001", keyed(&clock, Some(key(2)))) {
        Err(CoreError::StoreKeyWrong) => {}
        other => panic!("init over an encrypted store with another key: {:?}", other.map(|_| ())),
    }
    // No new store in its place: the same encrypted file, no clear-text one beside it.
    let after = std::fs::read(store_dir.join(store::DB_FILE)).unwrap();
    assert!(!after.starts_with(b"SQLite format 3") && after.len() >= before.len() / 2);
    assert!(!store_dir.join("gridpatrol.db.encrypting").exists());
    assert_eq!(CoreError::StoreKeyWrong.code(), "store_key_wrong");
    assert_eq!(CoreError::StoreKeyMissing.code(), "store_key_missing");

    let store = Store::open(&store_dir, keyed(&clock, Some(key(1)))).unwrap();
    assert_eq!(store.grid_screen("g-0101", &HouseholdQuery::default()).unwrap().households_matching, households);
    let photo = store.attachment_photo(&report.photos[0]).unwrap();
    assert_eq!(&photo[..2], &[0xFF, 0xD8], "the photo reads back as a JPEG");
    assert_eq!(store.outbox(0, 100_000).unwrap().len() as u64, 1);
}

#[test]
fn a_clear_store_is_encrypted_in_place_when_a_key_arrives() {
    let f = fixture();
    let report = record_day(&f.store, f.dir.path());
    let patrol = f.store.start_patrol("g-0101", PatrolShift::Day).unwrap();
    let counts = f.all_counts();
    let Fixture { dir, clock, store } = f;
    drop(store);
    // Clear text so far: the residents are readable in the file.
    let clear = std::fs::read(dir.path().join(store::DB_FILE)).unwrap();
    assert!(clear.starts_with(b"SQLite format 3"));

    let store = Store::open(dir.path(), keyed(&clock, Some(key(9)))).unwrap();
    assert!(store.outbox(0, 100_000).unwrap().iter().any(|e| e.entity_id == patrol.id));
    assert!(store.attachment_photo(&report.photos[0]).is_ok());
    assert_eq!(
        store.outbox(0, 100_000).unwrap().len() as u64,
        counts.iter().find(|(t, _)| t == "outbox").unwrap().1 as u64
    );
    drop(store);
    std::fs::remove_file(dir.path().join("hazard.jpg")).ok();
    assert_nothing_readable(dir.path());
    // Every row survived: count through a keyed connection.
    let c = rusqlite::Connection::open(dir.path().join(store::DB_FILE)).unwrap();
    c.execute_batch(&key(9).keying_sql()).unwrap();
    for (table, n) in counts {
        let got: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert_eq!(got, n, "{table}");
    }
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, schema::VERSION, "the schema version came along");
    // The copy was written with the store's cipher settings (HMAC-SHA256): the key alone with
    // SQLCipher's defaults does not read it.
    let defaults = rusqlite::Connection::open(dir.path().join(store::DB_FILE)).unwrap();
    defaults.execute_batch(&format!("PRAGMA key = \"x'{}'\";", "09".repeat(32))).unwrap();
    assert!(defaults.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_err());
    // And the clear-text path is refused from now on.
    drop(c);
    assert!(matches!(Store::open(dir.path(), keyed(&clock, None)), Err(CoreError::StoreKeyMissing)));
}

/// Stores made before schema v8 kept photos as files in `attachments/`: they move into the
/// database at open (then get encrypted with it) and the folder goes.
#[test]
fn photo_files_of_an_older_store_move_into_the_database() {
    let f = fixture();
    let report = record_day(&f.store, f.dir.path());
    let sha = report.photos[0].clone();
    let photo = f.store.attachment_photo(&sha).unwrap();
    let thumb = f.store.attachment_thumbnail(&sha).unwrap();
    let Fixture { dir, clock, store } = f;
    drop(store);
    // Put the store back as v7 kept it: files beside the database, no blobs, plus a leftover
    // temporary file and the file of a photo no record references (a failed call).
    let folder = dir.path().join("attachments");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(format!("{sha}.jpg")), &photo).unwrap();
    std::fs::write(folder.join(format!("{sha}.thumb.jpg")), &thumb).unwrap();
    std::fs::write(folder.join(format!(".{sha}.jpg.77.tmp")), b"half").unwrap();
    std::fs::write(folder.join(format!("{}.jpg", "cd".repeat(32))), &photo).unwrap();
    let c = rusqlite::Connection::open(dir.path().join(store::DB_FILE)).unwrap();
    c.execute("DELETE FROM attachment_blob", []).unwrap();
    drop(c);

    let store = Store::open(dir.path(), keyed(&clock, Some(key(4)))).unwrap();
    assert_eq!(store.attachment_photo(&sha).unwrap(), photo);
    assert_eq!(store.attachment_thumbnail(&sha).unwrap(), thumb);
    assert!(!folder.exists(), "the files are gone once inside the database");
    drop(store);
    assert_nothing_readable(dir.path());
}

/// An interrupted encryption leaves a half-written `gridpatrol.db.encrypting`: the next open
/// throws it away and encrypts again from the intact clear store.
#[test]
fn a_half_written_encrypted_copy_is_thrown_away() {
    let f = fixture();
    record_day(&f.store, f.dir.path());
    let counts = f.all_counts();
    let Fixture { dir, clock, store } = f;
    drop(store);
    std::fs::write(dir.path().join("gridpatrol.db.encrypting"), vec![0x5Au8; 10_000]).unwrap();
    let store = Store::open(dir.path(), keyed(&clock, Some(key(5)))).unwrap();
    assert_eq!(
        store.outbox(0, 100_000).unwrap().len() as u64,
        counts.iter().find(|(t, _)| t == "outbox").unwrap().1 as u64
    );
    drop(store);
    assert!(!dir.path().join("gridpatrol.db.encrypting").exists());
    assert_nothing_readable(dir.path());
}
