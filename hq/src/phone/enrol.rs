//! `POST /v1/enrol`: a one-time enrolment code becomes a device token. Wrong, expired and
//! used codes get one and the same answer. `POST /v1/fork`: a copy of a store takes an
//! identity of its own.
//!
//! Device identity belongs to HQ (docs/SYNC.md, "identity rule"): every enrolment gets a
//! fresh epoch, never the one the phone asks for; a device id already enrolled for another
//! worker, or by another installation, is never handed over — the new installation gets a new
//! device id, and the existing device keeps its token and cursor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gridpatrol_protocol::validate;
use gridpatrol_protocol::wire::{codes, EnrolRequest, EnrolResponse, ForkRequest, ForkResponse};

use crate::auth::{self, DEVICE_TOKEN_PREFIX};
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{AppState, Bearer, JsonBody};
use crate::model::audit::audit;
use crate::{new_id, now_ms, p, reference};

fn code_invalid() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::ENROLMENT_CODE_INVALID,
        "this enrolment code is not valid (wrong, expired or already used); ask the street office for a new one",
    )
}

pub async fn enrol(State(s): State<AppState>, JsonBody(req): JsonBody<EnrolRequest>) -> Result<Json<EnrolResponse>> {
    validate::id("device_id", &req.device_id)?;
    if req.epoch < 0 {
        return Err(ApiError::invalid("epoch", "must be 0 or more (it is ignored: HQ assigns the epoch)"));
    }
    let installation = match &req.installation_id {
        Some(i) => Some(installation_hash(i)?),
        None => None,
    };
    let app_version = validate::optional_text("app_version", Some(&req.app_version), 50)?.unwrap_or_default();
    let code = auth::normalize_code(&req.code);
    if code.is_empty() || code.len() > 64 {
        return Err(code_invalid());
    }
    let resp =
        s.db.write(move |tx| {
            let now = now_ms();
            let code_hash = auth::sha256_hex(&code);
            // One statement claims the code: two phones racing with one code cannot both win.
            let claimed = tx.exec(
                "UPDATE enrolment_code SET used_ms = ?, used_by_device = ?
                 WHERE code_hash = ? AND used_ms IS NULL AND expires_ms > ?",
                p![now, &req.device_id, &code_hash, now],
            )?;
            if claimed != 1 {
                return Err(code_invalid());
            }
            let worker_id =
                tx.query_one("SELECT worker_id FROM enrolment_code WHERE code_hash = ?", p![&code_hash])?.text(0)?;
            // The device this installation was before (a phone handed back): did HQ authorise
            // discarding its unsent work? Asked before `identity_for`, which may name a new id.
            let discard_authorised = match tx.query_opt(
                "SELECT installation_hash, discard_authorised_ms, discard_used_ms FROM device WHERE device_id = ?",
                p![&req.device_id],
            )? {
                Some(r) => {
                    installation.is_some()
                        && r.opt_text(0)?.as_deref() == installation.as_deref()
                        && r.opt_i64(1)?.is_some()
                        && r.opt_i64(2)?.is_none()
                }
                None => false,
            };
            let device_id = identity_for(tx, &req.device_id, &worker_id, installation.as_deref())?;
            let epoch = next_epoch(tx, &device_id)?;
            let token = auth::new_token(DEVICE_TOKEN_PREFIX);
            // The same installation re-enrolling (reinstall of its token, a revoke undone): new
            // token and epoch, the old token dead. Any other case is a new device row.
            tx.exec(
                "INSERT INTO device (device_id, worker_id, epoch, token_hash, app_version, enrolled_ms, installation_hash)
                 VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (device_id) DO UPDATE SET worker_id = excluded.worker_id, epoch = excluded.epoch,
                     token_hash = excluded.token_hash, app_version = excluded.app_version,
                     enrolled_ms = excluded.enrolled_ms, revoked_ms = NULL",
                p![&device_id, &worker_id, epoch, auth::sha256_hex(&token), app_version, now, installation],
            )?;
            audit(tx, &format!("device:{device_id}"), "enrol", &worker_id)?;
            let (reference, reference_version) = reference::snapshot(tx, &worker_id)?;
            Ok(EnrolResponse {
                device_token: token,
                device_id: Some(device_id),
                epoch,
                worker_id,
                server_time_ms: now,
                reference,
                reference_version,
                discard_authorised,
            })
        })
        .await?;
    Ok(Json(resp))
}

/// The device id an enrolment gets: the one asked for when HQ does not know it, or when it is
/// this very installation's (same worker, same installation hash); otherwise a new one.
fn identity_for(tx: &mut dyn Tx, asked: &str, worker_id: &str, installation: Option<&str>) -> Result<String> {
    let Some(row) = tx.query_opt(
        "SELECT worker_id, installation_hash, wipe_ordered_ms, wipe_confirmed_ms FROM device WHERE device_id = ?",
        p![asked],
    )?
    else {
        // Never enrolled, but a copy may have pushed under it (a forked history): its epochs
        // are skipped by `next_epoch`, so nothing is confused.
        return Ok(asked.to_string());
    };
    let same_installation = installation.is_some() && row.opt_text(1)?.as_deref() == installation;
    // A phone ordered wiped that tries to enrol (for any worker) is told to wipe first; its
    // code stays unused (the transaction is undone). Once it confirmed, the installation (an
    // app reinstalled where its installation id survived) starts over under a new device id.
    if row.opt_i64(2)?.is_some() {
        if row.opt_i64(3)?.is_some() {
            return Ok(new_id());
        }
        if same_installation {
            return Err(auth::wipe_ordered());
        }
    }
    if row.text(0)? == worker_id && same_installation {
        Ok(asked.to_string())
    } else {
        Ok(new_id())
    }
}

/// One more than every epoch HQ has seen for the device id (1 for a new one), so a reused seq
/// is never taken for a duplicate.
fn next_epoch(tx: &mut dyn Tx, device_id: &str) -> Result<i64> {
    let mut seen = 0;
    for r in tx.query("SELECT epoch FROM device WHERE device_id = ?", p![device_id])? {
        seen = seen.max(r.i64(0)?);
    }
    for r in tx.query("SELECT epoch FROM push_cursor WHERE device_id = ?", p![device_id])? {
        seen = seen.max(r.i64(0)?);
    }
    Ok(seen + 1)
}

/// An installation id as HQ keeps it: checked, then hashed (it is a credential's companion).
fn installation_hash(id: &str) -> Result<String> {
    validate::check_id("installation_id", id)?;
    if id.len() < 16 {
        return Err(ApiError::invalid("installation_id", "must be 16..64 characters"));
    }
    Ok(auth::sha256_hex(id))
}

/// `POST /v1/fork`: the caller's store is a copy of another installation's (noticed at open,
/// or answered `history_forked`). It gets a new device id, token and epoch; the device it was
/// copied from keeps its own, untouched, for the other copy.
pub async fn fork(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(req): JsonBody<ForkRequest>,
) -> Result<Json<ForkResponse>> {
    let installation = installation_hash(&req.installation_id)?;
    let resp =
        s.db.write(move |tx| {
            let now = now_ms();
            let from = auth::device(tx, bearer.as_deref())?;
            let device_id = new_id();
            let token = auth::new_token(DEVICE_TOKEN_PREFIX);
            let app_version =
                tx.query_one("SELECT app_version FROM device WHERE device_id = ?", p![&from.device_id])?.text(0)?;
            tx.exec(
                "INSERT INTO device (device_id, worker_id, epoch, token_hash, app_version, enrolled_ms,
                                     installation_hash, forked_from)
                 VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
                p![
                    &device_id,
                    &from.worker_id,
                    auth::sha256_hex(&token),
                    app_version,
                    now,
                    installation,
                    &from.device_id
                ],
            )?;
            audit(tx, &format!("device:{device_id}"), "fork", &format!("device:{}", from.device_id))?;
            Ok(ForkResponse { device_id, device_token: token, epoch: 1, server_time_ms: now })
        })
        .await?;
    Ok(Json(resp))
}
