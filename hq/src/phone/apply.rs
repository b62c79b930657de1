//! Applying one pushed operation. HQ trusts nothing the phone says about rights: the record's
//! worker must be the device's worker and its grid one of the worker's grids at HQ now.
//! Each command validates completely before its first write, so a refusal leaves nothing
//! behind. Observations are appended; cases and tasks move only through HQ's state machines,
//! and a step HQ can no longer take (because HQ moved the record meanwhile) is kept as a
//! visible conflict, never dropped.

use std::collections::HashSet;

use gridpatrol_protocol::case_flow;
use gridpatrol_protocol::domain::{CaseState, TaskStatus};
use gridpatrol_protocol::records::*;
use gridpatrol_protocol::rules::{self, MAX_DESCRIPTION_CHARS, MAX_NOTE_CHARS, MAX_PLACE_CHARS};
use gridpatrol_protocol::wire::codes;
use gridpatrol_protocol::{geo, validate, InvalidValue};

use super::push_body::OpIn;
use crate::auth::Device;
use crate::changes::Changes;
use crate::db::{Col, Tx, Value};
use crate::error::ApiError;
use crate::model::cases::{
    insert_case_event, lock_case, move_case, next_case_n, step_requirements, worker_actor, CaseEventRow,
};
use crate::{new_id, p, reference};

pub struct Ctx<'a> {
    pub device: &'a Device,
    pub grids: &'a HashSet<String>,
    pub now: i64,
    /// Device clock minus HQ clock at this push.
    pub skew: i64,
    pub op: &'a OpIn,
    pub changes: &'a mut Changes,
}

impl Ctx<'_> {
    /// A device capture time moved onto HQ's clock with this push's skew (never in the future).
    fn effective(&self, device_ms: i64) -> i64 {
        device_ms.saturating_sub(self.skew).min(self.now)
    }
    fn worker(&self) -> &str {
        &self.device.worker_id
    }
}

#[derive(Debug)]
pub enum Outcome {
    Applied,
    /// Applied, and the record written carries the mutation id itself (a visit): no separate
    /// row in `mutation` is needed to know it later.
    AppliedInRecord,
    /// This very mutation was applied before (in another epoch, say): nothing is done again.
    AlreadyApplied,
    /// The mutation id was applied before with other content: refused as `mutation_reused`,
    /// and (unlike a rejection) no `mutation` row is written, the id being taken already.
    Reused,
    Rejected {
        code: &'static str,
        reason: String,
    },
    Conflict {
        reason: String,
    },
}

/// Why an operation did not apply: a refusal for the phone, or HQ's own failure (which aborts
/// the whole push so that the phone retries it).
pub(super) enum Refusal {
    Reject(&'static str, String),
    Fail(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Fail(e)
    }
}
impl From<crate::db::DbError> for Refusal {
    fn from(e: crate::db::DbError) -> Self {
        Refusal::Fail(e.into())
    }
}
impl From<InvalidValue> for Refusal {
    fn from(e: InvalidValue) -> Self {
        Refusal::Reject(codes::INVALID_INPUT, e.to_string())
    }
}

pub(super) fn forbidden(msg: &str) -> Refusal {
    Refusal::Reject(codes::FORBIDDEN, msg.to_string())
}
pub(super) fn not_found(what: &str) -> Refusal {
    Refusal::Reject(codes::NOT_FOUND, format!("no such {what} at HQ"))
}
fn invalid(msg: impl Into<String>) -> Refusal {
    Refusal::Reject(codes::INVALID_INPUT, msg.into())
}

pub(super) type Step = Result<Outcome, Refusal>;

/// Apply one command (parsed by the caller; one HQ cannot read is rejected there). Visits are
/// settled apart (`visits::VisitBatch`), and the caller writes those before anything else.
pub fn apply(tx: &mut dyn Tx, cx: &mut Ctx<'_>, cmd: &Command) -> Result<Outcome, ApiError> {
    settled(match cmd {
        Command::StartPatrol { patrol } => start_patrol(tx, cx, patrol),
        Command::AddTrackPoints { patrol_id, first_n, points } => add_track_points(tx, cx, patrol_id, *first_n, points),
        Command::CheckIn { checkpoint } => check_in(tx, cx, checkpoint),
        Command::FinishPatrol { patrol_id, outcome, note, finished_at } => {
            finish_patrol(tx, cx, patrol_id, *outcome, note.as_deref(), finished_at.timestamp_millis())
        }
        Command::RecordVisit { .. } => Err(Refusal::Fail(ApiError::internal("a visit reached apply"))),
        Command::FileReport { report } => file_report(tx, cx, report),
        Command::CaseStep { event } => case_step(tx, cx, event),
        Command::TaskStep { event } => task_step(tx, cx, event),
    })
}

/// A step's result as the push records it: a refusal is an outcome, HQ's failure an error.
pub(super) fn settled(step: Step) -> Result<Outcome, ApiError> {
    match step {
        Ok(o) => Ok(o),
        Err(Refusal::Reject(code, reason)) => Ok(Outcome::Rejected { code, reason }),
        Err(Refusal::Fail(e)) => Err(e),
    }
}

pub(super) fn own_worker(cx: &Ctx<'_>, worker_id: &str) -> Result<(), Refusal> {
    if worker_id == cx.worker() {
        Ok(())
    } else {
        Err(forbidden("the record belongs to another worker"))
    }
}

pub(super) fn own_grid(cx: &Ctx<'_>, grid_id: &str) -> Result<(), Refusal> {
    if cx.grids.contains(grid_id) {
        Ok(())
    } else {
        Err(forbidden("the grid is not one of this worker's grids at HQ"))
    }
}

/// A shared rule's refusal, its field named as HQ names the record's fields (`visit.note`).
pub(super) fn within(prefix: &str) -> impl Fn(InvalidValue) -> InvalidValue + '_ {
    move |e| InvalidValue::new(format!("{prefix}.{}", e.field), e.reason)
}

fn exists(tx: &mut dyn Tx, sql: &str, id: &str) -> Result<bool, Refusal> {
    Ok(tx.query_opt(sql, p![id])?.is_some())
}

struct PatrolRow {
    worker_id: String,
    grid_id: String,
    template_id: String,
    template_version: i64,
    finished: bool,
}

fn own_patrol(tx: &mut dyn Tx, cx: &Ctx<'_>, patrol_id: &str) -> Result<PatrolRow, Refusal> {
    validate::check_id("patrol_id", patrol_id)?;
    let r = tx
        .query_opt(
            "SELECT worker_id, grid_id, template_id, template_version, finished_ms FROM patrol WHERE id = ? FOR UPDATE",
            p![patrol_id],
        )?
        .ok_or_else(|| not_found("patrol"))?;
    let p = PatrolRow {
        worker_id: r.text(0)?,
        grid_id: r.text(1)?,
        template_id: r.text(2)?,
        template_version: r.i64(3)?,
        finished: r.opt_i64(4)?.is_some(),
    };
    own_worker(cx, &p.worker_id)?;
    own_grid(cx, &p.grid_id)?;
    Ok(p)
}

fn start_patrol(tx: &mut dyn Tx, cx: &mut Ctx<'_>, p: &Patrol) -> Step {
    validate::check_id("patrol.id", &p.id)?;
    own_worker(cx, &p.worker_id)?;
    own_grid(cx, &p.grid_id)?;
    if reference::template(tx, &p.template_id, p.template_version.into())?.is_none() {
        return Err(invalid("patrol.template_id: not a checklist template HQ published"));
    }
    if exists(tx, "SELECT 1 FROM patrol WHERE id = ?", &p.id)? {
        return Err(invalid("patrol.id: a patrol with this id already exists"));
    }
    let started = p.started_at.timestamp_millis();
    tx.exec(
        "INSERT INTO patrol (id, worker_id, grid_id, shift, template_id, template_version, started_ms, device_id,
                             device_ms, received_ms, effective_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        p![
            &p.id,
            &p.worker_id,
            &p.grid_id,
            p.shift.code(),
            &p.template_id,
            p.template_version,
            started,
            &cx.device.device_id,
            cx.op.device_ms,
            cx.now,
            cx.effective(started)
        ],
    )?;
    refresh_figure(tx, &p.id)?;
    Ok(Outcome::Applied)
}

/// The patrol's 三到 verdict for the figures, in this transaction (`admin::rollups`).
fn refresh_figure(tx: &mut dyn Tx, patrol_id: &str) -> Result<(), ApiError> {
    crate::admin::rollups::refresh_patrol(tx, &mut crate::admin::records::Templates::new(), patrol_id)
}

fn add_track_points(tx: &mut dyn Tx, cx: &mut Ctx<'_>, patrol_id: &str, first_n: u32, points: &[TrackPoint]) -> Step {
    rules::track_points("points", points)?;
    let patrol = own_patrol(tx, cx, patrol_id)?;
    if patrol.finished {
        return Err(invalid("patrol_id: the patrol is already finished"));
    }
    let mut rows = Vec::with_capacity(points.len() * 8);
    for (i, pt) in points.iter().enumerate() {
        rows.extend([
            Value::from(patrol_id),
            Value::from(i64::from(first_n) + i as i64),
            Value::from(pt.lat),
            Value::from(pt.lng),
            Value::from(pt.accuracy_m),
            Value::from(pt.at.timestamp_millis()),
            Value::from(cx.now),
            Value::from(cx.effective(pt.at.timestamp_millis())),
        ]);
    }
    tx.insert_rows(
        "patrol_track (patrol_id, n, lat, lng, accuracy_m, at_ms, received_ms, effective_ms)",
        &[Col::Text, Col::Int, Col::Real, Col::Real, Col::Real, Col::Int, Col::Int, Col::Int],
        &rows,
        "ON CONFLICT (patrol_id, n) DO NOTHING",
    )?;
    Ok(Outcome::Applied)
}

fn check_in(tx: &mut dyn Tx, cx: &mut Ctx<'_>, cp: &Checkpoint) -> Step {
    validate::check_id("checkpoint.id", &cp.id)?;
    cp.location.validate("checkpoint.location")?;
    rules::accuracy("checkpoint.accuracy_m", cp.accuracy_m)?;
    let place = validate::optional_text("checkpoint.place_name", cp.place_name.as_deref(), MAX_PLACE_CHARS)?;
    let patrol = own_patrol(tx, cx, &cp.patrol_id)?;
    if patrol.finished {
        return Err(invalid("checkpoint.patrol_id: the patrol is already finished"));
    }
    let template = reference::template(tx, &patrol.template_id, patrol.template_version)?
        .ok_or_else(|| ApiError::internal("patrol's template missing"))?;
    let mut seen = HashSet::new();
    for (i, a) in cp.answers.iter().enumerate() {
        if template.checklist_item(&a.item_id).is_none() {
            return Err(invalid(format!("checkpoint.answers[{i}].item_id: not an item of the patrol's checklist")));
        }
        if !seen.insert(a.item_id.as_str()) {
            return Err(invalid(format!("checkpoint.answers[{i}].item_id: answered twice")));
        }
        validate::optional_text(&format!("checkpoint.answers[{i}].note"), a.note.as_deref(), MAX_NOTE_CHARS)?;
    }
    if exists(tx, "SELECT 1 FROM checkpoint WHERE id = ?", &cp.id)? {
        return Err(invalid("checkpoint.id: a check-in with this id already exists"));
    }
    // HQ decides "inside the grid" from its own boundary; the phone's flag is kept beside it.
    let boundary: geo::Ring = tx.query_one("SELECT boundary FROM grid WHERE id = ?", p![&patrol.grid_id])?.json(0)?;
    let inside = geo::contains(&boundary, cp.location);
    // Trust by the same rule as the phone, from HQ's own inside-grid verdict.
    let trusted = rules::trusted_fix(inside, cp.accuracy_m, cp.mock_location, template.patrol.max_accuracy_m);
    tx.exec(
        "INSERT INTO checkpoint (id, patrol_id, at_ms, lat, lng, accuracy_m, inside_grid_device, inside_grid, place_name,
                                 answers, received_ms, effective_ms, mock_location, trusted)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        p![
            &cp.id,
            &cp.patrol_id,
            cp.at.timestamp_millis(),
            cp.location.lat,
            cp.location.lng,
            cp.accuracy_m,
            cp.inside_grid,
            inside,
            place,
            serde_json::to_string(&cp.answers).unwrap_or_default(),
            cx.now,
            cx.effective(cp.at.timestamp_millis()),
            cp.mock_location,
            trusted
        ],
    )?;
    refresh_figure(tx, &cp.patrol_id)?;
    Ok(Outcome::Applied)
}

fn finish_patrol(
    tx: &mut dyn Tx,
    cx: &mut Ctx<'_>,
    patrol_id: &str,
    outcome: gridpatrol_protocol::domain::PatrolOutcome,
    note: Option<&str>,
    finished_ms: i64,
) -> Step {
    let note = validate::optional_text("note", note, MAX_NOTE_CHARS)?;
    let patrol = own_patrol(tx, cx, patrol_id)?;
    if patrol.finished {
        return Err(invalid("patrol_id: the patrol is already finished"));
    }
    // `finished_ms` on HQ's clock, like the start; the phone's own reading kept beside it.
    tx.exec(
        "UPDATE patrol SET finished_ms = ?, finish_device_ms = ?, outcome = ?, note = ?, finish_received_ms = ?
         WHERE id = ?",
        p![cx.effective(finished_ms), finished_ms, outcome.code(), note, cx.now, patrol_id],
    )?;
    refresh_figure(tx, patrol_id)?;
    Ok(Outcome::Applied)
}

fn file_report(tx: &mut dyn Tx, cx: &mut Ctx<'_>, r: &Report) -> Step {
    validate::check_id("report.id", &r.id)?;
    validate::check_id("report.case_id", &r.case_id)?;
    own_worker(cx, &r.worker_id)?;
    own_grid(cx, &r.grid_id)?;
    r.location.validate("report.location")?;
    let description = validate::required_text("report.description", &r.description, MAX_DESCRIPTION_CHARS)?;
    let place = validate::optional_text("report.place_name", r.place_name.as_deref(), MAX_PLACE_CHARS)?;
    rules::people_involved("report.people_involved", r.people_involved)?;
    for (f, id) in [("report.patrol_id", &r.patrol_id), ("report.visit_id", &r.visit_id)] {
        if let Some(id) = id {
            validate::check_id(f, id)?;
        }
    }
    rules::photos("report.photos", &r.photos)?;
    if exists(tx, "SELECT 1 FROM report WHERE id = ?", &r.id)? {
        return Err(invalid("report.id: a report with this id already exists"));
    }
    if exists(tx, "SELECT 1 FROM case_file WHERE id = ?", &r.case_id)? {
        return Err(invalid("report.case_id: a case with this id already exists"));
    }
    let occurred = r.occurred_at.timestamp_millis();
    let effective = cx.effective(occurred);
    tx.exec(
        "INSERT INTO report (id, worker_id, grid_id, category, urgency, lat, lng, place_name, description, people_involved,
                             source, patrol_id, visit_id, occurred_ms, case_id, device_ms, received_ms, effective_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        p![
            &r.id,
            &r.worker_id,
            &r.grid_id,
            r.category.code(),
            r.urgency.code(),
            r.location.lat,
            r.location.lng,
            place,
            description,
            r.people_involved,
            r.source.code(),
            &r.patrol_id,
            &r.visit_id,
            occurred,
            &r.case_id,
            cx.op.device_ms,
            cx.now,
            effective
        ],
    )?;
    crate::admin::rollups::add_records(
        tx,
        crate::admin::rollups::REPORT,
        [(r.grid_id.as_str(), r.worker_id.as_str(), effective, r.category.code())],
    )?;
    if let Some(patrol) = &r.patrol_id {
        refresh_figure(tx, patrol)?;
    }
    for h in &r.photos {
        tx.exec(
            "INSERT INTO report_photo (report_id, sha256) VALUES (?, ?) ON CONFLICT (report_id, sha256) DO NOTHING",
            p![&r.id, h],
        )?;
    }
    // Every report opens a case in state 上报 (reported).
    tx.exec(
        "INSERT INTO case_file (id, report_id, grid_id, state, clear, deadline_ms, dispatched, closed_ms, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, '{}', NULL, 0, NULL, ?, ?)",
        p![&r.case_id, &r.id, &r.grid_id, CaseState::Reported.code(), cx.now, cx.now],
    )?;
    let photos = serde_json::to_string(&r.photos).unwrap_or_default();
    insert_case_event(
        tx,
        &CaseEventRow {
            id: new_id(),
            case_id: &r.case_id,
            n: 1,
            from: None,
            to: CaseState::Reported,
            actor_id: cx.worker(),
            actor_kind: "worker",
            at_ms: cx.op.device_ms,
            note: None,
            clear: "{}".into(),
            photos,
            received_ms: cx.now,
            effective_ms: cx.effective(cx.op.device_ms),
        },
    )?;
    cx.changes.case(&r.case_id, &r.grid_id);
    Ok(Outcome::Applied)
}

fn case_step(tx: &mut dyn Tx, cx: &mut Ctx<'_>, ev: &CaseEvent) -> Step {
    validate::check_id("event.id", &ev.id)?;
    validate::check_id("event.case_id", &ev.case_id)?;
    own_worker(cx, &ev.actor_id)?;
    let note = validate::optional_text("event.note", ev.note.as_deref(), MAX_NOTE_CHARS)?;
    let patch = rules::clear_items(&ev.clear).map_err(within("event"))?;
    rules::photos("event.photos", &ev.photos)?;
    let case = lock_case(tx, &ev.case_id)?.ok_or_else(|| not_found("case"))?;
    own_grid(cx, &case.grid_id)?;
    if exists(tx, "SELECT 1 FROM case_event WHERE id = ?", &ev.id)? {
        return Err(invalid("event.id: a case event with this id already exists"));
    }
    let moved_meanwhile = ev.from != Some(case.state);
    if !case_flow::is_legal(case.state, ev.to) {
        if !moved_meanwhile {
            return Err(invalid(format!("a case cannot go from {} to {}", case.state.label(), ev.to.label())));
        }
        let reason = format!(
            "HQ had already moved the case to {}; the step to {} was not applied",
            case.state.label(),
            ev.to.label()
        );
        let what = ("case", ev.case_id.as_str(), Some(case.grid_id.as_str()), case.state.code());
        return conflict(tx, cx, what, "not_applied", Command::CaseStep { event: ev.clone() }, reason);
    }
    let actor = worker_actor(tx, cx.worker())?;
    let (clear, patch) = match step_requirements(tx, actor, &case, ev.to, &patch, &ev.photos)? {
        Ok(v) => v,
        Err((code, reason)) => return Err(Refusal::Reject(code, reason)),
    };
    let n = next_case_n(tx, &ev.case_id)?;
    let at_ms = ev.at.timestamp_millis();
    let event = CaseEventRow {
        id: ev.id.clone(),
        case_id: &ev.case_id,
        n,
        from: Some(case.state),
        to: ev.to,
        actor_id: cx.worker(),
        actor_kind: "worker",
        at_ms,
        note,
        clear: serde_json::to_string(&patch).unwrap_or_default(),
        photos: serde_json::to_string(&ev.photos).unwrap_or_default(),
        received_ms: cx.now,
        effective_ms: cx.effective(at_ms),
    };
    move_case(tx, &ev.case_id, &case, ev.to, &clear, event)?;
    cx.changes.case(&ev.case_id, &case.grid_id);
    if moved_meanwhile {
        let reason = format!(
            "HQ had moved the case to {} meanwhile; the step to {} was still allowed and was applied from there",
            case.state.label(),
            ev.to.label()
        );
        let what = ("case", ev.case_id.as_str(), Some(case.grid_id.as_str()), case.state.code());
        return conflict(tx, cx, what, "applied", Command::CaseStep { event: ev.clone() }, reason);
    }
    Ok(Outcome::Applied)
}

fn task_step(tx: &mut dyn Tx, cx: &mut Ctx<'_>, ev: &TaskEvent) -> Step {
    validate::check_id("event.id", &ev.id)?;
    validate::check_id("event.task_id", &ev.task_id)?;
    let result = validate::optional_text("event.result", ev.result.as_deref(), MAX_DESCRIPTION_CHARS)?;
    rules::photos("event.photos", &ev.photos)?;
    rules::task_step(ev.action, result.as_deref(), ev.photos.len(), ev.location).map_err(within("event"))?;
    let r = tx
        .query_opt("SELECT status, assignee_id FROM task WHERE id = ? FOR UPDATE", p![&ev.task_id])?
        .ok_or_else(|| not_found("task"))?;
    let status = TaskStatus::from_code(&r.text(0)?).ok_or_else(|| ApiError::internal("task status"))?;
    let assignee = r.opt_text(1)?;
    if exists(tx, "SELECT 1 FROM task_event WHERE id = ?", &ev.id)? {
        return Err(invalid("event.id: a task event with this id already exists"));
    }
    if assignee.as_deref() != Some(cx.worker()) {
        // Ever this worker's? Then HQ reassigned it meanwhile: a conflict. Never: forbidden.
        let was_ours = tx
            .query_opt(
                "SELECT 1 FROM change_log WHERE kind = 'task' AND entity_id = ? AND worker_id = ? LIMIT 1",
                p![&ev.task_id, cx.worker()],
            )?
            .is_some();
        if !was_ours {
            return Err(forbidden("the task is assigned to another worker"));
        }
        let reason = "HQ reassigned this task to another worker; the step was not applied".to_string();
        let what = ("task", ev.task_id.as_str(), None, status.code());
        return conflict(tx, cx, what, "not_applied", Command::TaskStep { event: ev.clone() }, reason);
    }
    let Some(to) = rules::task_transition(status, ev.action) else {
        if ev.from == status {
            return Err(invalid(format!("cannot {} a task that is {}", ev.action.label(), status.label())));
        }
        let reason = format!("HQ had moved the task to {}; {} was not applied", status.label(), ev.action.label());
        let what = ("task", ev.task_id.as_str(), None, status.code());
        return conflict(tx, cx, what, "not_applied", Command::TaskStep { event: ev.clone() }, reason);
    };
    let at_ms = ev.at.timestamp_millis();
    tx.exec(
        "INSERT INTO task_event (id, task_id, action, from_status, to_status, actor_id, at_ms, result, note, photos,
                                 received_ms, effective_ms, lat, lng)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
        p![
            &ev.id,
            &ev.task_id,
            ev.action.code(),
            status.code(),
            to.code(),
            cx.worker(),
            at_ms,
            &result,
            serde_json::to_string(&ev.photos).unwrap_or_default(),
            cx.now,
            cx.effective(at_ms),
            ev.location.map(|l| l.lat),
            ev.location.map(|l| l.lng)
        ],
    )?;
    let done_ms = (to == TaskStatus::Done).then(|| cx.effective(at_ms));
    tx.exec(
        "UPDATE task SET status = ?, result = COALESCE(?, result), done_ms = COALESCE(?, done_ms), updated_ms = ? WHERE id = ?",
        p![to.code(), &result, done_ms, cx.now, &ev.task_id],
    )?;
    let worker = cx.device.worker_id.clone();
    cx.changes.task(&ev.task_id, &worker);
    Ok(Outcome::Applied)
}

/// Keep a conflict and say so: `what` is the kind, the entity, its grid and HQ's state of it;
/// the command the phone sent is kept as JSON for the street office to see.
fn conflict(
    tx: &mut dyn Tx,
    cx: &Ctx<'_>,
    (kind, entity_id, grid_id, hq_state): (&str, &str, Option<&str>, &str),
    resolution: &str,
    command: Command,
    reason: String,
) -> Step {
    let payload = serde_json::to_string(&command).unwrap_or_default();
    tx.exec(
        "INSERT INTO conflict (id, kind, entity_id, grid_id, device_id, worker_id, mutation_id, reason, hq_state,
                               resolution, payload, created_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        p![
            new_id(),
            kind,
            entity_id,
            grid_id,
            &cx.device.device_id,
            cx.worker(),
            &cx.op.mutation_id,
            &reason,
            hq_state,
            resolution,
            payload,
            cx.now
        ],
    )?;
    Ok(Outcome::Conflict { reason })
}
