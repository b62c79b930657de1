//! Photos: read, stripped of metadata (except the capture location), content-addressed by
//! SHA-256 and copied into the store's folder before the database row that references them
//! commits. A crash in between leaves at worst an unreferenced file, never a dangling row.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{params, Transaction};
use sha2::{Digest, Sha256};

use crate::domain::GeoPoint;
use crate::photo;
use crate::records::AttachmentInfo;
use gridpatrol_protocol::rules::MAX_PHOTOS;

use crate::{CoreError, Result};

/// Photos larger than this are refused with a clear error rather than silently dropped.
pub const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;

/// A photo copied into the store, not yet referenced by a committed row. The clean bytes are
/// kept until the row commits so the file can be re-written if a failed call removed it.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    pub info: AttachmentInfo,
    pub file_name: String,
    bytes: Vec<u8>,
    /// This call created the file (it was not already in the store).
    created: bool,
}

pub(crate) fn folder(store_dir: &Path) -> PathBuf {
    store_dir.join("attachments")
}

/// Read, sanitise and hash every photo first (so one bad photo among several leaves nothing
/// behind), then durably copy each into the store. The error names the offending index.
pub(crate) fn stage(store_dir: &Path, field: &str, paths: &[PathBuf]) -> Result<Vec<Staged>> {
    if paths.len() > MAX_PHOTOS {
        return Err(CoreError::invalid(field, format!("at most {MAX_PHOTOS} photos per record")));
    }
    let mut out = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let meta = fs::metadata(p).map_err(|_| CoreError::invalid(&f, "file cannot be read"))?;
        if !meta.is_file() {
            return Err(CoreError::invalid(&f, "is not a file"));
        }
        if meta.len() > MAX_PHOTO_BYTES {
            return Err(CoreError::invalid(&f, format!("is {} bytes; at most {MAX_PHOTO_BYTES} allowed", meta.len())));
        }
        let raw = fs::read(p).map_err(|_| CoreError::invalid(&f, "file cannot be read"))?;
        let clean = photo::sanitize(&raw).map_err(|e| CoreError::invalid(&f, e.to_string()))?;
        let sha = hex::encode(Sha256::digest(&clean.bytes));
        out.push(Staged {
            info: AttachmentInfo {
                sha256: sha.clone(),
                mime: clean.kind.mime().to_string(),
                bytes: clean.bytes.len() as u64,
                location: clean.gps.map(|g| GeoPoint { lat: g.lat, lng: g.lng }),
            },
            file_name: format!("{sha}.{}", clean.kind.extension()),
            bytes: clean.bytes,
            created: false,
        });
    }
    let dir = folder(store_dir);
    for s in &mut out {
        s.created = write_durably(&dir, &s.file_name, &s.bytes)?;
    }
    Ok(out)
}

/// After a failed recording call: remove the files this call created that no committed row
/// references. Runs under the writer lock, as does `insert`, so it cannot race a commit.
pub(crate) fn discard_unreferenced(conn: &rusqlite::Connection, store_dir: &Path, staged: &[Staged]) {
    for s in staged.iter().filter(|s| s.created) {
        let referenced: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM attachment WHERE sha256 = ?1)", [&s.info.sha256], |r| r.get(0))
            .unwrap_or(true);
        if !referenced {
            let _ = fs::remove_file(folder(store_dir).join(&s.file_name));
        }
    }
}

/// Write to a temporary name, fsync, rename, fsync the folder: the file is complete or absent.
/// Returns whether the file was created (false: already there).
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<bool> {
    fs::create_dir_all(dir)?;
    let target = dir.join(name);
    if target.exists() {
        return Ok(false); // content-addressed: same name, same bytes
    }
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &target)?;
    fs::File::open(dir)?.sync_all()?;
    Ok(true)
}

/// Reference staged photos from the current transaction (idempotent by hash).
pub(crate) fn insert(tx: &Transaction<'_>, store_dir: &Path, staged: &[Staged], now_ms: i64) -> Result<Vec<String>> {
    // A concurrent failed call may have discarded a file this call found already present.
    for s in staged {
        write_durably(&folder(store_dir), &s.file_name, &s.bytes)?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO attachment (sha256, mime, bytes, file_name, added_ms, upload_state, lat, lng)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
    )?;
    for s in staged {
        let i = &s.info;
        stmt.execute(params![
            i.sha256,
            i.mime,
            i.bytes as i64,
            s.file_name,
            now_ms,
            i.location.map(|l| l.lat),
            i.location.map(|l| l.lng)
        ])?;
    }
    Ok(staged.iter().map(|s| s.info.sha256.clone()).collect())
}
