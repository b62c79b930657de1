//! Photos: read, stripped of metadata (except the capture location), downscaled and re-encoded
//! (`photo::process`), content-addressed by SHA-256 and copied into the store's folder before
//! the database row that references them commits. A crash in between leaves at worst an
//! unreferenced file, never a dangling row.
//!
//! Files, all in `<store>/attachments/`: `<sha>.<ext>` the photo as stored and sent to HQ,
//! `<sha>.thumb.jpg` its thumbnail (made again from the photo if it is missing), and
//! `<sha>.original.<ext>` the full-size original when the template asks to keep it. Apps find
//! them through `Store::attachment_file`, `attachment_thumbnail` and `attachment_original`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

use crate::domain::GeoPoint;
use crate::photo;
use crate::records::AttachmentInfo;
use gridpatrol_protocol::rules::MAX_PHOTOS;

use crate::photo::PhotoOptions;
use crate::store::Store;
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
    thumbnail: Vec<u8>,
    /// The full-size original (file name, bytes), when the template keeps originals.
    original: Option<(String, Vec<u8>)>,
    /// This call created the file (it was not already in the store).
    created: bool,
}

pub(crate) fn folder(store_dir: &Path) -> PathBuf {
    store_dir.join("attachments")
}

fn thumbnail_name(sha: &str) -> String {
    format!("{sha}.thumb.jpg")
}

fn original_name(sha: &str, ext: &str) -> String {
    format!("{sha}.original.{ext}")
}

/// Read, process and hash every photo first (so one bad photo among several leaves nothing
/// behind), then durably copy each into the store. The error names the offending index.
pub(crate) fn stage(
    store_dir: &Path,
    field: &str,
    paths: &[PathBuf],
    opts: &PhotoOptions,
    keep_original: bool,
) -> Result<Vec<Staged>> {
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
        let processed = photo::process(&raw, opts, keep_original)
            .map_err(|error| CoreError::PhotoRefused { field: f.clone(), error })?;
        let clean = processed.stored;
        let sha = hex::encode(Sha256::digest(&clean.bytes));
        let original = processed.original.map(|o| (original_name(&sha, o.kind.extension()), o.bytes));
        out.push(Staged {
            info: AttachmentInfo {
                sha256: sha.clone(),
                mime: clean.kind.mime().to_string(),
                bytes: clean.bytes.len() as u64,
                location: clean.gps.map(|g| GeoPoint { lat: g.lat, lng: g.lng }),
            },
            file_name: format!("{sha}.{}", clean.kind.extension()),
            bytes: clean.bytes,
            thumbnail: processed.thumbnail,
            original,
            created: false,
        });
    }
    let dir = folder(store_dir);
    for s in &mut out {
        s.created = write_durably(&dir, &s.file_name, &s.bytes)?;
        write_companions(&dir, s)?;
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
            let dir = folder(store_dir);
            let _ = fs::remove_file(dir.join(&s.file_name));
            let _ = fs::remove_file(dir.join(thumbnail_name(&s.info.sha256)));
            if let Some((name, _)) = &s.original {
                let _ = fs::remove_file(dir.join(name));
            }
        }
    }
}

/// The thumbnail and the kept original beside the photo (their names follow from its hash).
fn write_companions(dir: &Path, s: &Staged) -> Result<()> {
    write_durably(dir, &thumbnail_name(&s.info.sha256), &s.thumbnail)?;
    if let Some((name, bytes)) = &s.original {
        write_durably(dir, name, bytes)?;
    }
    Ok(())
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
        write_companions(&folder(store_dir), s)?;
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

/// A photo's hash as the store names it: 64 lowercase hex digits.
fn check_sha(sha256: &str) -> Result<()> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(CoreError::invalid("sha256", "must be 64 lowercase hex digits"));
    }
    Ok(())
}

impl Store {
    /// The stored photo's file (what was sent, or will be sent, to HQ), by its SHA-256 as
    /// records list it (`Report::photos`, case and task steps). `NotFound` (entity
    /// "attachment") for a hash this store does not hold; `InvalidInput` for one that is not
    /// a hash. The path stays valid while the store exists (files are content-addressed).
    pub fn attachment_file(&self, sha256: &str) -> Result<PathBuf> {
        check_sha(sha256)?;
        let name: Option<String> = self.read(|c| {
            Ok(c.query_row("SELECT file_name FROM attachment WHERE sha256 = ?1", [sha256], |r| r.get(0)).optional()?)
        })?;
        let name = name.ok_or_else(|| CoreError::not_found("attachment", sha256))?;
        let path = folder(self.dir()).join(name);
        if !path.is_file() {
            return Err(CoreError::not_found("attachment", sha256));
        }
        Ok(path)
    }

    /// The photo's thumbnail for lists: a JPEG of at most `StoreOptions::photos.
    /// thumbnail_long_edge` pixels (default 320) on its longest side, no metadata at all. Made
    /// at capture; made again here from the photo if it is missing (a photo stored before
    /// thumbnails existed, or a crash between the two files). Errors as `attachment_file`.
    pub fn attachment_thumbnail(&self, sha256: &str) -> Result<PathBuf> {
        let photo = self.attachment_file(sha256)?;
        let dir = folder(self.dir());
        let path = dir.join(thumbnail_name(sha256));
        if !path.is_file() {
            let bytes = fs::read(&photo)?;
            let thumb = photo::thumbnail(&bytes, &self.opts.photos)
                .map_err(|e| CoreError::Corrupt(format!("stored photo {sha256}: {e}")))?;
            write_durably(&dir, &thumbnail_name(sha256), &thumb)?;
        }
        Ok(path)
    }

    /// The photo's full-size original, kept only when HQ's template asks for it
    /// (`Template::keep_original_photos`) and the stored photo was downscaled. `NotFound`
    /// (entity "original photo") when none was kept.
    pub fn attachment_original(&self, sha256: &str) -> Result<PathBuf> {
        let photo = self.attachment_file(sha256)?;
        let ext = photo.extension().and_then(|e| e.to_str()).unwrap_or("jpg");
        for ext in [ext, "jpg", "png"] {
            let path = folder(self.dir()).join(original_name(sha256, ext));
            if path.is_file() {
                return Ok(path);
            }
        }
        Err(CoreError::not_found("original photo", sha256))
    }
}
