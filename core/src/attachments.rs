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
use crate::{CoreError, Result};

/// Photos larger than this are refused with a clear error rather than silently dropped.
pub const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;
pub const MAX_PHOTOS_PER_RECORD: usize = 9;

/// A photo copied into the store, not yet referenced by a committed row.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    pub info: AttachmentInfo,
    pub file_name: String,
}

pub(crate) fn folder(store_dir: &Path) -> PathBuf {
    store_dir.join("attachments")
}

/// Read, sanitise, hash and durably copy each photo. Fails on the first bad one with the
/// index of the offending photo in the field name.
pub(crate) fn stage(store_dir: &Path, field: &str, paths: &[PathBuf]) -> Result<Vec<Staged>> {
    if paths.len() > MAX_PHOTOS_PER_RECORD {
        return Err(CoreError::invalid(field, format!("at most {MAX_PHOTOS_PER_RECORD} photos per record")));
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
        let file_name = format!("{sha}.{}", clean.kind.extension());
        write_durably(&folder(store_dir), &file_name, &clean.bytes)?;
        out.push(Staged {
            info: AttachmentInfo {
                sha256: sha,
                mime: clean.kind.mime().to_string(),
                bytes: clean.bytes.len() as u64,
                location: clean.gps.map(|g| GeoPoint { lat: g.lat, lng: g.lng }),
            },
            file_name,
        });
    }
    Ok(out)
}

/// Write to a temporary name, fsync, rename, fsync the folder: the file is complete or absent.
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir)?;
    let target = dir.join(name);
    if target.exists() {
        return Ok(()); // content-addressed: same name, same bytes
    }
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &target)?;
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Reference staged photos from the current transaction (idempotent by hash).
pub(crate) fn insert(tx: &Transaction<'_>, staged: &[Staged], now_ms: i64) -> Result<Vec<String>> {
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
