//! Photos: read, stripped of metadata (except the capture location), downscaled and re-encoded
//! (`photo::process`), content-addressed by SHA-256 and kept **inside the store's database**
//! (table `attachment_blob`), written in the same transaction as the record that references
//! them. So a photo is encrypted with the store (SQLCipher, `key.rs`), a copied folder holds no
//! readable picture, and a crash leaves either the record with its photos or neither.
//!
//! Kinds of blob per photo: `photo` (as stored and sent to HQ), `thumb` (its thumbnail, made
//! again from the photo if missing) and `original` (the full-size original, only when the
//! template asks to keep it). Apps read them through `Store::attachment_photo`,
//! `attachment_thumbnail` and `attachment_original`, as bytes.
//!
//! Stores made before schema v8 kept photos as files in `<store>/attachments/`; `absorb_files`
//! moves them into the database at open, one photo per transaction, and removes the folder.

use std::fs;
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

/// A photo processed for the store, to be inserted with the record that references it.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    pub info: AttachmentInfo,
    pub file_name: String,
    bytes: Vec<u8>,
    thumbnail: Vec<u8>,
    /// The full-size original (file name, bytes), when the template keeps originals.
    original: Option<(String, Vec<u8>)>,
}

/// Where stores before schema v8 kept photo files (a wipe still removes the folder).
pub(crate) fn folder(store_dir: &Path) -> PathBuf {
    store_dir.join("attachments")
}

fn original_name(sha: &str, ext: &str) -> String {
    format!("{sha}.original.{ext}")
}

/// Read, process and hash every photo first (so one bad photo among several leaves nothing
/// behind), then durably copy each into the store. The error names the offending index.
pub(crate) fn stage(field: &str, paths: &[PathBuf], opts: &PhotoOptions, keep_original: bool) -> Result<Vec<Staged>> {
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
        });
    }
    Ok(out)
}

/// Reference staged photos from the current transaction (idempotent by hash): the row and
/// its blobs commit with the record.
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
        put_blob(tx, &i.sha256, Kind::Photo, &s.bytes)?;
        put_blob(tx, &i.sha256, Kind::Thumb, &s.thumbnail)?;
        if let Some((_, bytes)) = &s.original {
            put_blob(tx, &i.sha256, Kind::Original, bytes)?;
        }
    }
    Ok(staged.iter().map(|s| s.info.sha256.clone()).collect())
}

/// The kinds of blob a photo has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Photo,
    Thumb,
    Original,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Photo => "photo",
            Kind::Thumb => "thumb",
            Kind::Original => "original",
        }
    }
}

fn put_blob(tx: &rusqlite::Connection, sha: &str, kind: Kind, bytes: &[u8]) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO attachment_blob (sha256, kind, bytes) VALUES (?1, ?2, ?3)")?
        .execute(params![sha, kind.code(), bytes])?;
    Ok(())
}

fn get_blob(c: &rusqlite::Connection, sha: &str, kind: Kind) -> Result<Option<Vec<u8>>> {
    Ok(c.prepare_cached("SELECT bytes FROM attachment_blob WHERE sha256 = ?1 AND kind = ?2")?
        .query_row(params![sha, kind.code()], |r| r.get(0))
        .optional()?)
}

/// The stored photo's bytes, for the uploader.
pub(crate) fn photo_bytes(c: &rusqlite::Connection, sha: &str) -> Result<Vec<u8>> {
    get_blob(c, sha, Kind::Photo)?.ok_or_else(|| CoreError::Corrupt(format!("photo {sha} has no stored bytes")))
}

/// Move the photo files of a store made before schema v8 into the database, one photo per
/// transaction (a crash repeats at most that one; `INSERT OR IGNORE` makes it harmless), each
/// file removed only after its blob committed. Unreferenced files (a recording call that
/// failed) and temporary files are removed. Costs one `stat` when there is no folder.
pub(crate) fn absorb_files(conn: &mut rusqlite::Connection, store_dir: &Path) -> Result<()> {
    let dir = folder(store_dir);
    if !dir.is_dir() {
        return Ok(());
    }
    let rows: Vec<(String, String)> = {
        let mut stmt = conn.prepare("SELECT sha256, file_name FROM attachment")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        rows
    };
    for (sha, file_name) in rows {
        let photo = dir.join(&file_name);
        let thumb = dir.join(format!("{sha}.thumb.jpg"));
        let originals: Vec<PathBuf> =
            ["jpg", "png"].iter().map(|e| dir.join(format!("{sha}.original.{e}"))).filter(|p| p.is_file()).collect();
        if !photo.is_file() && !thumb.is_file() && originals.is_empty() {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (path, kind) in [(&photo, Kind::Photo), (&thumb, Kind::Thumb)]
            .into_iter()
            .chain(originals.iter().map(|p| (p, Kind::Original)))
        {
            if let Ok(bytes) = fs::read(path) {
                put_blob(&tx, &sha, kind, &bytes)?;
            }
        }
        tx.commit()?;
        for path in [&photo, &thumb].into_iter().chain(originals.iter()) {
            let _ = fs::remove_file(path);
        }
    }
    // What is left references nothing: files of failed calls, temporary files.
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A photo's hash as the store names it: 64 lowercase hex digits.
fn check_sha(sha256: &str) -> Result<()> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(CoreError::invalid("sha256", "must be 64 lowercase hex digits"));
    }
    Ok(())
}

impl Store {
    fn blob(&self, sha256: &str, kind: Kind) -> Result<Option<Vec<u8>>> {
        check_sha(sha256)?;
        self.read(|c| get_blob(c, sha256, kind))
    }

    /// The stored photo (what was sent, or will be sent, to HQ: JPEG or PNG), by its SHA-256 as
    /// records list it (`Report::photos`, case and task steps). `NotFound` (entity
    /// "attachment") for a hash this store does not hold; `InvalidInput` for one that is not a
    /// hash. Bytes, not a file: photos live inside the (encrypted) database.
    pub fn attachment_photo(&self, sha256: &str) -> Result<Vec<u8>> {
        self.blob(sha256, Kind::Photo)?.ok_or_else(|| CoreError::not_found("attachment", sha256))
    }

    /// The photo's thumbnail for lists: a JPEG of at most `StoreOptions::photos.
    /// thumbnail_long_edge` pixels (default 320) on its longest side, no metadata at all. Made
    /// at capture; made again here from the photo if it is missing (a photo stored before
    /// thumbnails existed). Errors as `attachment_photo`.
    pub fn attachment_thumbnail(&self, sha256: &str) -> Result<Vec<u8>> {
        if let Some(thumb) = self.blob(sha256, Kind::Thumb)? {
            return Ok(thumb);
        }
        let photo = self.attachment_photo(sha256)?;
        let thumb = photo::thumbnail(&photo, &self.opts.photos)
            .map_err(|e| CoreError::Corrupt(format!("stored photo {sha256}: {e}")))?;
        self.write_tx_lazy(|tx| put_blob(tx, sha256, Kind::Thumb, &thumb))?;
        Ok(thumb)
    }

    /// The photo's full-size original, kept only when HQ's template asks for it
    /// (`Template::keep_original_photos`) and the stored photo was downscaled. `NotFound`
    /// (entity "original photo") when none was kept.
    pub fn attachment_original(&self, sha256: &str) -> Result<Vec<u8>> {
        self.attachment_photo(sha256)?;
        self.blob(sha256, Kind::Original)?.ok_or_else(|| CoreError::not_found("original photo", sha256))
    }
}
