//! `POST /v1/push`: a batch of outbox rows, settled in ONE transaction together with the
//! per-(device, epoch) cursor. seq ≤ cursor is a duplicate (a resend after a lost response);
//! a gap before the first new op is a 409 with the seq HQ expects, and nothing is applied;
//! every new op is applied, rejected with a reason, or recorded as a conflict, and all three
//! advance the cursor, so one bad record never wedges the queue.
//!
//! Cost per push, not per operation: the statements a push needs do not grow with its size
//! where that can be avoided (one round trip to PostgreSQL costs more than the insert itself).
//! Which mutation ids HQ has seen is one query for the whole batch; visits (the bulk of what
//! phones send) look their households and ids up in one query each and are inserted together,
//! each carrying its mutation id (so an applied visit needs no row in `mutation`); the other
//! mutation rows are inserted together at the end. Every other command runs one by one,
//! in sequence order, after the visits before it are written.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridpatrol_protocol::records::Command;
use gridpatrol_protocol::validate;
use gridpatrol_protocol::wire::{codes, OpResult, OpStatus, PushResponse, FOLLOWS_HEADER, MAX_PUSH_OPS};
use sha2::{Digest, Sha256};

use super::apply::{self, Ctx, Outcome};
use super::push_body::{self, Parsed, PushIn, Unreadable};
use super::visits::{self, Received, VisitBatch, VisitRows};
use crate::auth;
use crate::changes::Changes;
use crate::db::{Col, Found, Lookup, Tx, Value};
use crate::error::{ApiError, Result};
use crate::http::{AppState, Bearer, RawBody};
use crate::{now_ms, p};

pub async fn push(
    State(s): State<AppState>,
    bearer: Bearer,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response> {
    // A push sent right behind another one of the same phone waits until that one is in the
    // database's hands (see `PushOrder`) before its own work starts: the pushes of one phone
    // are then read one after the other, each while the writer settles the one before, instead
    // of all at once with the one the writer needs next finishing last.
    let follows = headers.get(FOLLOWS_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let slot = bearer.as_deref().map(|token| s.push_order.slot(token));
    if let (Some(slot), Some(before)) = (&slot, follows) {
        slot.wait_turn(before.saturating_add(1)).await;
    }
    // Everything that needs no database is done here, on the request's own task (SQLite has
    // one writer): the body parsed, its shape checked, the visits checked and laid out as rows.
    let (req, commands) = push_body::read(&body)?;
    drop(body);
    check_shape(&req)?;
    let seqs = req.ops.first().zip(req.ops.last()).map(|(a, b)| (a.seq, b.seq));
    let slot = slot.filter(|_| seqs.is_some());
    // Shared with the writer, which only reads it; the last holder, here, frees it.
    let batch = Arc::new(Batch::new(req, commands, now_ms()));
    let (in_line, tx) = {
        let mut next = slot.as_ref().map(|s| s.next.lock().unwrap_or_else(|p| p.into_inner()));
        let b = batch.clone();
        let (in_line, tx) = s.db.write_in_line(move |tx| push_tx(tx, bearer.as_deref(), &b));
        if let (true, Some(next), Some((_, last))) = (in_line, next.as_mut(), seqs) {
            **next = (**next).max(last + 1);
        }
        (in_line, tx)
    };
    if in_line {
        if let Some(slot) = &slot {
            slot.turn.notify_waiters();
        }
    }
    let resp = tx.await;
    if let (false, Some(slot), Some((_, last))) = (in_line, &slot, seqs) {
        slot.advance(last + 1);
    }
    drop(batch);
    // The answer, and a copy of it for `/metrics` (the request log counts its outcomes).
    let resp = Arc::new(resp?);
    let mut out = Json(&*resp).into_response();
    out.extensions_mut().insert(resp);
    Ok(out)
}

/// One push as the writer settles it: the request, each operation's command (visits already
/// checked and laid out as rows), and HQ's clock when it arrived (the push's one `now`).
struct Batch {
    req: PushIn,
    commands: Vec<OpCommand>,
    visits: VisitRows,
    now: i64,
    /// Device clock minus HQ clock at this push.
    skew: i64,
    /// For each op, the index of an earlier op of this push with the same mutation id (a
    /// phone's bug, or a hostile client); empty when every mutation id appears once.
    repeat_of: Vec<Option<usize>>,
}

enum OpCommand {
    Visit(visits::Prepared),
    /// Boxed: visits, the common case, are a row index.
    Other(Box<Command>),
    Unreadable(Unreadable),
}

impl Batch {
    fn new(req: PushIn, commands: Vec<Parsed>, now: i64) -> Batch {
        let skew = req.device_time_ms.saturating_sub(now);
        let mut visits = VisitRows::default();
        let commands = req
            .ops
            .iter()
            .zip(commands)
            .map(|(op, c)| match c {
                Ok(Command::RecordVisit { visit }) => {
                    let at = Received { now, skew, device_ms: op.device_ms, mutation_id: &op.mutation_id };
                    OpCommand::Visit(visits.prepare(visit, &at))
                }
                Ok(other) => OpCommand::Other(Box::new(other)),
                Err(u) => OpCommand::Unreadable(u),
            })
            .collect();
        visits.finish();
        let mut mutations = HashSet::with_capacity(req.ops.len());
        let repeats_mutation = !req.ops.iter().all(|o| mutations.insert(o.mutation_id.as_str()));
        let repeat_of = if repeats_mutation {
            let mut first: HashMap<&str, usize> = HashMap::new();
            req.ops
                .iter()
                .enumerate()
                .map(|(i, o)| *first.entry(&o.mutation_id).or_insert(i))
                .enumerate()
                .map(|(i, f)| (f != i).then_some(f))
                .collect()
        } else {
            Vec::new()
        };
        Batch { req, commands, visits, now, skew, repeat_of }
    }

    fn repeat_of(&self, i: usize) -> Option<usize> {
        self.repeat_of.get(i).copied().flatten()
    }

    /// Op `i` names the mutation id of op `first` of this push: the same operation twice is a
    /// duplicate; other content under that id is refused (`mutation_reused`), never applied.
    fn repeat_result(&self, i: usize, first: usize) -> OpResult {
        let seq = self.req.ops[i].seq;
        let same = match (&self.commands[i], &self.commands[first]) {
            (OpCommand::Visit(Ok(a)), OpCommand::Visit(Ok(b))) => self.visits.same_visit(*a, *b),
            (OpCommand::Other(a), OpCommand::Other(b)) => a == b,
            _ => false,
        };
        if same {
            OpResult { seq, status: OpStatus::Duplicate, code: None, reason: None }
        } else {
            mutation_reused(seq)
        }
    }
}

/// What can be refused before touching the database.
fn check_shape(req: &PushIn) -> Result<()> {
    validate::check_id("device_id", &req.device_id)?;
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
        if validate::check_id("mutation_id", &op.mutation_id).is_err() {
            // The field's name with its index, made only when it is needed.
            validate::check_id(&format!("ops[{i}].mutation_id"), &op.mutation_id)?;
        }
        if op.hlc.len() > 64 {
            return Err(ApiError::invalid(format!("ops[{i}].hlc"), "at most 64 characters"));
        }
    }
    Ok(())
}

/// The `mutation` table's columns, as bulk-inserted at the end of a push.
const MUTATION_COLS: &[Col] = &[
    Col::Text, // mutation_id
    Col::Text, // device_id
    Col::Int,  // epoch
    Col::Int,  // seq
    Col::Text, // op
    Col::Text, // status
    Col::Text, // code
    Col::Text, // reason
    Col::Text, // hlc
    Col::Int,  // device_ms
    Col::Int,  // received_ms
    Col::Text, // content_hash
];

fn push_tx(tx: &mut dyn Tx, bearer: Option<&str>, batch: &Batch) -> Result<PushResponse> {
    let (req, now, skew) = (&batch.req, batch.now, batch.skew);
    let device = auth::touch_device(tx, bearer, now, skew)?;
    if device.device_id != req.device_id {
        return Err(ApiError::forbidden("this token belongs to another device"));
    }
    if device.epoch != req.epoch {
        return Err(ApiError::conflict(format!(
            "this device enrolled in epoch {}; push in that epoch (or enrol again)",
            device.epoch
        )));
    }
    // Create the cursor on first use and lock it, in one statement: the row lock serialises
    // pushes of one device across HQ instances (an upsert locks the row as FOR UPDATE does).
    let last = tx.query_i64(
        "INSERT INTO push_cursor (device_id, epoch, last_seq, updated_ms) VALUES (?, ?, 0, ?)
         ON CONFLICT (device_id, epoch) DO UPDATE SET last_seq = push_cursor.last_seq
         RETURNING last_seq",
        p![&req.device_id, req.epoch, now],
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

    // The ops HQ settled before (seq ≤ cursor) and those not settled yet (seqs are
    // consecutive, so a prefix and a suffix).
    let split = req.ops.iter().position(|o| o.seq > last).unwrap_or(req.ops.len());
    let (old, new) = req.ops.split_at(split);
    // Everything the batch needs to look up, in one round trip: the worker's grids at HQ now,
    // the mutation ids HQ already has (a resend, or a restored outbox in a new epoch: not
    // applied twice), and for the visits their households and the
    // visit ids HQ already has, with the mutation that recorded each.
    let mutation_ids: Vec<&str> = req.ops.iter().map(|o| o.mutation_id.as_str()).collect();
    let (households, visit_ids) = batch.visits.lookup_keys();
    let worker = [device.worker_id.as_str()];
    let found = tx.lookup(&[
        Lookup { table: "worker_grid", key: "worker_id", out: ("grid_id", None), keys: &worker },
        Lookup { table: "mutation", key: "mutation_id", out: ("mutation_id", None), keys: &mutation_ids },
        Lookup { table: "household", key: "id", out: ("id", Some("grid_id")), keys: &households },
        Lookup { table: "visit", key: "id", out: ("id", Some("mutation_id")), keys: &visit_ids },
    ])?;
    let [grids, at_hq, found_households, found_visits]: [Found; 4] =
        found.try_into().map_err(|_| ApiError::internal("lookup answers"))?;
    let grids: HashSet<String> = grids.into_iter().map(|(g, _)| g).collect();
    // What HQ answered each known mutation (a resend whose answer was lost, say): only read
    // when the push carries some (rare), like the content of visits HQ already has.
    let at_hq = settled_answers(tx, at_hq)?;
    let mut visits = VisitBatch::new(&batch.visits, found_households, found_visits);
    visits.load_stored(tx)?;

    let mut changes = Changes::default();
    let mut results = Vec::with_capacity(req.ops.len());
    // A seq HQ settled before is a duplicate only when it is the same operation: HQ has its
    // mutation id. Otherwise another copy of this store used that seq for other work (a cloned
    // phone, a restored backup): the histories forked. Nothing is applied, and the phone takes
    // an identity of its own and sends its unsent work again under it (docs/SYNC.md).
    for (i, (op, command)) in old.iter().zip(&batch.commands).enumerate() {
        if let Some(first) = batch.repeat_of(i) {
            results.push(batch.repeat_result(i, first));
            continue;
        }
        let as_visit = match command {
            OpCommand::Visit(prepared) => visits.recorded_by_own_mutation(prepared),
            _ => None,
        };
        let result = match (as_visit, at_hq.get(&op.mutation_id)) {
            (Some(true), _) => OpResult { seq: op.seq, status: OpStatus::Duplicate, code: None, reason: None },
            (Some(false), _) => mutation_reused(op.seq),
            (None, Some(settled)) => settled.answer(op.seq, command),
            (None, None) => return Err(forked(op.seq)),
        };
        results.push(result);
    }
    let mut mutations: Vec<Value> = Vec::new();
    let mut cursor = last;
    for (i, (op, command)) in new.iter().zip(&batch.commands[split..]).enumerate() {
        cursor = op.seq;
        // The same mutation twice in this push, or one HQ has under another seq: not twice.
        // Unless its content differs from the one applied under that id: refused, visibly.
        if let Some(first) = batch.repeat_of(split + i) {
            results.push(batch.repeat_result(split + i, first));
            continue;
        }
        if let Some(settled) = at_hq.get(&op.mutation_id) {
            results.push(settled.answer(op.seq, command));
            continue;
        }
        let mut cx = Ctx { device: &device, grids: &grids, now, skew, op, changes: &mut changes };
        let (op_kind, outcome) = match command {
            OpCommand::Visit(prepared) => ("record_visit", apply::settled(visits.settle(&cx, prepared))?),
            OpCommand::Other(cmd) => {
                // Every other command sees the database as if each earlier op had been written alone.
                visits.flush(tx)?;
                (cmd.kind(), apply::apply(tx, &mut cx, cmd)?)
            }
            OpCommand::Unreadable(u) => {
                (u.kind.as_str(), Outcome::Rejected { code: codes::INVALID_INPUT, reason: u.reason.clone() })
            }
        };
        let (status, code, reason) = match outcome {
            Outcome::Applied => (OpStatus::Applied, None, None),
            // The row written (or found) carries the mutation id: no mutation row.
            Outcome::AppliedInRecord => {
                results.push(OpResult { seq: op.seq, status: OpStatus::Applied, code: None, reason: None });
                continue;
            }
            Outcome::AlreadyApplied => {
                results.push(OpResult { seq: op.seq, status: OpStatus::Duplicate, code: None, reason: None });
                continue;
            }
            Outcome::Reused => {
                results.push(mutation_reused(op.seq));
                continue;
            }
            Outcome::Rejected { code, reason } => (OpStatus::Rejected, Some(code.to_string()), Some(reason)),
            Outcome::Conflict { reason } => (OpStatus::Conflict, Some(codes::CONFLICT.to_string()), Some(reason)),
        };
        mutations.extend([
            Value::Text(op.mutation_id.clone()),
            Value::Text(req.device_id.clone()),
            Value::Int(req.epoch),
            Value::Int(op.seq),
            Value::Text(op_kind.to_string()),
            Value::Text(status_code(status).into()),
            code.clone().into(),
            reason.clone().into(),
            Value::Text(op.hlc.clone()),
            Value::Int(op.device_ms),
            Value::Int(now),
            content_hash(command).into(),
        ]);
        results.push(OpResult { seq: op.seq, status, code, reason });
    }
    visits.flush(tx)?;
    tx.insert_rows(
        "mutation (mutation_id, device_id, epoch, seq, op, status, code, reason, hlc, device_ms, received_ms,
                   content_hash)",
        MUTATION_COLS,
        &mutations,
        "",
    )?;
    tx.exec(
        "UPDATE push_cursor SET last_seq = ?, updated_ms = ? WHERE device_id = ? AND epoch = ?",
        p![cursor, now, &req.device_id, req.epoch],
    )?;
    changes.flush(tx, now)?;
    // What this push covered, never beyond: a cursor past the push's last seq means HQ settled
    // later seqs from some push this phone may never have sent (another copy of its store).
    let acked = req.ops.last().map_or(cursor, |o| cursor.min(o.seq));
    Ok(PushResponse { server_time_ms: now_ms(), acked_through_seq: acked, results })
}

/// The 409 a forked history gets.
fn forked(seq: i64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        codes::HISTORY_FORKED,
        format!(
            "HQ settled another operation at seq {seq} of this device: this store is a copy of another; \
             take an identity of its own (POST /v1/fork) and send the unsent work again"
        ),
    )
}

/// What HQ keeps of a command's content in its `mutation` row: a SHA-256 of the command as HQ
/// read it (serde's output of the parsed command, so the phone's spacing does not matter).
/// Visits carry no hash: an applied visit is its own row, matched by visit id and mutation id.
fn content_hash(command: &OpCommand) -> Option<String> {
    match command {
        OpCommand::Other(cmd) => serde_json::to_vec(cmd).ok().map(|json| hex::encode(Sha256::digest(json))),
        OpCommand::Visit(_) | OpCommand::Unreadable(_) => None,
    }
}

/// A mutation HQ settled before, as its `mutation` row says.
struct Settled {
    status: String,
    code: Option<String>,
    reason: Option<String>,
    content_hash: Option<String>,
}

impl Settled {
    /// The answer to the same mutation sent again: the one HQ gave the first time (a refusal
    /// stays a refusal, so the worker sees it even when that first answer was lost), or
    /// `mutation_reused` when the content is not the one HQ settled under that id.
    fn answer(&self, seq: i64, command: &OpCommand) -> OpResult {
        if let (Some(kept), Some(sent)) = (&self.content_hash, content_hash(command)) {
            if *kept != sent {
                return mutation_reused(seq);
            }
        }
        let status = match self.status.as_str() {
            "rejected" => OpStatus::Rejected,
            "conflict" => OpStatus::Conflict,
            _ => return OpResult { seq, status: OpStatus::Duplicate, code: None, reason: None },
        };
        OpResult { seq, status, code: self.code.clone(), reason: self.reason.clone() }
    }
}

/// The `mutation` rows of the mutation ids found, with the answers HQ gave them.
fn settled_answers(tx: &mut dyn Tx, found: Found) -> Result<HashMap<String, Settled>> {
    let mut out = HashMap::with_capacity(found.len());
    if found.is_empty() {
        return Ok(out);
    }
    let ids: Vec<Value> = found.into_iter().map(|(m, _)| Value::Text(m)).collect();
    let marks = vec!["?"; ids.len()].join(", ");
    let rows = tx.query(
        &format!("SELECT mutation_id, status, code, reason, content_hash FROM mutation WHERE mutation_id IN ({marks})"),
        &ids,
    )?;
    for r in rows {
        let settled =
            Settled { status: r.text(1)?, code: r.opt_text(2)?, reason: r.opt_text(3)?, content_hash: r.opt_text(4)? };
        out.insert(r.text(0)?, settled);
    }
    Ok(out)
}

fn mutation_reused(seq: i64) -> OpResult {
    OpResult {
        seq,
        status: OpStatus::Rejected,
        code: Some(codes::MUTATION_REUSED.to_string()),
        reason: Some("HQ has another operation under this mutation id; this one was not applied".into()),
    }
}

fn status_code(s: OpStatus) -> &'static str {
    match s {
        OpStatus::Applied => "applied",
        OpStatus::Duplicate => "duplicate",
        OpStatus::Rejected => "rejected",
        OpStatus::Conflict => "conflict",
    }
}
