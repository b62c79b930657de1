//! `POST /v1/pull`: what HQ decided for this phone, scoped by the credential alone (the
//! device's worker and that worker's grids at HQ now; the request only says how far the
//! phone has got). One read snapshot; pages bounded by the phone's byte budget.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gridpatrol_protocol::wire::{PullRequest, PullResponse};
use serde::Serialize;

use crate::auth;
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{AppState, Bearer, JsonBody};
use crate::model::cases::load_case;
use crate::model::tasks::load_task;
use crate::{now_ms, p, reference};

pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024;
const MIN_MAX_BYTES: u64 = 1024;
/// Change-log rows read per scope per pull.
const PAGE_ROWS: i64 = 500;

pub async fn pull(State(s): State<AppState>, bearer: Bearer, JsonBody(req): JsonBody<PullRequest>) -> Result<Response> {
    let c = &req.cursors;
    if c.reference < 0 || c.tasks < 0 || c.cases < 0 {
        return Err(ApiError::invalid("cursors", "must not be negative"));
    }
    let budget = req
        .max_bytes
        .unwrap_or(DEFAULT_MAX_BYTES)
        .clamp(MIN_MAX_BYTES, gridpatrol_protocol::wire::MAX_BODY_BYTES as u64);
    if let Some(u) = &req.unsent {
        u.check().map_err(|f| ApiError::invalid(format!("unsent.{f}"), "is out of range"))?;
    }
    let unsent = req.unsent;
    let (resp, contact) = s.db.read(move |tx| pull_tx(tx, bearer.as_deref(), &req, budget as i64)).await?;
    if let (Some(device_id), Some(u)) = (contact, unsent) {
        // Counts only; a write only when they changed or the last contact is a minute old, so
        // that a phone polling with nothing to send costs HQ's writer little.
        s.db.write(move |tx| crate::model::wipe::record_contact(tx, &device_id, &u, now_ms())).await?;
    }
    let body = serde_json::to_vec(&resp).map_err(ApiError::internal)?;
    // The size before compression, for `/metrics` (the request log adds it up).
    let bytes = crate::ops::PullBytes(body.len() as u64);
    let mut out = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    out.extensions_mut().insert(bytes);
    Ok(out)
}

fn json_len<T: Serialize>(v: &T) -> i64 {
    serde_json::to_vec(v).map(|b| b.len() as i64).unwrap_or(0)
}

/// A page of one scope: the current state of each entity named in the change log after the
/// cursor, each once, until the byte budget is spent (at least one item per response).
struct Page<'a> {
    budget: &'a mut i64,
    any_included: &'a mut bool,
    more: &'a mut bool,
}

impl Page<'_> {
    fn fill<T: Serialize>(
        &mut self,
        tx: &mut dyn Tx,
        rows: Vec<(i64, String)>,
        cursor: &mut i64,
        out: &mut Vec<T>,
        mut load: impl FnMut(&mut dyn Tx, &str) -> Result<T>,
    ) -> Result<()> {
        let full = rows.len() as i64 >= PAGE_ROWS;
        let mut seen = HashSet::new();
        for (pos, id) in rows {
            if seen.contains(&id) {
                *cursor = pos;
                continue;
            }
            let item = load(tx, &id)?;
            let size = json_len(&item);
            if size > *self.budget && *self.any_included {
                *self.more = true;
                return Ok(());
            }
            *self.budget -= size;
            out.push(item);
            seen.insert(id);
            *cursor = pos;
            *self.any_included = true;
        }
        if full {
            *self.more = true;
        }
        Ok(())
    }
}

/// The answer, and the device whose contact (with its unsent counts) is to be recorded.
fn pull_tx(
    tx: &mut dyn Tx,
    bearer: Option<&str>,
    req: &PullRequest,
    mut budget: i64,
) -> Result<(PullResponse, Option<String>)> {
    let device = auth::device(tx, bearer)?;
    let (discard_authorised, contact_stale) =
        crate::model::wipe::contact_state(tx, &device.device_id, req.unsent.as_ref(), now_ms())?;
    let worker = device.worker_id.as_str();
    let version = reference::worker_version(tx, worker)?;
    let grids_now = auth::worker_grids(tx, worker)?;
    let acked = tx
        .query_opt(
            "SELECT last_seq FROM push_cursor WHERE device_id = ? AND epoch = ?",
            p![&device.device_id, device.epoch],
        )?
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(0);
    let mut resp = PullResponse {
        server_time_ms: now_ms(),
        reference: None,
        tasks: Vec::new(),
        cases: Vec::new(),
        purge_grids: Vec::new(),
        cursors: req.cursors.clone(),
        more: false,
        acked_through_seq: Some(acked),
        discard_authorised,
    };
    let mut cases_from = req.cursors.cases;
    let mut any_included = false;
    // `!=` rather than `<`: a phone ahead of HQ (HQ restored from a backup) also starts over.
    if req.cursors.reference != version {
        let (config, v) = reference::snapshot(tx, worker)?;
        if req.cursors.reference > 0 {
            if let Some(had) = reference::grids_at(tx, worker, req.cursors.reference)? {
                resp.purge_grids = had.iter().filter(|g| !grids_now.contains(g)).cloned().collect();
                // A grid gained since: its existing cases lie behind the phone's cursor.
                if grids_now.iter().any(|g| !had.contains(g)) {
                    cases_from = 0;
                }
            }
        }
        budget -= json_len(&config);
        resp.reference = Some(config);
        resp.cursors.reference = v;
        any_included = true;
    }
    let mut more = false;
    let task_rows = tx
        .query(
            "SELECT pos, entity_id FROM change_log WHERE kind = 'task' AND worker_id = ? AND pos > ? ORDER BY pos LIMIT ?",
            p![worker, req.cursors.tasks, PAGE_ROWS],
        )?
        .iter()
        .map(|r| Ok((r.i64(0)?, r.text(1)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut page = Page { budget: &mut budget, any_included: &mut any_included, more: &mut more };
    page.fill(tx, task_rows, &mut resp.cursors.tasks, &mut resp.tasks, load_task)?;
    if !*page.more {
        let case_rows = tx
            .query(
                "SELECT c.pos, c.entity_id FROM change_log c JOIN worker_grid wg ON wg.grid_id = c.grid_id
                 WHERE c.kind = 'case' AND wg.worker_id = ? AND c.pos > ? ORDER BY c.pos LIMIT ?",
                p![worker, cases_from, PAGE_ROWS],
            )?
            .iter()
            .map(|r| Ok((r.i64(0)?, r.text(1)?)))
            .collect::<Result<Vec<_>>>()?;
        if cases_from != req.cursors.cases {
            resp.cursors.cases = cases_from;
        }
        page.fill(tx, case_rows, &mut resp.cursors.cases, &mut resp.cases, load_case)?;
    } else if cases_from != req.cursors.cases {
        resp.cursors.cases = cases_from;
    }
    resp.more = more;
    Ok((resp, contact_stale.then(|| device.device_id.clone())))
}
