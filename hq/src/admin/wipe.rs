//! Lost and handed-back phones (docs/SYNC.md, "Wiping a phone", "Handing a phone back"): the
//! street office orders a device revoked and wiped, or authorises discarding its unsent work at
//! the next switch of worker. Authorised like revoking (the device's worker in the operator's
//! scope), audited with the unsent counts the phone reported at its last contact.

use axum::extract::State;
use axum::Json;
use gridpatrol_protocol::validate;
use gridpatrol_protocol::wire::UnsentCounts;
use serde::Serialize;

use super::{audit, local_time};
use crate::auth;
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{ApiPath, AppState, Bearer};
use crate::model::audit::audit_detail;
use crate::model::wipe::{detail, last_unsent};
use crate::{now_ms, p};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WipeOrdered {
    pub device_id: String,
    pub revoked_at: String,
    pub wipe_ordered_at: String,
    /// Set once the phone has confirmed (an order given again after that changes nothing).
    pub wipe_confirmed_at: Option<String>,
    /// What the phone said was unsent at its last contact: what the wipe will erase unsent
    /// (more if it recorded since). Absent when the phone never reported counts.
    pub unsent_at_last_contact: Option<UnsentCounts>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiscardAuthorised {
    pub device_id: String,
    pub discard_authorised_at: String,
    pub unsent_at_last_contact: Option<UnsentCounts>,
}

/// The device's worker, after checking the operator may act on it.
fn device_in_scope(tx: &mut dyn Tx, op: &auth::Operator, device_id: &str) -> Result<()> {
    let worker = tx
        .query_opt("SELECT worker_id FROM device WHERE device_id = ?", p![device_id])?
        .ok_or_else(|| ApiError::not_found("device"))?
        .text(0)?;
    op.require_worker(tx, &worker)
}

fn counts_detail(u: Option<&UnsentCounts>) -> String {
    u.map(detail).unwrap_or_else(|| "unsent not reported".into())
}

/// A lost phone: revoke its token and order it wiped. At its next contact (any request) the
/// phone erases its store and photos and confirms (`POST /v1/wipe`). Ordering again changes
/// nothing. Audited: the revoke (when the device was not revoked yet) and the wipe order, with
/// the unsent counts of the last contact.
pub async fn order_wipe(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(device_id): ApiPath<String>,
) -> Result<Json<WipeOrdered>> {
    validate::id("device_id", &device_id)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            device_in_scope(tx, &op, &device_id)?;
            let now = now_ms();
            let before =
                tx.query_one("SELECT revoked_ms, wipe_ordered_ms FROM device WHERE device_id = ?", p![&device_id])?;
            let unsent = last_unsent(tx, &device_id)?;
            if before.opt_i64(0)?.is_none() {
                audit(tx, &op.id, "device.revoke", &device_id)?;
            }
            if before.opt_i64(1)?.is_none() {
                audit_detail(tx, &op.id, "device.wipe_order", &device_id, &counts_detail(unsent.as_ref()))?;
            }
            let r = tx.query_one(
                "UPDATE device SET revoked_ms = COALESCE(revoked_ms, ?), wipe_ordered_ms = COALESCE(wipe_ordered_ms, ?)
                 WHERE device_id = ? RETURNING revoked_ms, wipe_ordered_ms, wipe_confirmed_ms",
                p![now, now, &device_id],
            )?;
            Ok(WipeOrdered {
                device_id,
                revoked_at: local_time(r.i64(0)?),
                wipe_ordered_at: local_time(r.i64(1)?),
                wipe_confirmed_at: r.opt_i64(2)?.map(local_time),
                unsent_at_last_contact: unsent,
            })
        })
        .await?,
    ))
}

/// A phone handed back: its unsent work may be discarded when the store is switched to
/// another worker. The phone learns it at its next pull; the authorisation covers one switch
/// (the phone's report, `POST /v1/discarded`, uses it up). Refused (409) for a revoked device.
/// Audited with the unsent counts of the last contact.
pub async fn authorise_discard(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(device_id): ApiPath<String>,
) -> Result<Json<DiscardAuthorised>> {
    validate::id("device_id", &device_id)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            device_in_scope(tx, &op, &device_id)?;
            let revoked = tx
                .query_one("SELECT revoked_ms FROM device WHERE device_id = ?", p![&device_id])?
                .opt_i64(0)?
                .is_some();
            if revoked {
                return Err(ApiError::conflict("this device is revoked; nothing can reach it"));
            }
            let now = now_ms();
            let unsent = last_unsent(tx, &device_id)?;
            tx.exec(
                "UPDATE device SET discard_authorised_ms = ?, discard_used_ms = NULL WHERE device_id = ?",
                p![now, &device_id],
            )?;
            audit_detail(tx, &op.id, "device.discard_authorise", &device_id, &counts_detail(unsent.as_ref()))?;
            Ok(DiscardAuthorised { device_id, discard_authorised_at: local_time(now), unsent_at_last_contact: unsent })
        })
        .await?,
    ))
}
