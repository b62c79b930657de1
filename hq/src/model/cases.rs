//! Cases at HQ: the state machine's rows (a case locked for a step, its append-only event log,
//! the move itself) and a case as phones receive it. Phone pushes and the street office's
//! actions go through the same functions.

use gridpatrol_protocol::case_flow::ClearItems;
use gridpatrol_protocol::domain::{Actor, CaseState, WorkerRole};
use gridpatrol_protocol::records::CaseEvent;
use gridpatrol_protocol::rules;
use gridpatrol_protocol::wire::CaseSnapshot;

use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::{p, reference, to_time};

pub struct CaseEventRow<'a> {
    pub id: String,
    pub case_id: &'a str,
    pub n: i64,
    pub from: Option<CaseState>,
    pub to: CaseState,
    pub actor_id: &'a str,
    pub actor_kind: &'a str,
    pub at_ms: i64,
    pub note: Option<String>,
    pub clear: String,
    pub photos: String,
    pub received_ms: i64,
    pub effective_ms: i64,
}

pub fn insert_case_event(tx: &mut dyn Tx, e: &CaseEventRow<'_>) -> Result<(), ApiError> {
    tx.exec(
        "INSERT INTO case_event (id, case_id, n, from_state, to_state, actor_id, actor_kind, at_ms, note, clear, photos,
                                 received_ms, effective_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        p![
            &e.id,
            e.case_id,
            e.n,
            e.from.map(|s| s.code()),
            e.to.code(),
            e.actor_id,
            e.actor_kind,
            e.at_ms,
            &e.note,
            &e.clear,
            &e.photos,
            e.received_ms,
            e.effective_ms
        ],
    )?;
    Ok(())
}

/// A case as its state machine holds it, locked for this transaction.
pub struct CaseRow {
    pub state: CaseState,
    pub clear: ClearItems,
    pub grid_id: String,
}

pub fn lock_case(tx: &mut dyn Tx, case_id: &str) -> Result<Option<CaseRow>, ApiError> {
    let Some(r) = tx.query_opt("SELECT state, clear, grid_id FROM case_file WHERE id = ? FOR UPDATE", p![case_id])?
    else {
        return Ok(None);
    };
    Ok(Some(CaseRow {
        state: CaseState::from_code(&r.text(0)?).ok_or_else(|| ApiError::internal("case state"))?,
        clear: r.json(1)?,
        grid_id: r.text(2)?,
    }))
}

/// A step's merged clear items and its own patch, or the refusal: stable code and reason.
pub type StepVerdict = std::result::Result<(ClearItems, ClearItems), (&'static str, String)>;

/// What a legal step needs beyond the transition itself: the shared rule (the role table for
/// `actor`, the active template's required clear items). Returns the merged clear items and
/// the step's patch with the after-photo filled in as the phone does, or the refusal: its
/// stable code and its reason in words.
pub fn step_requirements(
    tx: &mut dyn Tx,
    actor: Actor,
    case: &CaseRow,
    to: CaseState,
    patch: &ClearItems,
    photos: &[String],
) -> Result<StepVerdict, ApiError> {
    let required = reference::active_template(tx)?.resolution.required;
    Ok(rules::case_step(actor, case.state, to, &case.clear, patch, photos, &required).map_err(|r| {
        let reason = match &r {
            rules::StepRefused::ClearItemsMissing(_) => r.reason(),
            other => format!("{}: {}", other.field(), other.reason()),
        };
        (r.code(), reason)
    }))
}

/// A worker's place in the role table, from their kind (专职/志愿/执法/网格长).
pub fn worker_actor(tx: &mut dyn Tx, worker_id: &str) -> Result<Actor, ApiError> {
    let r = tx
        .query_opt("SELECT role FROM worker WHERE id = ?", p![worker_id])?
        .ok_or_else(|| ApiError::not_found("worker"))?;
    let role = WorkerRole::from_code(&r.text(0)?).ok_or_else(|| ApiError::internal("worker role"))?;
    Ok(role.into())
}

/// Append the step and move the case (state, clear items, deadline, dispatch and close marks).
pub fn move_case(
    tx: &mut dyn Tx,
    case_id: &str,
    case: &CaseRow,
    to: CaseState,
    clear: &ClearItems,
    event: CaseEventRow<'_>,
) -> Result<(), ApiError> {
    insert_case_event(tx, &event)?;
    let closed_ms = (to == CaseState::Closed).then_some(event.effective_ms);
    tx.exec(
        "UPDATE case_file SET state = ?, clear = ?, deadline_ms = ?,
             dispatched = CASE WHEN ? = 1 THEN 1 ELSE dispatched END,
             closed_ms = CASE WHEN ? = 1 THEN ? WHEN ? = 1 THEN NULL ELSE closed_ms END,
             updated_ms = ?
         WHERE id = ?",
        p![
            to.code(),
            serde_json::to_string(clear).unwrap_or_default(),
            clear.deadline.map(|d| d.timestamp_millis()),
            to == CaseState::Dispatched,
            closed_ms.is_some(),
            closed_ms,
            // Reopened: no longer closed.
            to == CaseState::Opened && case.state == CaseState::Closed,
            event.received_ms,
            case_id
        ],
    )?;
    Ok(())
}

pub fn next_case_n(tx: &mut dyn Tx, case_id: &str) -> Result<i64, ApiError> {
    Ok(tx.query_i64("SELECT COALESCE(MAX(n), 0) + 1 FROM case_event WHERE case_id = ?", p![case_id])?)
}

pub fn load_case(tx: &mut dyn Tx, id: &str) -> Result<CaseSnapshot> {
    let c = tx.query_one("SELECT id, report_id, grid_id FROM case_file WHERE id = ?", p![id])?;
    Ok(CaseSnapshot { case_id: c.text(0)?, report_id: c.text(1)?, grid_id: c.text(2)?, events: case_events(tx, id)? })
}

pub fn case_events(tx: &mut dyn Tx, case_id: &str) -> Result<Vec<CaseEvent>> {
    let state = |s: String| CaseState::from_code(&s).ok_or_else(|| ApiError::internal("case state"));
    tx.query(
        "SELECT id, case_id, n, from_state, to_state, actor_id, at_ms, note, clear, photos
         FROM case_event WHERE case_id = ? ORDER BY n",
        p![case_id],
    )?
    .iter()
    .map(|r| {
        Ok(CaseEvent {
            id: r.text(0)?,
            case_id: r.text(1)?,
            n: u32::try_from(r.i64(2)?).unwrap_or(u32::MAX),
            from: r.opt_text(3)?.map(state).transpose()?,
            to: state(r.text(4)?)?,
            actor_id: r.text(5)?,
            at: to_time(r.i64(6)?),
            note: r.opt_text(7)?,
            clear: r.json(8)?,
            photos: r.json(9)?,
        })
    })
    .collect()
}
