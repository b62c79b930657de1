//! `POST /v1/push`: a batch of outbox rows, settled in ONE transaction together with the
//! per-(device, epoch) cursor. seq ≤ cursor is a duplicate (a resend after a lost response);
//! a gap before the first new op is a 409 with the seq HQ expects, and nothing is applied;
//! every new op is applied, rejected with a reason, or recorded as a conflict, and all three
//! advance the cursor, so one bad record never wedges the queue.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gridpatrol_protocol::validate;
use gridpatrol_protocol::wire::{codes, OpResult, OpStatus, PushRequest, PushResponse, MAX_PUSH_OPS};

use super::apply::{self, Ctx, Outcome};
use crate::auth;
use crate::changes::Changes;
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{AppState, Bearer, JsonBody};
use crate::{now_ms, p};

pub async fn push(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(req): JsonBody<PushRequest>,
) -> Result<Json<PushResponse>> {
    check_shape(&req)?;
    let resp = s.db.write(move |tx| push_tx(tx, bearer.as_deref(), &req)).await?;
    Ok(Json(resp))
}

/// What can be refused before touching the database.
fn check_shape(req: &PushRequest) -> Result<()> {
    validate::id("device_id", &req.device_id)?;
    if req.epoch < 1 {
        return Err(ApiError::invalid("epoch", "must be 1 or more"));
    }
    if req.ops.len() > MAX_PUSH_OPS {
        return Err(ApiError::invalid("ops", format!("at most {MAX_PUSH_OPS} operations per push")));
    }
    for (i, op) in req.ops.iter().enumerate() {
        if op.seq < 1 {
            return Err(ApiError::invalid(format!("ops[{i}].seq"), "must be 1 or more"));
        }
        if i > 0 && op.seq != req.ops[i - 1].seq + 1 {
            return Err(ApiError::invalid(
                format!("ops[{i}].seq"),
                "operations must be consecutive, in sequence order",
            ));
        }
        validate::id(&format!("ops[{i}].mutation_id"), &op.mutation_id)?;
        if op.hlc.len() > 64 {
            return Err(ApiError::invalid(format!("ops[{i}].hlc"), "at most 64 characters"));
        }
    }
    Ok(())
}

fn push_tx(tx: &mut dyn Tx, bearer: Option<&str>, req: &PushRequest) -> Result<PushResponse> {
    let device = auth::device(tx, bearer)?;
    if device.device_id != req.device_id {
        return Err(ApiError::forbidden("this token belongs to another device"));
    }
    if device.epoch != req.epoch {
        return Err(ApiError::conflict(format!(
            "this device enrolled in epoch {}; push in that epoch (or enrol again)",
            device.epoch
        )));
    }
    let now = now_ms();
    tx.exec(
        "INSERT INTO push_cursor (device_id, epoch, last_seq, updated_ms) VALUES (?, ?, 0, ?)
         ON CONFLICT (device_id, epoch) DO NOTHING",
        p![&req.device_id, req.epoch, now],
    )?;
    // The row lock serialises pushes of one device across HQ instances.
    let last = tx.query_i64(
        "SELECT last_seq FROM push_cursor WHERE device_id = ? AND epoch = ? FOR UPDATE",
        p![&req.device_id, req.epoch],
    )?;
    if let Some(first_new) = req.ops.iter().find(|o| o.seq > last) {
        if first_new.seq != last + 1 {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                codes::SEQ_GAP,
                format!("operations are missing before seq {}; resend from seq {}", first_new.seq, last + 1),
            );
            e.expected_seq = Some(last + 1);
            return Err(e);
        }
    }
    let skew = req.device_time_ms.saturating_sub(now);
    tx.exec(
        "UPDATE device SET last_seen_ms = ?, clock_skew_ms = ?, skew_at_ms = ? WHERE device_id = ?",
        p![now, skew, now, &req.device_id],
    )?;
    let grids: HashSet<String> = auth::worker_grids(tx, &device.worker_id)?.into_iter().collect();
    let mut changes = Changes::default();
    let mut results = Vec::with_capacity(req.ops.len());
    let mut cursor = last;
    for op in &req.ops {
        if op.seq <= last {
            results.push(OpResult { seq: op.seq, status: OpStatus::Duplicate, code: None, reason: None });
            continue;
        }
        cursor = op.seq;
        let seen = tx.query_opt("SELECT 1 FROM mutation WHERE mutation_id = ?", p![&op.mutation_id])?.is_some();
        if seen {
            // Same mutation under another seq (e.g. restored outbox in a new epoch): not twice.
            results.push(OpResult { seq: op.seq, status: OpStatus::Duplicate, code: None, reason: None });
            continue;
        }
        let mut cx = Ctx { device: &device, grids: &grids, now, skew, op, changes: &mut changes };
        let outcome = apply::apply(tx, &mut cx)?;
        let (status, code, reason) = match outcome {
            Outcome::Applied => (OpStatus::Applied, None, None),
            Outcome::Rejected { code, reason } => (OpStatus::Rejected, Some(code.to_string()), Some(reason)),
            Outcome::Conflict { reason } => (OpStatus::Conflict, Some(codes::CONFLICT.to_string()), Some(reason)),
        };
        let op_kind = op.command.get("op").and_then(|v| v.as_str()).unwrap_or("unknown");
        tx.exec(
            "INSERT INTO mutation (mutation_id, device_id, epoch, seq, op, status, code, reason, hlc, device_ms, received_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            p![
                &op.mutation_id,
                &req.device_id,
                req.epoch,
                op.seq,
                op_kind.chars().take(32).collect::<String>(),
                status_code(status),
                &code,
                &reason,
                &op.hlc,
                op.device_ms,
                now
            ],
        )?;
        results.push(OpResult { seq: op.seq, status, code, reason });
    }
    tx.exec(
        "UPDATE push_cursor SET last_seq = ?, updated_ms = ? WHERE device_id = ? AND epoch = ?",
        p![cursor, now, &req.device_id, req.epoch],
    )?;
    changes.flush(tx, now)?;
    Ok(PushResponse { server_time_ms: now, acked_through_seq: cursor, results })
}

fn status_code(s: OpStatus) -> &'static str {
    match s {
        OpStatus::Applied => "applied",
        OpStatus::Duplicate => "duplicate",
        OpStatus::Rejected => "rejected",
        OpStatus::Conflict => "conflict",
    }
}
