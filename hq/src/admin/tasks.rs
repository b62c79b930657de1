//! Tasks the street dispatches (110 non-police diversion, 12345 hotline, street assignment,
//! the weekly meeting list): each reaches exactly its assignee's phone through the change
//! log; a reassigned task reaches both the old assignee (who removes it) and the new one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use gridpatrol_protocol::domain::{GeoPoint, ReportCategory, TaskAction, TaskSource, TaskStatus};
use gridpatrol_protocol::records::{Task, TaskDetails, TaskInput};
use gridpatrol_protocol::roles;
use gridpatrol_protocol::wire::codes;
use gridpatrol_protocol::{rules, validate};
use serde::{Deserialize, Serialize};

use super::{audit, local_time, Created};
use crate::auth::{self, Operator};
use crate::changes::Changes;
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{ApiPath, AppState, Bearer, JsonBody};
use crate::model::tasks::load_task;
use crate::{new_id, now_ms, p};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    /// Optional: HQ makes a UUIDv7 when absent.
    pub id: Option<String>,
    pub source: TaskSource,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub target_unit: String,
    /// The grid worker who goes; may be left out when a unit (`unit_id`) works it alone.
    #[serde(default)]
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub grid_id: Option<String>,
    pub deadline: DateTime<Utc>,
    /// The unit the task is routed to (`/v1/admin/units`): its operators see and work it.
    #[serde(default)]
    pub unit_id: Option<String>,
    /// 110 diversion: the caller's number (kept at HQ; phones and lists see it masked).
    #[serde(default)]
    pub caller: Option<String>,
    /// Where (WGS-84).
    #[serde(default)]
    pub location: Option<GeoPoint>,
    #[serde(default)]
    pub category: Option<ReportCategory>,
    /// The case this task belongs to.
    #[serde(default)]
    pub case_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignInput {
    pub assignee_id: String,
    #[serde(default)]
    pub grid_id: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskOut {
    #[serde(flatten)]
    pub task: Task,
    pub source_label: String,
    pub status_label: String,
    pub dispatched_at: String,
    pub done_at: Option<String>,
    /// The first acknowledgement and arrival (local time), for the 110 desk's timeliness.
    pub acknowledged_at: Option<String>,
    pub arrived_at: Option<String>,
    /// The same moments as epoch milliseconds, for the console's own arithmetic.
    #[serde(skip)]
    pub times: TaskTimes,
}

/// When a task was dispatched, first acknowledged, first reached and done (epoch ms).
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskTimes {
    pub dispatched_ms: i64,
    pub acknowledged_ms: Option<i64>,
    pub arrived_ms: Option<i64>,
    pub done_ms: Option<i64>,
}

fn task_out(tx: &mut dyn Tx, id: &str) -> Result<TaskOut> {
    let task = load_task(tx, id)?;
    // The first acknowledge and arrive steps, as the figures' 110 timeliness reads them.
    let r = tx.query_one(
        "SELECT t.dispatched_ms, t.done_ms,
                (SELECT MIN(e.effective_ms) FROM task_event e WHERE e.task_id = t.id AND e.action = 'acknowledge'),
                (SELECT MIN(e.effective_ms) FROM task_event e WHERE e.task_id = t.id AND e.action = 'arrive')
         FROM task t WHERE t.id = ?",
        p![id],
    )?;
    let times = TaskTimes {
        dispatched_ms: r.i64(0)?,
        done_ms: r.opt_i64(1)?,
        acknowledged_ms: r.opt_i64(2)?,
        arrived_ms: r.opt_i64(3)?,
    };
    Ok(TaskOut {
        source_label: task.source.label(),
        status_label: task.status.label(),
        dispatched_at: local_time(times.dispatched_ms),
        done_at: times.done_ms.map(local_time),
        acknowledged_at: times.acknowledged_ms.map(local_time),
        arrived_at: times.arrived_ms.map(local_time),
        times,
        task,
    })
}

/// A task is in scope through its grid, or through its assignee when it has none; one with
/// neither (a unit's alone) is the street admin's.
fn require_task(tx: &mut dyn Tx, op: &Operator, grid: Option<&str>, assignee: Option<&str>) -> Result<()> {
    match (grid, assignee) {
        (Some(g), _) => op.require_grid(tx, g),
        (None, Some(a)) => op.require_worker(tx, a),
        (None, None) => op.require_admin(),
    }
}

/// Whether a task is in an office account's scope (the list's test, as `require_task`'s).
pub(crate) fn task_visible(
    tx: &mut dyn Tx,
    scope: &auth::Scope,
    grid: Option<&str>,
    assignee: Option<&str>,
) -> Result<bool> {
    Ok(match (grid, assignee) {
        (Some(g), _) => scope.grid(g),
        (None, Some(a)) => scope.any_grid(auth::worker_grids(tx, a)?.iter()),
        (None, None) => scope.grids.is_none(),
    })
}

/// The assignee exists and (when a grid is named) covers it.
pub(crate) fn check_assignee(tx: &mut dyn Tx, assignee: &str, grid: Option<&str>) -> Result<()> {
    if tx.query_opt("SELECT 1 FROM worker WHERE id = ?", p![assignee])?.is_none() {
        return Err(ApiError::invalid("assignee_id", "no such worker"));
    }
    if let Some(g) = grid {
        if !auth::worker_grids(tx, assignee)?.iter().any(|x| x == g) {
            return Err(ApiError::invalid("grid_id", "is not one of the assignee's grids"));
        }
    }
    Ok(())
}

fn task_event(
    tx: &mut dyn Tx,
    task_id: &str,
    action: &str,
    from: TaskStatus,
    to: TaskStatus,
    actor: &str,
    note: Option<&str>,
) -> Result<()> {
    let now = now_ms();
    tx.exec(
        "INSERT INTO task_event (id, task_id, action, from_status, to_status, actor_id, at_ms, result, note, photos,
                                 received_ms, effective_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, '[]', ?, ?)",
        p![new_id(), task_id, action, from.code(), to.code(), actor, now, note, now, now],
    )?;
    Ok(())
}

pub async fn list_tasks(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<TaskOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            // A unit's account: the tasks routed to its unit, nothing else.
            if let Some(unit) = op.unit() {
                let ids: Vec<String> = tx
                    .query("SELECT id FROM task WHERE unit_id = ? ORDER BY dispatched_ms DESC, id", p![unit])?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<crate::db::DbResult<_>>()?;
                return ids.iter().map(|id| task_out(tx, id)).collect();
            }
            let scope = op.scope(tx)?;
            let rows = tx.query("SELECT id, grid_id, assignee_id FROM task ORDER BY dispatched_ms DESC, id", p![])?;
            let mut out = Vec::new();
            for r in rows {
                if task_visible(tx, &scope, r.opt_text(1)?.as_deref(), r.opt_text(2)?.as_deref())? {
                    out.push(task_out(tx, &r.text(0)?)?);
                }
            }
            Ok(out)
        })
        .await?,
    ))
}

pub async fn dispatch(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(i): JsonBody<DispatchInput>,
) -> Result<Created<TaskOut>> {
    let now = now_ms();
    let input = TaskInput {
        id: i.id.unwrap_or_else(new_id),
        source: i.source,
        title: i.title.trim().to_string(),
        description: i.description.trim().to_string(),
        target_unit: i.target_unit.trim().to_string(),
        assignee_id: i.assignee_id,
        grid_id: i.grid_id,
        deadline: i.deadline,
        dispatched_at: crate::to_time(now),
        details: TaskDetails {
            unit_id: i.unit_id,
            unit_name: None,
            caller: i.caller,
            location: i.location,
            category: i.category,
            case_id: i.case_id,
        },
    };
    input.validate("task")?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            if let Some(a) = &input.assignee_id {
                check_assignee(tx, a, input.grid_id.as_deref())?;
            }
            require_task(tx, &op, input.grid_id.as_deref(), input.assignee_id.as_deref())?;
            if !insert_task(tx, &input, &op.id, now)? {
                return Err(ApiError::conflict("a task with this id already exists"));
            }
            audit(tx, &op.id, "task.dispatch", &input.id)?;
            task_out(tx, &input.id)
        })
        .await?,
    ))
}

/// Dispatch a checked task (the console's, or one in an imported configuration): the row, its
/// first event, and the change that sends it to the assignee's phone. False when a task with
/// this id already exists (nothing written).
pub(crate) fn insert_task(tx: &mut dyn Tx, input: &TaskInput, by: &str, now: i64) -> Result<bool> {
    if let Some(u) = &input.details.unit_id {
        let Some(unit) = tx.query_opt("SELECT community_ids FROM unit WHERE id = ?", p![u])? else {
            return Err(ApiError::invalid("details.unit_id", "no such unit"));
        };
        // A unit takes tasks only in the communities it serves.
        if let Some(g) = &input.grid_id {
            let served: Vec<String> = unit.json(0)?;
            let community = tx.query_opt("SELECT community_id FROM grid WHERE id = ?", p![g])?.map(|r| r.text(0));
            if let Some(c) = community.transpose()? {
                if !served.contains(&c) {
                    return Err(ApiError::invalid("details.unit_id", "this unit does not serve the task's community"));
                }
            }
        }
    }
    // The unit is a column (its operators' list); the rest of the particulars, caller in full,
    // stay at HQ as JSON and leave it masked (`model::tasks::load_task`).
    let details = TaskDetails { unit_id: None, unit_name: None, ..input.details.clone() };
    let n = tx.exec(
        "INSERT INTO task (id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status,
                                   result, dispatched_ms, dispatched_by, done_ms, updated_ms, unit_id, details)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        p![
            &input.id,
            input.source.code(),
            &input.title,
            &input.description,
            &input.target_unit,
            &input.assignee_id,
            &input.grid_id,
            input.deadline.timestamp_millis(),
            TaskStatus::Dispatched.code(),
            input.dispatched_at.timestamp_millis(),
            by,
            now,
            &input.details.unit_id,
            serde_json::to_string(&details).unwrap_or_default()
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    task_event(tx, &input.id, "dispatch", TaskStatus::Dispatched, TaskStatus::Dispatched, by, None)?;
    if let Some(a) = &input.assignee_id {
        let mut changes = Changes::default();
        changes.task(&input.id, a);
        changes.flush(tx, now)?;
    }
    Ok(true)
}

struct TaskRow {
    status: TaskStatus,
    assignee: Option<String>,
    grid: Option<String>,
}

fn lock_task(tx: &mut dyn Tx, id: &str) -> Result<TaskRow> {
    let r = tx
        .query_opt("SELECT status, assignee_id, grid_id FROM task WHERE id = ? FOR UPDATE", p![id])?
        .ok_or_else(|| ApiError::not_found("task"))?;
    Ok(TaskRow {
        status: TaskStatus::from_code(&r.text(0)?).ok_or_else(|| ApiError::internal("task status"))?,
        assignee: r.opt_text(1)?,
        grid: r.opt_text(2)?,
    })
}

fn require_open(t: &TaskRow) -> Result<()> {
    if matches!(t.status, TaskStatus::Done | TaskStatus::Cancelled) {
        return Err(ApiError::conflict(format!("the task is already {}", t.status.label())));
    }
    Ok(())
}

pub async fn reassign(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(i): JsonBody<ReassignInput>,
) -> Result<Json<TaskOut>> {
    validate::id("assignee_id", &i.assignee_id)?;
    let note = validate::optional_text("note", i.note.as_deref(), rules::MAX_NOTE_CHARS)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let t = lock_task(tx, &id)?;
            require_task(tx, &op, t.grid.as_deref(), t.assignee.as_deref())?;
            require_open(&t)?;
            let new_grids = auth::worker_grids(tx, &i.assignee_id)?;
            // Keep the task's grid when the new assignee covers it; otherwise the one given, or none.
            let grid = match i.grid_id {
                Some(g) => Some(g),
                None => t.grid.clone().filter(|g| new_grids.contains(g)),
            };
            check_assignee(tx, &i.assignee_id, grid.as_deref())?;
            require_task(tx, &op, grid.as_deref(), Some(&i.assignee_id))?;
            let now = now_ms();
            // The new assignee starts from "dispatched": acknowledging is theirs to do.
            tx.exec(
                "UPDATE task SET assignee_id = ?, grid_id = ?, status = ?, updated_ms = ? WHERE id = ?",
                p![&i.assignee_id, &grid, TaskStatus::Dispatched.code(), now, &id],
            )?;
            task_event(tx, &id, "reassign", t.status, TaskStatus::Dispatched, &op.id, note.as_deref())?;
            let mut changes = Changes::default();
            if let Some(old) = &t.assignee {
                changes.task(&id, old);
            }
            changes.task(&id, &i.assignee_id);
            changes.flush(tx, now)?;
            audit(tx, &op.id, "task.reassign", &id)?;
            task_out(tx, &id)
        })
        .await?,
    ))
}

pub async fn cancel(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    body: crate::http::RawBody,
) -> Result<Json<TaskOut>> {
    let input: CancelInput = if body.0.iter().all(|b| b.is_ascii_whitespace()) {
        CancelInput::default()
    } else {
        serde_json::from_slice(&body.0).map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?
    };
    let note = validate::optional_text("note", input.note.as_deref(), rules::MAX_NOTE_CHARS)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let t = lock_task(tx, &id)?;
            require_task(tx, &op, t.grid.as_deref(), t.assignee.as_deref())?;
            require_open(&t)?;
            let now = now_ms();
            tx.exec(
                "UPDATE task SET status = ?, updated_ms = ? WHERE id = ?",
                p![TaskStatus::Cancelled.code(), now, &id],
            )?;
            task_event(tx, &id, "cancel", t.status, TaskStatus::Cancelled, &op.id, note.as_deref())?;
            let mut changes = Changes::default();
            if let Some(a) = &t.assignee {
                changes.task(&id, a);
            }
            changes.flush(tx, now)?;
            audit(tx, &op.id, "task.cancel", &id)?;
            task_out(tx, &id)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskStepInput {
    pub action: TaskAction,
    /// The result (completing) or the reason (sending back).
    #[serde(default)]
    pub result: Option<String>,
    /// The GPS fix when arriving on site (WGS-84).
    #[serde(default)]
    pub location: Option<GeoPoint>,
}

/// A unit's field step on a task routed to it: acknowledge, on the way, arrived (with its GPS
/// fix), done (with the result) or send back (with the reason) — the same state machine and
/// rules as a worker's phone. The assignee's phone hears of it at its next sync.
pub async fn step(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(i): JsonBody<TaskStepInput>,
) -> Result<Json<TaskOut>> {
    let result = validate::optional_text("result", i.result.as_deref(), rules::MAX_DESCRIPTION_CHARS)?;
    rules::task_step(i.action, result.as_deref(), 0, i.location)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            if !roles::may_take_task_step(op.role.actor()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    codes::ROLE_NOT_ALLOWED,
                    "the offices dispatch, reassign and cancel; field steps are the unit's and the worker's",
                ));
            }
            let t = lock_task(tx, &id)?;
            let unit: Option<String> = tx.query_one("SELECT unit_id FROM task WHERE id = ?", p![&id])?.opt_text(0)?;
            if op.unit().is_none() || op.unit() != unit.as_deref() {
                return Err(ApiError::forbidden("this task is not routed to your unit"));
            }
            let to = rules::task_transition(t.status, i.action).ok_or_else(|| {
                ApiError::conflict(format!("cannot {} a task that is {}", i.action.label(), t.status.label()))
            })?;
            let now = now_ms();
            let done_ms = (to == TaskStatus::Done).then_some(now);
            tx.exec(
                "UPDATE task SET status = ?, result = COALESCE(?, result), done_ms = COALESCE(?, done_ms), updated_ms = ?
                 WHERE id = ?",
                p![to.code(), &result, done_ms, now, &id],
            )?;
            tx.exec(
                "INSERT INTO task_event (id, task_id, action, from_status, to_status, actor_id, at_ms, result, note, photos,
                                         received_ms, effective_ms, lat, lng)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, '[]', ?, ?, ?, ?)",
                p![
                    new_id(),
                    &id,
                    i.action.code(),
                    t.status.code(),
                    to.code(),
                    &op.id,
                    now,
                    &result,
                    now,
                    now,
                    i.location.map(|l| l.lat),
                    i.location.map(|l| l.lng)
                ],
            )?;
            let mut changes = Changes::default();
            if let Some(a) = &t.assignee {
                changes.task(&id, a);
            }
            changes.flush(tx, now)?;
            audit(tx, &op.id, "task.step", &id)?;
            task_out(tx, &id)
        })
        .await?,
    ))
}
