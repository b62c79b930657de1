//! Photos: content-addressed, uploaded in chunks (`Content-Range: bytes start-end/total`)
//! that are stored in the database, so any HQ instance can take the next chunk. Resumable
//! (GET says how much arrived), idempotent by hash, verified when complete: a mismatch
//! discards everything received and answers 422 `checksum_mismatch`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use gridpatrol_protocol::rules;
use gridpatrol_protocol::wire::{codes, AttachmentStatus, MAX_CHUNK_BYTES};
use sha2::{Digest, Sha256};

use crate::auth;
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{payload_too_large, ApiPath, AppState, Bearer, RawBody};
use crate::{now_ms, p};

/// Largest photo HQ accepts (the phone's sanitizer produces far smaller ones).
pub const MAX_ATTACHMENT_BYTES: u64 = 32 * 1024 * 1024;

fn checked_hash(sha: &str) -> Result<String> {
    rules::sha256("sha256", sha)?;
    Ok(sha.to_string())
}

/// `bytes start-end/total`, inclusive end.
fn content_range(headers: &HeaderMap) -> Result<(u64, u64, u64)> {
    let bad = || ApiError::invalid("content-range", "expected `bytes start-end/total`");
    let v = headers.get(header::CONTENT_RANGE).ok_or_else(bad)?.to_str().map_err(|_| bad())?;
    let rest = v.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = rest.split_once('/').ok_or_else(bad)?;
    let (start, end) = range.split_once('-').ok_or_else(bad)?;
    let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    let (start, end, total) = (parse(start)?, parse(end)?, parse(total)?);
    if end < start || end >= total {
        return Err(bad());
    }
    Ok((start, end, total))
}

enum Put {
    Status(AttachmentStatus),
    Mismatch,
}

pub async fn put_chunk(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(sha): ApiPath<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<AttachmentStatus>> {
    let sha = checked_hash(&sha)?;
    let (start, end, total) = content_range(&headers)?;
    if body.len() > MAX_CHUNK_BYTES {
        return Err(payload_too_large());
    }
    if total > MAX_ATTACHMENT_BYTES {
        return Err(payload_too_large());
    }
    if body.len() as u64 != end - start + 1 {
        return Err(ApiError::invalid("content-range", "the body length does not match the range"));
    }
    let out = s.db.write(move |tx| put_tx(tx, bearer.as_deref(), &sha, start, total, &body)).await?;
    match out {
        Put::Status(st) => Ok(Json(st)),
        Put::Mismatch => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::CHECKSUM_MISMATCH,
            "the uploaded bytes do not hash to this SHA-256; everything received was discarded, upload again",
        )),
    }
}

fn put_tx(tx: &mut dyn Tx, bearer: Option<&str>, sha: &str, start: u64, total: u64, body: &[u8]) -> Result<Put> {
    let device = auth::device(tx, bearer)?;
    let now = now_ms();
    tx.exec(
        "INSERT INTO attachment (sha256, total_bytes, received_bytes, complete, device_id, created_ms)
         VALUES (?, ?, 0, 0, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        p![sha, total, &device.device_id, now],
    )?;
    let r = tx.query_one(
        "SELECT total_bytes, received_bytes, complete FROM attachment WHERE sha256 = ? FOR UPDATE",
        p![sha],
    )?;
    let (have_total, received, complete) = (r.i64(0)? as u64, r.i64(1)? as u64, r.bool(2)?);
    let status = |received: u64, complete: bool| AttachmentStatus {
        sha256: sha.to_string(),
        received_bytes: received,
        complete,
    };
    if complete {
        // Idempotent by hash: the same photo from any phone, any number of times.
        return Ok(Put::Status(status(have_total, true)));
    }
    if have_total != total {
        return Err(ApiError::conflict(format!(
            "an upload of this photo with {have_total} bytes is in progress; the total must match"
        )));
    }
    let end = start + body.len() as u64;
    if end <= received {
        // A chunk resent after a lost response: already here.
        return Ok(Put::Status(status(received, false)));
    }
    if start != received {
        let mut e = ApiError::conflict(format!("resume from byte {received}"));
        e.field = Some("content-range".into());
        return Err(e);
    }
    tx.exec("INSERT INTO attachment_chunk (sha256, start_byte, data) VALUES (?, ?, ?)", p![sha, start, body])?;
    if end < total {
        tx.exec("UPDATE attachment SET received_bytes = ? WHERE sha256 = ?", p![end, sha])?;
        return Ok(Put::Status(status(end, false)));
    }
    let mut h = Sha256::new();
    for r in tx.query("SELECT data FROM attachment_chunk WHERE sha256 = ? ORDER BY start_byte", p![sha])? {
        h.update(r.bytes(0)?);
    }
    if hex::encode(h.finalize()) != sha {
        // Committed (the handler answers 422 after the commit): a fresh upload starts clean.
        tx.exec("DELETE FROM attachment_chunk WHERE sha256 = ?", p![sha])?;
        tx.exec("DELETE FROM attachment WHERE sha256 = ?", p![sha])?;
        return Ok(Put::Mismatch);
    }
    tx.exec(
        "UPDATE attachment SET received_bytes = ?, complete = 1, completed_ms = ? WHERE sha256 = ?",
        p![total, now, sha],
    )?;
    Ok(Put::Status(status(total, true)))
}

pub async fn status(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(sha): ApiPath<String>,
) -> Result<Json<AttachmentStatus>> {
    let sha = checked_hash(&sha)?;
    let st =
        s.db.read(move |tx| {
            auth::device(tx, bearer.as_deref())?;
            let r = tx.query_opt("SELECT received_bytes, complete FROM attachment WHERE sha256 = ?", p![&sha])?;
            Ok(match r {
                Some(r) => AttachmentStatus { sha256: sha, received_bytes: r.i64(0)? as u64, complete: r.bool(1)? },
                None => AttachmentStatus { sha256: sha, received_bytes: 0, complete: false },
            })
        })
        .await?;
    Ok(Json(st))
}
