//! HQ's disaster recovery on SQLite: a consistent copy of the database taken while HQ serves
//! (`VACUUM INTO`: one read transaction, so one snapshot, WAL included), and putting such a copy
//! back while HQ is stopped. On PostgreSQL use `pg_dump` / `pg_restore` (hq/README.md).
//!
//! Phones recover what a restored HQ lost (docs/SYNC.md, guarantee 9): HQ's cursor for a device
//! is then behind what the phone was told, HQ answers its next push with `seq_gap`, and the phone
//! sends again from HQ's cursor out of the outbox it keeps.

use std::path::Path;

use crate::db::{DatabaseUrl, SQLITE_DB_FILE};

/// Copy the database behind `url` to the new file `to`, consistently, while HQ may be serving.
pub fn backup(url: &DatabaseUrl, to: &Path) -> Result<(), String> {
    let DatabaseUrl::Sqlite(dir) = url else {
        return Err("on PostgreSQL, back up with pg_dump (see hq/README.md)".into());
    };
    if to.exists() {
        return Err(format!("{} exists already; choose a new file", to.display()));
    }
    let source = dir.join(SQLITE_DB_FILE);
    if !source.exists() {
        return Err(format!("no HQ database in {}", dir.display()));
    }
    let conn = rusqlite::Connection::open_with_flags(&source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let target = to.to_str().ok_or("the backup file's path must be UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(|e| format!("backup failed: {e}"))?;
    // On disk before we say so.
    std::fs::File::open(to).and_then(|f| f.sync_all()).map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(())
}

/// Put a backup in place as the database of the data folder `dir`. HQ must be stopped: the
/// current database (and its WAL) is replaced whole. The copy lands beside the database first
/// and is renamed over it, so a crash midway leaves one or the other, never a mix.
pub fn restore(from: &Path, dir: &Path) -> Result<(), String> {
    let check = rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)))
        .map_err(|e| format!("{} is not a readable HQ backup: {e}", from.display()))?;
    if check != "ok" {
        return Err(format!("{} fails its integrity check: {check}", from.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let db = dir.join(SQLITE_DB_FILE);
    let staged = dir.join(format!("{SQLITE_DB_FILE}.restoring"));
    std::fs::copy(from, &staged).map_err(|e| format!("copy to {}: {e}", staged.display()))?;
    std::fs::File::open(&staged).and_then(|f| f.sync_all()).map_err(|e| e.to_string())?;
    for side in ["-wal", "-shm"] {
        let p = dir.join(format!("{SQLITE_DB_FILE}{side}"));
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    std::fs::rename(&staged, &db).map_err(|e| format!("{}: {e}", db.display()))?;
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| e.to_string())?;
    Ok(())
}
