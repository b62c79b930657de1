//! `POST /v1/enrol`: a one-time enrolment code becomes a device token. Wrong, expired and
//! used codes get one and the same answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gridpatrol_protocol::validate;
use gridpatrol_protocol::wire::{codes, EnrolRequest, EnrolResponse};

use crate::auth::{self, DEVICE_TOKEN_PREFIX};
use crate::error::{ApiError, Result};
use crate::http::{AppState, JsonBody};
use crate::{now_ms, p, reference};

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
        return Err(ApiError::invalid("epoch", "must be 0 (a new store) or the store's epoch"));
    }
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
            let epoch = assign_epoch(tx, &req.device_id, req.epoch)?;
            let token = auth::new_token(DEVICE_TOKEN_PREFIX);
            // A known device id re-enrols (reinstall, new epoch): new token, old one dead.
            tx.exec(
                "INSERT INTO device (device_id, worker_id, epoch, token_hash, app_version, enrolled_ms)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (device_id) DO UPDATE SET worker_id = excluded.worker_id, epoch = excluded.epoch,
                     token_hash = excluded.token_hash, app_version = excluded.app_version,
                     enrolled_ms = excluded.enrolled_ms, revoked_ms = NULL",
                p![&req.device_id, &worker_id, epoch, auth::sha256_hex(&token), app_version, now],
            )?;
            crate::admin::audit(tx, &format!("device:{}", req.device_id), "enrol", &worker_id)?;
            let (reference, reference_version) = reference::snapshot(tx, &worker_id)?;
            Ok(EnrolResponse {
                device_token: token,
                epoch,
                worker_id,
                server_time_ms: now,
                reference,
                reference_version,
            })
        })
        .await?;
    Ok(Json(resp))
}

/// The store's own epoch when HQ knows it for this device (the same store re-enrolling, e.g.
/// after a revoke); otherwise a fresh one above every epoch seen, so a reinstalled phone's
/// sequence numbers starting again at 1 are never taken for duplicates.
fn assign_epoch(tx: &mut dyn crate::db::Tx, device_id: &str, asked: i64) -> Result<i64> {
    let mut seen = Vec::new();
    for r in tx.query("SELECT epoch FROM device WHERE device_id = ?", p![device_id])? {
        seen.push(r.i64(0)?);
    }
    for r in tx.query("SELECT epoch FROM push_cursor WHERE device_id = ?", p![device_id])? {
        seen.push(r.i64(0)?);
    }
    if asked > 0 && seen.contains(&asked) {
        return Ok(asked);
    }
    Ok(seen.into_iter().max().unwrap_or(0) + 1)
}
