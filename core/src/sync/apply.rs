//! The sync client's database side: which outbox rows go next, what HQ's answers change, and
//! how a pulled page lands — each in one transaction with the cursor it moves.

use gridpatrol_protocol::case_flow::ClearItems;
use gridpatrol_protocol::records::Task;
use gridpatrol_protocol::wire::{OpStatus, PullResponse, PushResponse, PushWriter};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::{CoreError, Result};

/// The next consecutive outbox rows after HQ's cursor, bounded in count and JSON bytes,
/// written as the push's operations; returns the last seq (None: nothing to send). Seqs go out
/// counted from `base` (the current identity's numbering; the outbox keeps its own). Each
/// command goes out as the very text the outbox stored (written by `serde_json` from a
/// `Command`), not parsed and printed again.
pub(super) fn next_batch(
    c: &Connection,
    acked: i64,
    base: i64,
    max_ops: usize,
    max_bytes: usize,
    out: &mut PushWriter<'_>,
) -> Result<Option<i64>> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, mutation_id, hlc, device_ms, payload FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![acked, max_ops as i64])?;
    let (mut last, mut bytes) = (None, 0);
    while let Some(r) = rows.next()? {
        let payload = text(r, 4)?;
        bytes += payload.len() + 96;
        if last.is_some() && bytes > max_bytes {
            break; // always at least one row, however large, so the queue moves
        }
        let seq: i64 = r.get(0)?;
        out.op(seq - base, text(r, 1)?, text(r, 2)?, r.get(3)?, payload);
        last = Some(seq);
    }
    Ok(last)
}

/// A text column, borrowed from SQLite's row.
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| CoreError::Corrupt(format!("outbox column {i}: {e}")))
}

#[derive(Debug, Default)]
pub(super) struct PushCounts {
    pub applied: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub conflicts: u64,
}

/// Mark each result and move HQ's cursor, in one transaction. Rejected rows stay in the
/// outbox with HQ's reason, for the worker to see; they no longer hold the queue.
pub(super) fn push_results(tx: &Transaction<'_>, resp: &PushResponse, now_ms: i64) -> Result<PushCounts> {
    let mut counts = PushCounts::default();
    // The common case, applied or duplicate, is settled by HQ's cursor alone; only rejections
    // and conflicts carry a per-row reason.
    let mut stmt =
        tx.prepare_cached("UPDATE outbox SET state = ?2, last_error = ?3, attempts = attempts + 1 WHERE seq = ?1")?;
    for r in &resp.results {
        match r.status {
            OpStatus::Applied => counts.applied += 1,
            OpStatus::Duplicate => counts.duplicates += 1,
            OpStatus::Conflict => {
                counts.conflicts += 1;
                stmt.execute(params![r.seq, "acked", r.reason])?;
            }
            OpStatus::Rejected => {
                counts.rejected += 1;
                let reason = r.reason.clone().unwrap_or_else(|| "rejected by HQ".into());
                let reason = match &r.code {
                    Some(c) => format!("{reason} ({c})"),
                    None => reason,
                };
                stmt.execute(params![r.seq, "rejected", reason])?;
            }
        }
    }
    drop(stmt);
    // Everything up to HQ's cursor and not rejected is acknowledged: that is HQ's cursor,
    // below, not a mark on each row (rewriting a thousand rows with their payloads cost more
    // than the rest of the push; `outbox::SELECT_COLUMNS` shows such rows as `acked`).
    tx.execute(
        "UPDATE sync_state SET acked_through_seq = MAX(acked_through_seq, ?1), clock_skew_ms = ?2 WHERE id = 1",
        params![resp.acked_through_seq, now_ms - resp.server_time_ms],
    )?;
    Ok(counts)
}

/// HQ expects `through + 1` next: everything after `through` is sent again. `Err(GapAfter)`
/// when the outbox no longer holds that row (HQ lost more than the retention keeps): the store
/// is then marked to take an identity of its own and send what it still holds, numbered from
/// 1, HQ recognising by mutation id what it has.
pub(super) fn rewind_to(tx: &Transaction<'_>, through: i64) -> Result<std::result::Result<i64, GapAfter>> {
    let through = through.max(0);
    let acked: i64 = tx.query_row("SELECT acked_through_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    tx.execute("UPDATE outbox SET state = 'pending' WHERE seq > ?1", [through])?;
    if through < acked {
        // HQ lost what it had acknowledged (it was restored from an older backup): the photos
        // it had may be gone too. Each is asked about again (one status request) and sent
        // where HQ lacks it (docs/SYNC.md, guarantee 9).
        tx.execute("UPDATE attachment SET upload_state = 'pending' WHERE upload_state = 'uploaded'", [])?;
    }
    let first: Option<i64> = tx.query_row("SELECT MIN(seq) FROM outbox WHERE seq > ?1", [through], |r| r.get(0))?;
    if let Some(first) = first.filter(|&f| f > through + 1) {
        tx.execute("UPDATE sync_state SET acked_through_seq = ?1 WHERE id = 1", [first - 1])?;
        tx.execute("UPDATE device SET needs_identity = 1 WHERE id = 1", [])?;
        return Ok(Err(GapAfter(through)));
    }
    tx.execute("UPDATE sync_state SET acked_through_seq = ?1 WHERE id = 1", [through])?;
    Ok(Ok(through))
}

/// HQ holds this store's rows only through this seq, and the outbox no longer has the next.
#[derive(Debug)]
pub(super) struct GapAfter(pub i64);

/// Forget the oldest acknowledged outbox rows recorded before `cutoff_ms` (device clock). What
/// stays is always one unbroken run up to the newest row (its seq is where numbering resumes),
/// holding every row not yet acknowledged and every row recorded since the cutoff; so a rewind
/// never meets a hole in the middle. Refused rows go with the others once older than that.
pub(super) fn prune_outbox(tx: &Transaction<'_>, cutoff_ms: i64) -> Result<u64> {
    let n = tx.execute(
        "DELETE FROM outbox WHERE seq < (
             SELECT MIN(seq) FROM outbox
             WHERE seq > (SELECT acked_through_seq FROM sync_state WHERE id = 1)
                OR device_ms >= ?1
                OR seq = (SELECT MAX(seq) FROM outbox))",
        [cutoff_ms],
    )?;
    Ok(n as u64)
}

/// Photos not yet at HQ: (sha256, file name, size, bytes already uploaded).
pub(super) fn pending_photos(c: &Connection) -> Result<Vec<(String, String, u64, u64)>> {
    let mut stmt = c.prepare_cached(
        "SELECT sha256, file_name, bytes, uploaded_bytes FROM attachment WHERE upload_state = 'pending' ORDER BY added_ms",
    )?;
    let rows =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64, r.get::<_, i64>(3)? as u64)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Photos not yet at HQ and their bytes HQ does not have yet.
pub(crate) fn photos_left(c: &Connection) -> Result<(u64, u64)> {
    let (n, bytes): (i64, i64) = c.query_row(
        "SELECT COUNT(*), COALESCE(SUM(MAX(bytes - uploaded_bytes, 0)), 0) FROM attachment WHERE upload_state = 'pending'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((n.max(0) as u64, bytes.max(0) as u64))
}

pub(super) fn photo_progress(tx: &Transaction<'_>, sha: &str, uploaded: u64) -> Result<()> {
    tx.execute("UPDATE attachment SET uploaded_bytes = ?2 WHERE sha256 = ?1", params![sha, uploaded as i64])?;
    Ok(())
}

pub(super) fn photo_uploaded(tx: &Transaction<'_>, sha: &str, size: u64) -> Result<()> {
    tx.execute(
        "UPDATE attachment SET upload_state = 'uploaded', uploaded_bytes = ?2 WHERE sha256 = ?1",
        params![sha, size as i64],
    )?;
    Ok(())
}

/// Does the outbox still hold unsent work about this task / case? Then HQ's copy must not
/// overwrite it (docs/SYNC.md, guarantee 3); HQ's merged state arrives on a later pull, because
/// applying our pending event changes the record at HQ again.
fn unsent_about(tx: &Transaction<'_>, acked: i64, op: &str, json_path: &str, id: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE seq > ?1 AND op = ?2 AND json_extract(payload, '{json_path}') = ?3)"
        ))?
        .query_row(params![acked, op, id], |r| r.get(0))?)
}

/// Apply one pulled page and its cursors atomically.
pub(super) fn pull_page(
    tx: &Transaction<'_>,
    worker: &str,
    acked: i64,
    page: &PullResponse,
    now_ms: i64,
) -> Result<()> {
    if let Some(config) = &page.reference {
        config.validate()?;
        if !config.workers.iter().any(|w| w.id == worker) {
            return Err(CoreError::Corrupt("HQ's reference data does not include this worker".into()));
        }
        crate::store::apply_reference(tx, config, worker, now_ms)?;
    }
    for grid in &page.purge_grids {
        purge_grid(tx, acked, grid)?;
    }
    for task in &page.tasks {
        apply_task(tx, worker, acked, task, now_ms)?;
    }
    for case in &page.cases {
        if unsent_about(tx, acked, "case_step", "$.event.case_id", &case.case_id)? || case.events.is_empty() {
            continue;
        }
        tx.execute("DELETE FROM case_event WHERE case_id = ?1", [&case.case_id])?;
        let mut clear = ClearItems::default();
        for e in &case.events {
            clear.merge(&e.clear);
            crate::rows::insert_case_event_row(tx, e, "hq")?;
        }
        let state = case.events.last().map(|e| e.to.code()).unwrap_or("reported");
        tx.execute(
            "INSERT INTO case_file (id, report_id, grid_id, state, deadline_ms, clear, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, deadline_ms = excluded.deadline_ms,
                 clear = excluded.clear, updated_ms = excluded.updated_ms",
            params![
                case.case_id,
                case.report_id,
                case.grid_id,
                state,
                clear.deadline.map(|d| d.timestamp_millis()),
                serde_json::to_string(&clear)?,
                now_ms
            ],
        )?;
    }
    tx.execute(
        "UPDATE sync_state SET reference_version = ?1, tasks_cursor = ?2, cases_cursor = ?3 WHERE id = 1",
        params![page.cursors.reference, page.cursors.tasks, page.cursors.cases],
    )?;
    Ok(())
}

fn apply_task(tx: &Transaction<'_>, worker: &str, acked: i64, t: &Task, now_ms: i64) -> Result<()> {
    if unsent_about(tx, acked, "task_step", "$.event.task_id", &t.id)? {
        return Ok(());
    }
    if t.assignee_id != worker {
        // Reassigned to someone else: it leaves this phone.
        tx.execute("DELETE FROM task_event WHERE task_id = ?1", [&t.id])?;
        tx.execute("DELETE FROM task WHERE id = ?1", [&t.id])?;
        return Ok(());
    }
    let created: Option<i64> =
        tx.query_row("SELECT created_ms FROM task WHERE id = ?1", [&t.id], |r| r.get(0)).optional()?;
    tx.execute(
        "INSERT INTO task (id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms,
                           status, result, created_ms, updated_ms, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, title = excluded.title,
             description = excluded.description, target_unit = excluded.target_unit,
             assignee_id = excluded.assignee_id, grid_id = excluded.grid_id, deadline_ms = excluded.deadline_ms,
             status = excluded.status, result = excluded.result, updated_ms = excluded.updated_ms,
             details = excluded.details",
        params![
            t.id,
            t.source.code(),
            t.title,
            t.description,
            t.target_unit,
            t.assignee_id,
            t.grid_id,
            t.deadline.timestamp_millis(),
            t.status.code(),
            t.result,
            created.unwrap_or(now_ms),
            now_ms,
            serde_json::to_string(&t.details)?
        ],
    )?;
    Ok(())
}

/// The worker lost this grid: its records leave the phone, except any still unsent (which
/// stay until HQ has them; HQ then refuses or accepts them by its own rules).
fn purge_grid(tx: &Transaction<'_>, acked: i64, grid: &str) -> Result<()> {
    let keep = "SELECT entity_id FROM outbox WHERE seq > ?2";
    tx.execute(&format!("DELETE FROM visit WHERE grid_id = ?1 AND id NOT IN ({keep})"), params![grid, acked])?;
    tx.execute(
        &format!(
            "DELETE FROM checkpoint WHERE id NOT IN ({keep})
               AND patrol_id IN (SELECT id FROM patrol WHERE grid_id = ?1 AND in_progress = 0)"
        ),
        params![grid, acked],
    )?;
    tx.execute(
        "DELETE FROM patrol_track WHERE patrol_id IN (SELECT id FROM patrol WHERE grid_id = ?1 AND in_progress = 0)",
        [grid],
    )?;
    tx.execute(
        &format!(
            "DELETE FROM patrol WHERE grid_id = ?1 AND in_progress = 0 AND id NOT IN ({keep})
               AND id NOT IN (SELECT patrol_id FROM checkpoint)"
        ),
        params![grid, acked],
    )?;
    tx.execute(
        &format!(
            "DELETE FROM case_event WHERE case_id IN (SELECT id FROM case_file WHERE grid_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM outbox WHERE seq > ?2 AND op = 'case_step'
                               AND json_extract(payload, '$.event.case_id') = case_event.case_id)
               AND case_id NOT IN (SELECT case_id FROM report WHERE id IN ({keep}))"
        ),
        params![grid, acked],
    )?;
    tx.execute("DELETE FROM case_file WHERE grid_id = ?1 AND id NOT IN (SELECT case_id FROM case_event)", [grid])?;
    tx.execute(
        &format!(
            "DELETE FROM report_photo WHERE report_id IN (SELECT id FROM report WHERE grid_id = ?1 AND id NOT IN ({keep}))"
        ),
        params![grid, acked],
    )?;
    tx.execute(&format!("DELETE FROM report WHERE grid_id = ?1 AND id NOT IN ({keep})"), params![grid, acked])?;
    Ok(())
}
