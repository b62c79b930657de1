//! Tasks the street dispatches (110 non-police diversion, 12345 hotline, street assignment,
//! the weekly meeting list): each reaches exactly its assignee's phone through the change
//! log; a reassigned task reaches both the old assignee (who removes it) and the new one.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use gridpatrol_protocol::domain::{TaskSource, TaskStatus};
use gridpatrol_protocol::records::{Task, TaskInput};
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
    pub assignee_id: String,
    #[serde(default)]
    pub grid_id: Option<String>,
    pub deadline: DateTime<Utc>,
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
}

fn task_out(tx: &mut dyn Tx, id: &str) -> Result<TaskOut> {
    let task = load_task(tx, id)?;
    let r = tx.query_one("SELECT dispatched_ms, done_ms FROM task WHERE id = ?", p![id])?;
    Ok(TaskOut {
        source_label: task.source.label(),
        status_label: task.status.label(),
        dispatched_at: local_time(r.i64(0)?),
        done_at: r.opt_i64(1)?.map(local_time),
        task,
    })
}

/// A task is in scope through its grid, or through its assignee when it has none.
fn require_task(tx: &mut dyn Tx, op: &Operator, grid: Option<&str>, assignee: &str) -> Result<()> {
    match grid {
        Some(g) => op.require_grid(tx, g),
        None => op.require_worker(tx, assignee),
    }
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
            let scope = op.scope(tx)?;
            let rows = tx.query("SELECT id, grid_id, assignee_id FROM task ORDER BY dispatched_ms DESC, id", p![])?;
            let mut out = Vec::new();
            for r in rows {
                let visible = match r.opt_text(1)? {
                    Some(g) => scope.grid(&g),
                    None => scope.any_grid(auth::worker_grids(tx, &r.text(2)?)?.iter()),
                };
                if visible {
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
    };
    input.validate("task")?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            check_assignee(tx, &input.assignee_id, input.grid_id.as_deref())?;
            require_task(tx, &op, input.grid_id.as_deref(), &input.assignee_id)?;
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
    let n = tx.exec(
        "INSERT INTO task (id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status,
                                   result, dispatched_ms, dispatched_by, done_ms, updated_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, ?) ON CONFLICT (id) DO NOTHING",
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
            now
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    task_event(tx, &input.id, "dispatch", TaskStatus::Dispatched, TaskStatus::Dispatched, by, None)?;
    let mut changes = Changes::default();
    changes.task(&input.id, &input.assignee_id);
    changes.flush(tx, now)?;
    Ok(true)
}

struct TaskRow {
    status: TaskStatus,
    assignee: String,
    grid: Option<String>,
}

fn lock_task(tx: &mut dyn Tx, id: &str) -> Result<TaskRow> {
    let r = tx
        .query_opt("SELECT status, assignee_id, grid_id FROM task WHERE id = ? FOR UPDATE", p![id])?
        .ok_or_else(|| ApiError::not_found("task"))?;
    Ok(TaskRow {
        status: TaskStatus::from_code(&r.text(0)?).ok_or_else(|| ApiError::internal("task status"))?,
        assignee: r.text(1)?,
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
            require_task(tx, &op, t.grid.as_deref(), &t.assignee)?;
            require_open(&t)?;
            let new_grids = auth::worker_grids(tx, &i.assignee_id)?;
            // Keep the task's grid when the new assignee covers it; otherwise the one given, or none.
            let grid = match i.grid_id {
                Some(g) => Some(g),
                None => t.grid.clone().filter(|g| new_grids.contains(g)),
            };
            check_assignee(tx, &i.assignee_id, grid.as_deref())?;
            require_task(tx, &op, grid.as_deref(), &i.assignee_id)?;
            let now = now_ms();
            // The new assignee starts from "dispatched": acknowledging is theirs to do.
            tx.exec(
                "UPDATE task SET assignee_id = ?, grid_id = ?, status = ?, updated_ms = ? WHERE id = ?",
                p![&i.assignee_id, &grid, TaskStatus::Dispatched.code(), now, &id],
            )?;
            task_event(tx, &id, "reassign", t.status, TaskStatus::Dispatched, &op.id, note.as_deref())?;
            let mut changes = Changes::default();
            changes.task(&id, &t.assignee);
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
            require_task(tx, &op, t.grid.as_deref(), &t.assignee)?;
            require_open(&t)?;
            let now = now_ms();
            tx.exec(
                "UPDATE task SET status = ?, updated_ms = ? WHERE id = ?",
                p![TaskStatus::Cancelled.code(), now, &id],
            )?;
            task_event(tx, &id, "cancel", t.status, TaskStatus::Cancelled, &op.id, note.as_deref())?;
            let mut changes = Changes::default();
            changes.task(&id, &t.assignee);
            changes.flush(tx, now)?;
            audit(tx, &op.id, "task.cancel", &id)?;
            task_out(tx, &id)
        })
        .await?,
    ))
}
