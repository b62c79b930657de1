//! How the phone's records are kept as SQLite rows, read and written by every concern that
//! needs them: the recording operations (`recording.rs`), the views (`view.rs`) and the sync
//! client landing HQ's changes (`sync/apply.rs`). None of those three imports another.

use rusqlite::{params, Connection, OptionalExtension};

use crate::case_flow::ClearItems;
use crate::clock::to_time;
use crate::domain::*;
use crate::records::*;
use crate::{CoreError, Result};

/// One row of a case's event log; `hlc` is the device's for its own events, "hq" for HQ's.
/// An event already present (same id) is left as it is: the log is append-only.
pub(crate) fn insert_case_event_row(conn: &Connection, ev: &CaseEvent, hlc: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO case_event (id, case_id, n, from_state, to_state, actor_id, at_ms, note, clear, photos, hlc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        ev.id,
        ev.case_id,
        ev.n,
        ev.from.map(|s| s.code()),
        ev.to.code(),
        ev.actor_id,
        ev.at.timestamp_millis(),
        ev.note,
        serde_json::to_string(&ev.clear)?,
        serde_json::to_string(&ev.photos)?,
        hlc
    ])?;
    Ok(())
}

fn parse_code<T>(v: String, f: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    f(&v).ok_or_else(|| rusqlite::Error::InvalidColumnType(0, v, rusqlite::types::Type::Text))
}

/// Current state, clear items and grid of a case.
pub(crate) fn case_state(conn: &Connection, case_id: &str) -> Result<(CaseState, ClearItems, String)> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT state, clear, grid_id FROM case_file WHERE id = ?1")?
        .query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (state, clear, grid) = row.ok_or_else(|| CoreError::not_found("case", case_id))?;
    Ok((parse_code(state, CaseState::from_code)?, serde_json::from_str(&clear)?, grid))
}

pub(crate) fn load_patrol(conn: &Connection, id: &str) -> Result<Option<Patrol>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, worker_id, grid_id, shift, template_id, template_version, started_ms, finished_ms, outcome, note
             FROM patrol WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Patrol {
                id: r.get(0)?,
                worker_id: r.get(1)?,
                grid_id: r.get(2)?,
                shift: parse_code(r.get(3)?, PatrolShift::from_code)?,
                template_id: r.get(4)?,
                template_version: r.get(5)?,
                started_at: to_time(r.get(6)?),
                finished_at: r.get::<_, Option<i64>>(7)?.map(to_time),
                outcome: r.get::<_, Option<String>>(8)?.map(|s| parse_code(s, PatrolOutcome::from_code)).transpose()?,
                note: r.get(9)?,
            })
        })
        .optional()?)
}

pub(crate) fn load_task(conn: &Connection, id: &str) -> Result<Option<Task>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result,
                    details
             FROM task WHERE id = ?1",
        )?
        .query_row([id], task_from_row)
        .optional()?)
}

pub(crate) fn task_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        id: r.get(0)?,
        source: parse_code(r.get(1)?, TaskSource::from_code)?,
        title: r.get(2)?,
        description: r.get(3)?,
        target_unit: r.get(4)?,
        assignee_id: r.get(5)?,
        grid_id: r.get(6)?,
        deadline: to_time(r.get(7)?),
        status: parse_code(r.get(8)?, TaskStatus::from_code)?,
        result: r.get(9)?,
        details: r.get::<_, Option<String>>(10)?.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default(),
    })
}

pub(crate) fn case_events(conn: &Connection, case_id: &str) -> Result<Vec<CaseEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, case_id, n, from_state, to_state, actor_id, at_ms, note, clear, photos
         FROM case_event WHERE case_id = ?1 ORDER BY n",
    )?;
    let rows = stmt.query_map([case_id], |r| {
        let clear: String = r.get(8)?;
        let photos: String = r.get(9)?;
        Ok(CaseEvent {
            id: r.get(0)?,
            case_id: r.get(1)?,
            n: r.get(2)?,
            from: r.get::<_, Option<String>>(3)?.map(|s| parse_code(s, CaseState::from_code)).transpose()?,
            to: parse_code(r.get(4)?, CaseState::from_code)?,
            actor_id: r.get(5)?,
            at: to_time(r.get(6)?),
            note: r.get(7)?,
            clear: serde_json::from_str(&clear).unwrap_or_default(),
            photos: serde_json::from_str(&photos).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
