//! `POST /v1/wipe`: a phone ordered wiped confirms it erased its store and photos, with the
//! token HQ revoked for the wipe (accepted for this alone). `POST /v1/discarded`: a phone
//! whose unsent work HQ authorised discarding reports what it discarded when it switched to
//! another worker. Both are audited with the counts; both answer a resend as the first time.

use axum::extract::State;
use axum::Json;
use gridpatrol_protocol::validate;
use gridpatrol_protocol::wire::{DiscardRecorded, DiscardReport, UnsentCounts, WipeConfirmation, WipeConfirmed};

use crate::auth;
use crate::error::{ApiError, Result};
use crate::http::{AppState, Bearer, JsonBody};
use crate::model::audit::audit_detail;
use crate::model::wipe::detail;
use crate::{now_ms, p};

fn check_counts(field: &str, u: &UnsentCounts) -> Result<()> {
    u.check().map_err(|f| ApiError::invalid(format!("{field}.{f}"), "is out of range"))
}

pub async fn confirm(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(req): JsonBody<WipeConfirmation>,
) -> Result<Json<WipeConfirmed>> {
    check_counts("erased", &req.erased)?;
    let resp =
        s.db.write(move |tx| {
            let device = auth::device_ordered_wiped(tx, bearer.as_deref())?;
            let first = tx.exec(
                "UPDATE device SET wipe_confirmed_ms = ? WHERE device_id = ? AND wipe_confirmed_ms IS NULL",
                p![now_ms(), &device.device_id],
            )? == 1;
            if first {
                let actor = format!("device:{}", device.device_id);
                audit_detail(tx, &actor, "device.wipe_confirm", &device.device_id, &detail(&req.erased))?;
            }
            let confirmed_ms = tx
                .query_one("SELECT wipe_confirmed_ms FROM device WHERE device_id = ?", p![&device.device_id])?
                .i64(0)?;
            Ok(WipeConfirmed { device_id: device.device_id, confirmed_ms })
        })
        .await?;
    Ok(Json(resp))
}

pub async fn discarded(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(req): JsonBody<DiscardReport>,
) -> Result<Json<DiscardRecorded>> {
    check_counts("discarded", &req.discarded)?;
    validate::id("to_worker_id", &req.to_worker_id)?;
    let resp =
        s.db.write(move |tx| {
            let device = auth::device(tx, bearer.as_deref())?;
            let r = tx.query_one(
                "SELECT discard_authorised_ms, discard_used_ms FROM device WHERE device_id = ?",
                p![&device.device_id],
            )?;
            let recorded_ms = match (r.opt_i64(0)?, r.opt_i64(1)?) {
                (None, _) => return Err(ApiError::conflict("HQ authorised no discard for this device")),
                // A resend after a lost answer: the first report stands.
                (Some(_), Some(used)) => used,
                (Some(_), None) => {
                    let now = now_ms();
                    tx.exec("UPDATE device SET discard_used_ms = ? WHERE device_id = ?", p![now, &device.device_id])?;
                    let actor = format!("device:{}", device.device_id);
                    let what = format!("{} to_worker={}", detail(&req.discarded), req.to_worker_id);
                    audit_detail(tx, &actor, "device.discard_done", &device.device_id, &what)?;
                    now
                }
            };
            Ok(DiscardRecorded { device_id: device.device_id, recorded_ms })
        })
        .await?;
    Ok(Json(resp))
}
