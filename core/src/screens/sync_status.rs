//! What has not reached HQ yet: waiting records, records HQ refused (with the reason and what
//! the worker can do), queued photos and their bytes, the last attempts. And the two things a
//! worker may do with a refused record: send it again, or discard it after confirming.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::home::{sync_summary, unsent_summary, SyncSummary, UnsentSummary};
use super::{t, Action, ActionOption};
use crate::clock::to_time;
use crate::domain::*;
use crate::outbox::{self, OutboxEntry};
use crate::records::Command;
use crate::store::Store;
use crate::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PendingUploads {
    pub unsent_records: u64,
    pub unsent_photos: u64,
    pub rejected: u64,
    /// Rejected first (they need the worker), then waiting records in order, then photos.
    pub items: Vec<PendingItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PendingItem {
    /// Outbox sequence number; None for photos.
    pub seq: Option<i64>,
    pub kind: String,
    pub label: String,
    pub entity_id: String,
    pub state: UploadState,
    pub state_label: String,
    pub recorded_at: DateTime<Utc>,
    pub attempts: u32,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatusScreen {
    pub unsent: UnsentSummary,
    pub last_sync: SyncSummary,
    /// Records HQ refused, with HQ's reason and the worker's choices.
    pub rejected: Vec<RejectedItem>,
    /// Records waiting to be sent, oldest first (at most 50; `unsent` has the count).
    pub waiting: Vec<PendingItem>,
    pub photos_queued: u32,
    pub photo_bytes_queued: u64,
    /// Of those bytes, already at HQ (an upload resumes where it stopped).
    pub photo_bytes_sent: u64,
    pub actions: Vec<ActionOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RejectedItem {
    pub seq: i64,
    pub label: String,
    pub entity_id: String,
    pub recorded_at: DateTime<Utc>,
    pub reason: String,
    /// In plain words: what the worker can do about it.
    pub advice: String,
    /// Send again (after HQ fixed what it refused for), or discard (asks to confirm first).
    pub actions: Vec<ActionOption>,
}

fn pending_from_outbox(e: OutboxEntry, state: UploadState, lang: Lang) -> PendingItem {
    PendingItem {
        seq: Some(e.seq),
        kind: e.op.clone(),
        label: e.command.label().to_string(),
        entity_id: e.entity_id,
        state,
        state_label: state.label_in(lang),
        recorded_at: e.recorded_at,
        attempts: e.attempts,
        reason: e.last_error,
    }
}

impl Store {
    /// What has not reached HQ yet, item by item.
    pub fn pending_uploads(&self, limit: u32) -> Result<PendingUploads> {
        let lang = self.language();
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let summary = unsent_summary(&tx, lang)?;
            Ok(PendingUploads {
                unsent_records: summary.records,
                unsent_photos: summary.photos,
                rejected: summary.rejected,
                items: pending_items(&tx, limit.clamp(1, 1000), lang)?,
            })
        })
    }

    /// The sync status screen.
    pub fn sync_status(&self) -> Result<SyncStatusScreen> {
        let lang = self.language();
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let unsent = unsent_summary(&tx, lang)?;
            let pending = pending_items(&tx, 50, lang)?;
            let last_sync = sync_summary(&tx, lang)?;
            let (photos_queued, bytes, sent): (u32, i64, i64) = tx.query_row(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(SUM(uploaded_bytes), 0)
                 FROM attachment WHERE upload_state = 'pending'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let mut rejected = Vec::new();
            let mut waiting = Vec::new();
            for item in pending {
                match (item.state, item.seq) {
                    (UploadState::Rejected, Some(seq)) => rejected.push(RejectedItem {
                        seq,
                        label: item.label,
                        entity_id: item.entity_id,
                        recorded_at: item.recorded_at,
                        reason: item.reason.unwrap_or_default(),
                        advice: t(
                            lang,
                            "指挥中心退回了这条记录。请按原因联系社区或更正后重新记录；问题解决后可重新发送，或确认后放弃。",
                            "HQ refused this record. Ask your community office about the reason, or record it again \
                             correctly; once fixed at HQ you can send it again, or discard it after confirming.",
                        ),
                        actions: vec![
                            ActionOption::new(Action::RetryRejected { seq }, t(lang, "重新发送", "send again")),
                            ActionOption {
                                action: Action::DiscardRejected { seq },
                                label: t(lang, "放弃这条记录", "discard this record"),
                                confirm: Some(t(
                                    lang,
                                    "放弃后这条记录不会再发送到指挥中心，确定吗？",
                                    "The record will never reach HQ. Discard it?",
                                )),
                            },
                        ],
                    }),
                    (_, Some(_)) => waiting.push(item),
                    (_, None) => {}
                }
            }
            Ok(SyncStatusScreen {
                unsent,
                last_sync,
                rejected,
                waiting,
                photos_queued,
                photo_bytes_queued: bytes.max(0) as u64,
                photo_bytes_sent: sent.max(0) as u64,
                actions: vec![ActionOption::new(Action::SyncNow, t(lang, "立即同步", "sync now"))],
            })
        })
    }

    /// Raw outbox rows after `after_seq` (for the terminal shell and for sync).
    pub fn outbox(&self, after_seq: i64, limit: u32) -> Result<Vec<OutboxEntry>> {
        self.read(|c| outbox::list(c, after_seq, limit.clamp(1, 10_000)))
    }

    /// Send a record HQ refused once more, as a new operation (HQ may since have fixed what it
    /// refused it for: a household moved, a template published). The refused row is kept as
    /// `retried`; a second refusal shows up as a new rejected item.
    pub fn retry_rejected(&self, seq: i64) -> Result<()> {
        self.record(|cx| {
            let cmd = rejected_command(cx.tx, seq)?;
            cx.tx.execute("UPDATE outbox SET state = 'retried' WHERE seq = ?1", params![seq])?;
            Ok(((), cmd))
        })
    }

    /// Give up a record HQ refused. Never silent: the worker must have confirmed
    /// (`confirmed = true`, after the action's `confirm` question). The local record stays in
    /// the phone's history; it is only no longer shown as needing attention.
    pub fn discard_rejected(&self, seq: i64, confirmed: bool) -> Result<()> {
        if !confirmed {
            return Err(CoreError::invalid("confirmed", "discarding a refused record needs the worker's confirmation"));
        }
        self.write_tx(|tx| {
            rejected_command(tx, seq)?;
            tx.execute("UPDATE outbox SET state = 'discarded' WHERE seq = ?1", params![seq])?;
            Ok(())
        })
    }
}

/// The command of a refused outbox row; `NotFound` for any other row.
fn rejected_command(c: &rusqlite::Connection, seq: i64) -> Result<Command> {
    let payload: Option<String> = c
        .query_row("SELECT payload FROM outbox WHERE seq = ?1 AND state = 'rejected'", [seq], |r| r.get(0))
        .optional()?;
    let payload = payload.ok_or_else(|| CoreError::not_found("rejected record", seq.to_string()))?;
    Ok(serde_json::from_str(&payload)?)
}

/// Refused records first (they need the worker), then waiting records in order, then photos.
fn pending_items(tx: &rusqlite::Connection, limit: u32, lang: Lang) -> Result<Vec<PendingItem>> {
    let acked: i64 = tx.query_row("SELECT acked_through_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    let mut items = Vec::new();
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {} FROM outbox WHERE state = 'rejected' ORDER BY seq LIMIT ?1",
        outbox::SELECT_COLUMNS
    ))?;
    for e in stmt.query_map([limit], outbox::row_to_entry)? {
        items.push(pending_from_outbox(e?, UploadState::Rejected, lang));
    }
    drop(stmt);
    let left = limit.saturating_sub(items.len() as u32);
    for e in outbox::list(tx, acked, left)? {
        if e.state != "rejected" {
            items.push(pending_from_outbox(e, UploadState::Waiting, lang));
        }
    }
    let left = limit.saturating_sub(items.len() as u32);
    let mut stmt = tx.prepare_cached(
        "SELECT sha256, added_ms FROM attachment WHERE upload_state = 'pending' ORDER BY added_ms LIMIT ?1",
    )?;
    let rows = stmt.query_map([left], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (sha, added) = row?;
        items.push(PendingItem {
            seq: None,
            kind: "photo".into(),
            label: t(lang, "照片", "photo"),
            entity_id: sha,
            state: UploadState::Waiting,
            state_label: UploadState::Waiting.label_in(lang),
            recorded_at: to_time(added),
            attempts: 0,
            reason: None,
        });
    }
    Ok(items)
}
