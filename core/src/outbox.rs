//! The transactional outbox: one row per domain command, written in the same SQLite
//! transaction as the change it describes, numbered gap-free per device and epoch.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use crate::clock::to_time;
use crate::hlc::Hlc;
use crate::records::Command;
use crate::Result;

/// One outbox row as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    pub seq: i64,
    pub device_id: String,
    pub epoch: i64,
    pub mutation_id: String,
    pub hlc: String,
    pub op: String,
    pub entity_id: String,
    /// Device clock when recorded (data, not ordering: the HLC and seq order).
    pub recorded_at: DateTime<Utc>,
    /// pending | rejected | acked
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub command: Command,
}

/// Append the outbox row of `cmd`, stamped with the identity the store had when it was
/// recorded (data only: the sync numbers what it sends from the current identity's base).
pub(crate) fn append(
    tx: &Transaction<'_>,
    (device_id, epoch): (&str, i64),
    seq: i64,
    hlc: Hlc,
    device_ms: i64,
    cmd: &Command,
) -> Result<()> {
    let payload = serde_json::to_string(cmd)?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO outbox (seq, device_id, epoch, mutation_id, hlc, op, entity_id, payload, device_ms, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
    )?;
    stmt.execute(params![
        seq,
        device_id,
        epoch,
        crate::new_id(),
        hlc.to_string(),
        cmd.kind(),
        cmd.entity_id(),
        payload,
        device_ms
    ])?;
    Ok(())
}

/// The last sequence number used and the last HLC issued, to resume numbering after a restart.
/// Never below HQ's cursor: after unsent rows were discarded (a phone handed back,
/// `crate::wipe`) numbering carries on from what HQ acknowledged, never reusing a settled seq.
pub(crate) fn last_seq_and_hlc(conn: &rusqlite::Connection) -> Result<(i64, Hlc)> {
    let row: Option<(i64, String)> = conn
        .query_row("SELECT seq, hlc FROM outbox ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let acked: i64 = conn
        .query_row("SELECT acked_through_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    Ok(match row {
        Some((seq, hlc)) => (seq.max(acked), Hlc::parse(&hlc).unwrap_or_default()),
        None => (acked, Hlc::default()),
    })
}

pub(crate) fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let payload: String = r.get(7)?;
    let command = serde_json::from_str(&payload)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(OutboxEntry {
        seq: r.get(0)?,
        device_id: r.get(1)?,
        epoch: r.get(2)?,
        mutation_id: r.get(3)?,
        hlc: r.get(4)?,
        op: r.get(5)?,
        entity_id: r.get(6)?,
        recorded_at: to_time(r.get(8)?),
        state: r.get(9)?,
        attempts: r.get(10)?,
        last_error: r.get(11)?,
        command,
    })
}

/// `state` as stored, except that a `pending` row at or below HQ's cursor is `acked` (the
/// sync acknowledges by moving the cursor, without touching each row).
pub(crate) const SELECT_COLUMNS: &str = "seq, device_id, epoch, mutation_id, hlc, op, entity_id, payload, device_ms,
     CASE WHEN state = 'pending' AND seq <= (SELECT acked_through_seq FROM sync_state WHERE id = 1)
          THEN 'acked' ELSE state END,
     attempts, last_error";

/// Outbox rows from `after_seq` on, in order.
pub(crate) fn list(conn: &rusqlite::Connection, after_seq: i64, limit: u32) -> Result<Vec<OutboxEntry>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {SELECT_COLUMNS} FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
    let rows = stmt.query_map(params![after_seq, limit], row_to_entry)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
