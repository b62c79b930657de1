//! The sync protocol's messages (HTTP/JSON, gzip-compressed both ways). Version 2 is current;
//! HQ also accepts version 1 (identical messages, but v1 phones do not send `device_hlc`).
//! Every request names its version in the `x-gridpatrol-protocol` header.

use serde::{Deserialize, Serialize};

use crate::config::GridConfig;
use crate::records::{CaseEvent, Task};

pub const PROTOCOL_VERSION: u32 = 2;
pub const MIN_PROTOCOL_VERSION: u32 = 1;
pub const PROTOCOL_HEADER: &str = "x-gridpatrol-protocol";
/// Optional on `POST /v1/push`: the last seq of the phone's previous push, still unanswered
/// when this one was sent. HQ then briefly holds this push back until that one is in hand,
/// so that racing pushes reach its database in sequence order. Without it (older phones, one
/// push at a time) HQ never waits. HQ's cursor check decides either way.
pub const FOLLOWS_HEADER: &str = "x-gridpatrol-follows";

/// Most operations in one push; the client also bounds a batch's bytes.
pub const MAX_PUSH_OPS: usize = 1000;
/// Largest request body HQ accepts (after decompression).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Largest attachment chunk.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

// ---------- errors ----------

/// Every non-2xx response carries this body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable, machine-readable: see `codes`.
    pub code: String,
    /// Plain words for a person; never contains tokens or personal data.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With `seq_gap`: the sequence number HQ expects next; resend from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<i64>,
}

/// The stable error codes.
pub mod codes {
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const FORBIDDEN: &str = "forbidden";
    /// The role table (`roles.rs`) gives this step to another role.
    pub const ROLE_NOT_ALLOWED: &str = "role_not_allowed";
    pub const NOT_FOUND: &str = "not_found";
    pub const CONFLICT: &str = "conflict";
    pub const SEQ_GAP: &str = "seq_gap";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const UNSUPPORTED_PROTOCOL: &str = "unsupported_protocol";
    pub const ENROLMENT_CODE_INVALID: &str = "enrolment_code_invalid";
    pub const DEVICE_REVOKED: &str = "device_revoked";
    /// 401 to every request of a device HQ revoked and ordered wiped (a lost phone): the phone
    /// erases its store and photos, then confirms with `POST /v1/wipe` — the only request its
    /// token is still accepted for.
    pub const DEVICE_WIPE: &str = "device_wipe";
    pub const CHECKSUM_MISMATCH: &str = "checksum_mismatch";
    /// `POST /v1/push` (409): an operation at a seq HQ has already settled is not the one HQ
    /// settled there — this phone's history forked from another copy of its store (a cloned
    /// phone, a restored backup). Nothing of the push was applied; the phone takes an identity
    /// of its own (`POST /v1/fork`) and sends its unsent work again under it.
    pub const HISTORY_FORKED: &str = "history_forked";
    /// `POST /v1/push` op result: this mutation id is known at HQ with other content. The
    /// operation is refused (kept on the phone with the reason), never answered "duplicate".
    pub const MUTATION_REUSED: &str = "mutation_reused";
    /// 415: a `Content-Encoding` other than `gzip` (or none).
    pub const UNSUPPORTED_ENCODING: &str = "unsupported_encoding";
    pub const INTERNAL: &str = "internal";
    /// HQ is not ready (shutting down, or its database does not answer): try another instance.
    pub const UNAVAILABLE: &str = "unavailable";
}

// ---------- enrolment ----------

/// A phone trades a one-time enrolment code for a device token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolRequest {
    pub code: String,
    /// The phone's own UUIDv7 device id (a proposal: HQ may answer with another, see
    /// `EnrolResponse::device_id`).
    pub device_id: String,
    /// Ignored (kept so that version-1 phones, which send it, are still understood): HQ hands
    /// out a fresh epoch at every enrolment. Must be 0 or more when present.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub epoch: i64,
    #[serde(default)]
    pub app_version: String,
    /// The store's installation id: random, made on the phone where backups and copies of the
    /// app's files do not reach (see `docs/SYNC.md`). HQ keeps only its hash and uses it to tell
    /// the same installation re-enrolling from another one presenting the same device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 16, max_length = 64))]
    pub installation_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolResponse {
    /// Shown once; HQ keeps only its hash. Sent as `Authorization: Bearer <token>`.
    pub device_token: String,
    /// The device id the phone must use from now on: the one it asked for, unless that id is
    /// already enrolled for another worker or by another installation — then a new one, so
    /// that no enrolment takes over another phone's identity, token or cursor. Absent from
    /// version-1 HQs (the phone keeps the id it asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The epoch the phone must push in, assigned by HQ at every enrolment: one more than any
    /// epoch HQ has seen for the device id (1 for a new one). The phone sends its unsent work
    /// again under it, numbered from 1; HQ recognises what it already has by mutation id.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub epoch: i64,
    pub worker_id: String,
    pub server_time_ms: i64,
    /// Everything the phone needs to start: the street, the worker's grids and households,
    /// the template, the worker's open tasks.
    pub reference: GridConfig,
    pub reference_version: i64,
    /// HQ authorised discarding the unsent work of the device this phone enrolled as before
    /// (same device id and installation): a switch to another worker goes ahead, discarding it.
    /// Absent (false) from older HQs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discard_authorised: bool,
}

// ---------- unsent work, wipe, hand-back ----------

/// What the phone holds that HQ does not have yet: counts only, never content. Sent with every
/// pull (the last request of a sync run, so it is what is left after the run), so the street
/// office sees, before ordering a wipe or a discard, how much it would erase. Absent from older
/// phones; HQ then keeps what it had.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnsentCounts {
    /// Recorded operations HQ has not acknowledged.
    pub records: u64,
    /// Photos not yet uploaded whole.
    pub photos: u64,
    /// Their bytes not yet at HQ.
    pub photo_bytes: u64,
}

impl UnsentCounts {
    /// Largest count either side accepts (a phone holds far less; anything above is garbage).
    pub const MAX: u64 = 1 << 40;

    /// Every count within `0..=MAX`; otherwise the field at fault.
    pub fn check(&self) -> Result<(), &'static str> {
        for (field, v) in [("records", self.records), ("photos", self.photos), ("photo_bytes", self.photo_bytes)] {
            if v > Self::MAX {
                return Err(field);
            }
        }
        Ok(())
    }
}

/// `POST /v1/wipe`, with the device token HQ revoked for the wipe (accepted for nothing else):
/// the phone erased its store and its photos. Sent again until answered; HQ keeps the first
/// confirmation's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WipeConfirmation {
    /// What the phone erased that HQ never received.
    pub erased: UnsentCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WipeConfirmed {
    pub device_id: String,
    /// When HQ recorded the (first) confirmation, HQ's clock.
    pub confirmed_ms: i64,
}

/// `POST /v1/discarded`, with the device's token: HQ authorised discarding this device's
/// unsent work, and the store was switched to another worker, discarding this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscardReport {
    pub discarded: UnsentCounts,
    /// The worker the store was switched to.
    pub to_worker_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscardRecorded {
    pub device_id: String,
    pub recorded_ms: i64,
}

// ---------- identity ----------

/// `POST /v1/fork`, with the device token of the store's current identity: this installation
/// is a copy of another (its store was cloned or restored from a backup, noticed at open or
/// answered `history_forked`), and takes an identity of its own. The other copy keeps the old
/// identity, its token and its cursor untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForkRequest {
    /// This installation's own id (see `EnrolRequest::installation_id`).
    #[cfg_attr(feature = "openapi", schema(min_length = 16, max_length = 64))]
    pub installation_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForkResponse {
    /// A new device id, token and epoch for this installation only.
    pub device_id: String,
    /// Shown once; HQ keeps only its hash.
    pub device_token: String,
    pub epoch: i64,
    pub server_time_ms: i64,
}

// ---------- push ----------

/// `POST /v1/push`. Generic over how each operation's command is held: a JSON value by default
/// (tests, tools); HQ reads commands straight into `records::Command`s (and, for one it cannot
/// read, as raw text); the phone writes the same shape without building the struct
/// (`PushWriter`). One shape, three readers and writers, all from these two types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest<C = serde_json::Value> {
    pub device_id: String,
    pub epoch: i64,
    /// The phone's wall clock when sending, so HQ can record the skew.
    pub device_time_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_hlc: Option<String>,
    /// Consecutive outbox rows, in sequence order.
    pub ops: Vec<PushOp<C>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushOp<C = serde_json::Value> {
    pub seq: i64,
    pub mutation_id: String,
    pub hlc: String,
    /// The phone's wall clock when the record was made (data, not ordering).
    pub device_ms: i64,
    /// A `records::Command` as JSON. Kept untyped on the wire so that one operation HQ cannot
    /// read is rejected on its own instead of failing the whole batch.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::records::Command))]
    pub command: C,
}

/// Writes a `PushRequest`'s JSON straight into a buffer, from values the phone already holds as
/// text (each command as its outbox stored it, written by serde from a `Command`): no struct is
/// built and no command is parsed again. `tests::the_writer_writes_a_push_request` holds its
/// output to `PushRequest`'s own.
pub struct PushWriter<'a> {
    out: &'a mut Vec<u8>,
    ops: usize,
}

impl<'a> PushWriter<'a> {
    /// Everything before the first operation.
    pub fn begin(
        out: &'a mut Vec<u8>,
        device_id: &str,
        epoch: i64,
        device_time_ms: i64,
        device_hlc: Option<&str>,
    ) -> PushWriter<'a> {
        use std::io::Write;
        out.extend_from_slice(b"{\"device_id\":");
        write_str(out, device_id);
        // Writing into a Vec cannot fail.
        let _ = write!(out, ",\"epoch\":{epoch},\"device_time_ms\":{device_time_ms}");
        if let Some(h) = device_hlc {
            out.extend_from_slice(b",\"device_hlc\":");
            write_str(out, h);
        }
        out.extend_from_slice(b",\"ops\":[");
        PushWriter { out, ops: 0 }
    }

    /// One operation; `command` is a command's JSON object exactly as serde wrote it.
    pub fn op(&mut self, seq: i64, mutation_id: &str, hlc: &str, device_ms: i64, command: &str) {
        use std::io::Write;
        if self.ops > 0 {
            self.out.push(b',');
        }
        let _ = write!(self.out, "{{\"seq\":{seq}");
        self.out.extend_from_slice(b",\"mutation_id\":");
        write_str(self.out, mutation_id);
        self.out.extend_from_slice(b",\"hlc\":");
        write_str(self.out, hlc);
        let _ = write!(self.out, ",\"device_ms\":{device_ms}");
        self.out.extend_from_slice(b",\"command\":");
        self.out.extend_from_slice(command.as_bytes());
        self.out.push(b'}');
        self.ops += 1;
    }

    /// Operations written so far.
    pub fn ops(&self) -> usize {
        self.ops
    }

    /// Close the request.
    pub fn finish(self) {
        self.out.extend_from_slice(b"]}");
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly as `PushRequest`'s own serialisation does.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    /// Applied now.
    Applied,
    /// Already applied earlier (a resend after a lost response): acknowledged, not re-applied.
    Duplicate,
    /// Refused with a reason; the phone keeps it for the worker and drops it from the queue.
    Rejected,
    /// Applied, but it collided with another change; HQ recorded a visible conflict.
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpResult {
    pub seq: i64,
    pub status: OpStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub server_time_ms: i64,
    /// Every seq up to here (this device, this epoch) is settled at HQ: applied, duplicate or
    /// rejected. Committed in the same transaction as the operations.
    pub acked_through_seq: i64,
    pub results: Vec<OpResult>,
}

// ---------- pull ----------

/// One cursor per scope. `reference` is a version number (the phone gets a fresh snapshot
/// when HQ's is newer); `tasks` and `cases` are positions in HQ's change log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullCursors {
    #[serde(default)]
    pub reference: i64,
    #[serde(default)]
    pub tasks: i64,
    #[serde(default)]
    pub cases: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullRequest {
    pub cursors: PullCursors,
    /// The phone's budget for the response body (2G links); HQ stops adding changes past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// What the phone still holds unsent (counts only). Absent from older phones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsent: Option<UnsentCounts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub server_time_ms: i64,
    /// A new reference snapshot when the phone's version is older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<GridConfig>,
    /// Tasks assigned to this worker that changed at HQ (dispatched, reassigned, cancelled).
    /// A task reassigned away arrives with its new assignee: the phone removes it.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Cases in the worker's grids that changed at HQ, with HQ's full event log.
    #[serde(default)]
    pub cases: Vec<CaseSnapshot>,
    /// Grids the worker no longer has: the phone purges their data.
    #[serde(default)]
    pub purge_grids: Vec<String>,
    pub cursors: PullCursors,
    /// More changes are waiting: pull again with the new cursors.
    pub more: bool,
    /// HQ's push cursor for the device's current epoch: every seq up to here is settled at HQ.
    /// A phone that was told of more (HQ was restored from an older backup) sends again from
    /// here out of the outbox it keeps (docs/SYNC.md, guarantee 9). Absent from older HQs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_through_seq: Option<i64>,
    /// HQ authorised discarding this device's unsent work (a phone handed back): the next
    /// switch of the store to another worker goes ahead, discarding it, and the phone reports
    /// what it discarded (`POST /v1/discarded`). Absent (false) from older HQs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discard_authorised: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSnapshot {
    pub case_id: String,
    pub report_id: String,
    pub grid_id: String,
    pub events: Vec<CaseEvent>,
}

// ---------- attachments ----------

/// `GET /v1/attachments/{sha256}`: how much of a photo HQ already has (for resuming).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentStatus {
    pub sha256: String,
    pub received_bytes: u64,
    pub complete: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the phone's writer produces is a `PushRequest`, field for field, escapes included.
    #[test]
    fn the_writer_writes_a_push_request() {
        let command = serde_json::json!({ "op": "finish_patrol", "patrol_id": "p-\"1\"", "outcome": "nothing_found",
                                          "note": "换行\n", "finished_at": "2026-11-27T09:00:00Z" });
        let expected = PushRequest {
            device_id: "d-1".into(),
            epoch: 3,
            device_time_ms: -5,
            device_hlc: Some("000000000000001-000002".into()),
            ops: vec![
                PushOp {
                    seq: 7,
                    mutation_id: "m-\u{7}".into(),
                    hlc: "h1".into(),
                    device_ms: 0,
                    command: command.clone(),
                },
                PushOp { seq: 8, mutation_id: "m-2".into(), hlc: "h2".into(), device_ms: i64::MAX, command },
            ],
        };
        let mut out = Vec::new();
        let mut w = PushWriter::begin(&mut out, "d-1", 3, -5, expected.device_hlc.as_deref());
        for op in &expected.ops {
            w.op(op.seq, &op.mutation_id, &op.hlc, op.device_ms, &serde_json::to_string(&op.command).unwrap());
        }
        assert_eq!(w.ops(), 2);
        w.finish();
        let read: PushRequest = serde_json::from_slice(&out).unwrap();
        assert_eq!(read, expected);
        // Without an HLC and without operations, too.
        let mut out = Vec::new();
        PushWriter::begin(&mut out, "d", 1, 2, None).finish();
        let read: PushRequest = serde_json::from_slice(&out).unwrap();
        assert_eq!((read.device_hlc, read.ops.len()), (None, 0));
    }
}
