//! 相约星期五: a community's weekly meeting with residents and its 民情清单 — each request gets an
//! owner (a unit, or a grid worker) and a deadline, becomes a task (source `weekly_meeting`)
//! and is tracked to closure through it. The list shows each item open, closed or overdue.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use gridpatrol_protocol::domain::{TaskSource, TaskStatus};
use gridpatrol_protocol::records::{TaskDetails, TaskInput};
use gridpatrol_protocol::{rules, validate};
use serde::{Deserialize, Serialize};

use super::tasks::{check_assignee, insert_task};
use super::{audit, local_time, Created};
use crate::auth;
use crate::error::{ApiError, Result};
use crate::http::{ApiQuery, AppState, Bearer, JsonBody};
use crate::{new_id, now_ms, p};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListItemInput {
    /// The resident's request, in their words.
    pub topic: String,
    /// The household that raised it, when known.
    #[serde(default)]
    pub household_id: Option<String>,
    /// Who raised it, when not a household on record ("居民代表", …).
    #[serde(default)]
    pub raised_by: Option<String>,
    /// The grid it concerns, and the grid worker who follows it up.
    pub grid_id: String,
    pub assignee_id: String,
    /// The unit that owns it, when a unit does; otherwise the worker owns it.
    #[serde(default)]
    pub unit_id: Option<String>,
    pub deadline: DateTime<Utc>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    pub community_id: String,
    /// The meeting's date, `YYYY-MM-DD` (the street's local day).
    pub held_on: String,
    pub attendees: u32,
    #[serde(default)]
    pub note: Option<String>,
    pub items: Vec<ListItemInput>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListItemOut {
    pub n: i64,
    pub topic: String,
    pub raised_by: Option<String>,
    pub household_id: Option<String>,
    pub task_id: String,
    pub owner: String,
    pub deadline: String,
    /// open, closed or overdue (sent back and cancelled items show as such).
    pub state: String,
    pub state_label: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingOut {
    pub id: String,
    pub community_id: String,
    pub held_on: String,
    pub attendees: i64,
    pub note: Option<String>,
    pub items: Vec<ListItemOut>,
    pub open: i64,
    pub closed: i64,
    pub overdue: i64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MeetingQuery {
    #[serde(default)]
    pub community_id: Option<String>,
}

/// Record a meeting and its list: every item becomes a task in the same transaction.
pub async fn create_meeting(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(m): JsonBody<MeetingInput>,
) -> Result<Created<MeetingOut>> {
    validate::id("community_id", &m.community_id)?;
    let held = NaiveDate::parse_from_str(&m.held_on, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid("held_on", "expected a date YYYY-MM-DD"))?;
    let held_ms = super::street_tz()
        .from_local_datetime(&held.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| ApiError::invalid("held_on", "not a day in the street's time zone"))?;
    validate::plausible_time("held_on", Utc.timestamp_millis_opt(held_ms).single().unwrap_or_default())?;
    if m.attendees > 100_000 {
        return Err(ApiError::invalid("attendees", "must be 0..100000"));
    }
    let note = validate::optional_text("note", m.note.as_deref(), rules::MAX_NOTE_CHARS)?;
    if m.items.is_empty() || m.items.len() > 200 {
        return Err(ApiError::invalid("items", "a list has 1..200 items"));
    }
    let now = now_ms();
    let meeting_id = new_id();
    let mut tasks = Vec::new();
    for (i, it) in m.items.iter().enumerate() {
        let field = format!("items[{i}]");
        let topic = validate::required_text(&format!("{field}.topic"), &it.topic, rules::MAX_DESCRIPTION_CHARS)?;
        validate::optional_text(&format!("{field}.raised_by"), it.raised_by.as_deref(), rules::MAX_PERSON_NAME_CHARS)?;
        if let Some(h) = &it.household_id {
            validate::id(&format!("{field}.household_id"), h)?;
        }
        let title: String = topic.chars().take(60).collect();
        let task = TaskInput {
            id: new_id(),
            source: TaskSource::WeeklyMeeting,
            title: format!("民情清单：{title}"),
            description: topic,
            target_unit: it
                .unit_id
                .clone()
                .map(|_| "处置单位 (unit)".to_string())
                .unwrap_or_else(|| "网格 (grid)".into()),
            assignee_id: Some(it.assignee_id.clone()),
            grid_id: Some(it.grid_id.clone()),
            deadline: it.deadline,
            dispatched_at: crate::to_time(now),
            details: TaskDetails { unit_id: it.unit_id.clone(), ..TaskDetails::default() },
        };
        task.validate(&field)?;
        tasks.push(task);
    }
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            if tx.query_opt("SELECT 1 FROM community WHERE id = ?", p![&m.community_id])?.is_none() {
                return Err(ApiError::invalid("community_id", "no such community"));
            }
            op.require_community(&m.community_id)?;
            tx.exec(
                "INSERT INTO meeting (id, community_id, held_on, attendees, note, created_by, created_ms, held_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                p![&meeting_id, &m.community_id, &m.held_on, i64::from(m.attendees), &note, &op.id, now, held_ms],
            )?;
            for (i, (it, task)) in m.items.iter().zip(&tasks).enumerate() {
                let field = format!("items[{i}]");
                let grid_community =
                    tx.query_opt("SELECT community_id FROM grid WHERE id = ?", p![&it.grid_id])?.map(|r| r.text(0));
                if grid_community.transpose()?.as_deref() != Some(m.community_id.as_str()) {
                    return Err(ApiError::invalid(format!("{field}.grid_id"), "not a grid of this community"));
                }
                check_assignee(tx, &it.assignee_id, Some(&it.grid_id)).map_err(|e| e.within(&field))?;
                insert_task(tx, task, &op.id, now).map_err(|e| e.within(&field))?;
                tx.exec(
                    "INSERT INTO list_item (id, meeting_id, n, topic, raised_by, household_id, task_id)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                    p![
                        new_id(),
                        &meeting_id,
                        (i + 1) as i64,
                        &task.description,
                        &it.raised_by,
                        &it.household_id,
                        &task.id
                    ],
                )?;
            }
            audit(tx, &op.id, "meeting.record", &meeting_id)?;
            load_meeting(tx, &meeting_id, now)
        })
        .await?,
    ))
}

/// Meetings in the account's communities, newest first, each with its list and counts.
pub async fn list_meetings(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<MeetingQuery>,
) -> Result<Json<Vec<MeetingOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let ids: Vec<(String, String)> = tx
                .query("SELECT id, community_id FROM meeting ORDER BY held_ms DESC, id", p![])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?)))
                .collect::<crate::db::DbResult<_>>()?;
            let now = now_ms();
            let mut out = Vec::new();
            for (id, community) in ids {
                if scope.community(&community) && q.community_id.as_ref().is_none_or(|c| *c == community) {
                    out.push(load_meeting(tx, &id, now)?);
                }
            }
            Ok(out)
        })
        .await?,
    ))
}

/// An item's state from its task: closed when done, overdue when open past the deadline.
pub fn item_state(status: TaskStatus, deadline_ms: i64, now: i64) -> (&'static str, String) {
    match status {
        TaskStatus::Done => ("closed", "已办结 (closed)".into()),
        TaskStatus::SentBack | TaskStatus::Cancelled => (status.code(), status.label()),
        _ if now > deadline_ms => ("overdue", "已超期 (overdue)".into()),
        _ => ("open", "办理中 (open)".into()),
    }
}

fn load_meeting(tx: &mut dyn crate::db::Tx, id: &str, now: i64) -> Result<MeetingOut> {
    let m = tx.query_one("SELECT community_id, held_on, attendees, note FROM meeting WHERE id = ?", p![id])?;
    let mut out = MeetingOut {
        id: id.to_string(),
        community_id: m.text(0)?,
        held_on: m.text(1)?,
        attendees: m.i64(2)?,
        note: m.opt_text(3)?,
        items: Vec::new(),
        open: 0,
        closed: 0,
        overdue: 0,
    };
    for r in tx.query(
        "SELECT i.n, i.topic, i.raised_by, i.household_id, i.task_id, t.status, t.deadline_ms, t.assignee_id, u.name
         FROM list_item i JOIN task t ON t.id = i.task_id LEFT JOIN unit u ON u.id = t.unit_id
         WHERE i.meeting_id = ? ORDER BY i.n",
        p![id],
    )? {
        let status = TaskStatus::from_code(&r.text(5)?).ok_or_else(|| ApiError::internal("task status"))?;
        let deadline = r.i64(6)?;
        let (state, state_label) = item_state(status, deadline, now);
        match state {
            "closed" => out.closed += 1,
            "overdue" => out.overdue += 1,
            "open" => out.open += 1,
            _ => {}
        }
        out.items.push(ListItemOut {
            n: r.i64(0)?,
            topic: r.text(1)?,
            raised_by: r.opt_text(2)?,
            household_id: r.opt_text(3)?,
            task_id: r.text(4)?,
            owner: r.opt_text(8)?.unwrap_or(r.text(7)?),
            deadline: local_time(deadline),
            state: state.to_string(),
            state_label,
        });
    }
    Ok(out)
}
