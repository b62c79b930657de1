//! Commits made durable off the writer's path. The SQLite writer connection runs with
//! `synchronous=NORMAL`: its COMMIT writes the WAL frames and returns without waiting for the
//! disk (an fsync here costs more than settling a push of 1,000 visits). Nobody hears of a
//! commit before it is on disk all the same:
//! - the writer hands each committed group to the syncer thread, which fsyncs the WAL (once
//!   for every commit made meanwhile) and only then hands back the group's answers; the writer
//!   has gone on to the next group in the meantime;
//! - a read transaction returns only once every commit it could have seen is on disk, so
//!   nothing leaves HQ (a pull, an export) that a power cut could still take back;
//! - a write outside the writer thread (start-up, migrations) syncs before it returns.
//!
//! Checkpoints are as before: with NORMAL, SQLite syncs the WAL before it checkpoints and the
//! database file after, before the WAL is reused.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The longest a reader waits for the syncer before it answers anyway (the syncer being stuck
/// on a failing disk; the writes then fail too).
const READER_PATIENCE: Duration = Duration::from_secs(30);

pub struct WalSync {
    wal: PathBuf,
    /// Commits begun: counted before each COMMIT, so a reader that could see one waits for it.
    begun: AtomicU64,
    state: Mutex<State>,
    synced_cv: Condvar,
    /// Fault injection for tests: the next fsync fails.
    fail_next: AtomicBool,
}

struct State {
    /// Every commit numbered up to here is on disk (or failed and was rolled back).
    synced: u64,
    /// The WAL file, opened at the first sync (and again should SQLite have replaced it).
    file: Option<(File, u64)>,
}

impl WalSync {
    /// For the database at `db` (its WAL is `<db>-wal`).
    pub fn new(db: &std::path::Path) -> WalSync {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        WalSync {
            wal: wal.into(),
            begun: AtomicU64::new(0),
            state: Mutex::new(State { synced: 0, file: None }),
            synced_cv: Condvar::new(),
            fail_next: AtomicBool::new(false),
        }
    }

    /// Called before a COMMIT: the commit's number (pass it to `sync_through` or `settled`).
    pub fn begin(&self) -> u64 {
        self.begun.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// fsync the WAL: on success every commit numbered `through` or lower is on disk.
    pub fn sync_through(&self, through: u64) -> std::io::Result<()> {
        let mut st = lock(&self.state);
        if st.synced >= through {
            return Ok(());
        }
        let result = self.fsync(&mut st);
        // Readers are let go even when the fsync failed (the writes' answers carry the error):
        // waiting on a failing disk forever would only stop HQ answering at all.
        st.synced = st.synced.max(through);
        drop(st);
        self.synced_cv.notify_all();
        result
    }

    /// Commits up to `through` that did not happen (rolled back): nothing to wait for.
    pub fn settled(&self, through: u64) {
        let mut st = lock(&self.state);
        st.synced = st.synced.max(through);
        drop(st);
        self.synced_cv.notify_all();
    }

    /// Until every commit begun so far is on disk (see the module doc).
    pub fn wait_for_begun(&self) {
        let target = self.begun.load(Ordering::SeqCst);
        let st = lock(&self.state);
        if st.synced >= target {
            return;
        }
        let _ = self
            .synced_cv
            .wait_timeout_while(st, READER_PATIENCE, |st| st.synced < target)
            .unwrap_or_else(|p| p.into_inner());
    }

    fn fsync(&self, st: &mut State) -> std::io::Result<()> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(&self.wal)?.ino();
        if !matches!(&st.file, Some((_, open)) if *open == ino) {
            st.file = Some((File::open(&self.wal)?, ino));
        }
        match &st.file {
            Some((f, _)) => f.sync_data(),
            None => Ok(()),
        }
    }

    /// Tests: make the next fsync fail.
    #[cfg(test)]
    pub fn fail_next_sync(&self) {
        self.fail_next.store(true, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A reader waits for the commits begun before it ends, and only for those.
    #[test]
    fn readers_wait_for_begun_commits_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        let s = Arc::new(WalSync::new(&db));
        s.wait_for_begun(); // nothing begun: no wait
        let n = s.begin();
        let reader = {
            let s = s.clone();
            std::thread::spawn(move || {
                s.wait_for_begun();
                std::time::Instant::now()
            })
        };
        std::thread::sleep(Duration::from_millis(150));
        assert!(!reader.is_finished(), "the reader must wait for commit {n}");
        let synced_at = std::time::Instant::now();
        s.sync_through(n).unwrap();
        assert!(reader.join().unwrap() >= synced_at, "the reader went on before the sync");
        // A rolled-back commit lets readers go without an fsync.
        let m = s.begin();
        s.settled(m);
        s.wait_for_begun();
    }

    /// A failed fsync is reported to the writer (whose answers then carry the error).
    #[test]
    fn a_failed_fsync_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let s = WalSync::new(&db);
        let n = s.begin();
        // No WAL file at all: the fsync cannot happen.
        assert!(s.sync_through(n).is_err());
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        let n = s.begin();
        s.fail_next_sync();
        assert!(s.sync_through(n).is_err());
        let n = s.begin();
        assert!(s.sync_through(n).is_ok());
    }
}
