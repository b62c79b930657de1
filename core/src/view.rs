//! View state owned by the core (the crux idea): shells only render these. Every label a
//! person reads is already "中文 (English)".

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::clock::to_time;
use crate::domain::*;
use crate::outbox::{self, OutboxEntry};
use crate::records::{ChecklistAnswer, Task};
use crate::roles;
use crate::rows::{case_events, case_state, load_patrol, task_from_row};
use crate::store::{unsent_records, Store};
use crate::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TodayView {
    pub date: NaiveDate,
    pub worker_name: String,
    pub worker_role: String,
    pub grids: Vec<String>,
    /// Open tasks due today or overdue, most urgent first.
    pub tasks: Vec<TaskDue>,
    pub patrol: Option<PatrolProgress>,
    /// 重点必访 households not visited within the template's interval.
    pub must_visit: Vec<MustVisitDue>,
    pub open_cases: u32,
    pub unsent: UnsentSummary,
    pub last_sync: SyncSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskDue {
    pub id: String,
    pub title: String,
    pub source: TaskSource,
    pub source_label: String,
    pub target_unit: String,
    pub deadline: DateTime<Utc>,
    pub status: TaskStatus,
    pub status_label: String,
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PatrolProgress {
    pub patrol_id: String,
    pub grid_name: String,
    pub shift_label: String,
    pub started_at: DateTime<Utc>,
    pub checkins: u32,
    pub min_checkins: u32,
    pub outside_grid_checkins: u32,
    /// Inside the grid but not counting for 人到: a weak fix (worse than the template's
    /// accuracy, or none given) or a mock location. Shown flagged.
    pub weak_checkins: u32,
    pub checklist_answered: u32,
    pub checklist_total: u32,
    pub reports_filed: u32,
    /// 巡查三到: each part and whether it is done yet.
    pub parts: Vec<PartStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PartStatus {
    pub part: PatrolPart,
    pub label: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MustVisitDue {
    pub household_id: String,
    pub label: String,
    pub name: String,
    /// Masked: "138****5678".
    pub phone: Option<String>,
    pub care_tags: Vec<String>,
    pub last_visit_at: Option<DateTime<Utc>>,
    pub days_since_visit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UnsentSummary {
    /// Records not yet acknowledged by HQ.
    pub records: u64,
    /// Photos not yet uploaded.
    pub photos: u64,
    /// Records HQ refused: kept and shown, never silently dropped.
    pub rejected: u64,
    pub oldest_unsent_at: Option<DateTime<Utc>>,
    /// Plain words for the worker, e.g. "12 条记录、2 张照片未发送 (12 records, 2 photos not yet sent)".
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncSummary {
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub message: String,
    /// When this store found it was a copy of another phone's (a cloned phone, a restored
    /// backup) and took an identity of its own, in plain words; `None` if it never did.
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaseTimeline {
    pub case_id: String,
    pub report_id: String,
    pub category_label: String,
    pub description: String,
    pub place_name: Option<String>,
    pub state: CaseState,
    pub state_label: String,
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub clear: Vec<ClearStatus>,
    pub events: Vec<TimelineEntry>,
    /// Steps the lifecycle allows next, with labels (for the shell's buttons).
    pub next_steps: Vec<StepOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClearStatus {
    pub item: ClearItem,
    pub label: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimelineEntry {
    pub n: u32,
    pub from_label: Option<String>,
    pub to: CaseState,
    pub to_label: String,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StepOption {
    pub to: CaseState,
    pub label: String,
}

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

fn local_day_bounds(now_ms: i64, tz_minutes: i32) -> (NaiveDate, i64) {
    let tz = FixedOffset::east_opt(tz_minutes * 60).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    let local = tz.timestamp_millis_opt(now_ms).single().unwrap_or_else(|| tz.timestamp_millis_opt(0).unwrap());
    let date = local.date_naive();
    let next = date.succ_opt().unwrap_or(date).and_hms_opt(0, 0, 0).expect("midnight");
    let end_ms = tz.from_local_datetime(&next).single().map(|d| d.timestamp_millis()).unwrap_or(now_ms);
    (date, end_ms)
}

impl Store {
    /// "Today": tasks due and overdue, the patrol in progress, must-visit households due,
    /// unsent work and the last sync outcome.
    pub fn today(&self) -> Result<TodayView> {
        let now_ms = self.now_ms();
        let refdata = self.refdata();
        let (date, end_of_day_ms) = local_day_bounds(now_ms, self.opts.tz_offset_minutes);
        let worker_id = self.device().worker_id.clone();
        self.read(|c| {
            let tx = c.unchecked_transaction()?; // one consistent snapshot for the whole view
            let mut tasks = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result,
                        details
                 FROM task WHERE status NOT IN ('done', 'cancelled', 'sent_back') AND deadline_ms < ?1 AND assignee_id = ?2
                 ORDER BY deadline_ms",
            )?;
            for t in stmt.query_map(params![end_of_day_ms, worker_id], task_from_row)? {
                tasks.push(task_due(t?, now_ms));
            }
            drop(stmt);

            let patrol = patrol_progress(&tx, &worker_id, &refdata)?;

            let interval_ms = refdata.active_template.visits.must_visit_interval_days as i64 * 86_400_000;
            let mut must_visit = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT h.id, h.label, h.name, h.phone, h.care_tags,
                        (SELECT v.occurred_ms FROM visit v WHERE v.household_id = h.id AND v.outcome != 'not_home'
                         ORDER BY v.occurred_ms DESC LIMIT 1)
                 FROM household h WHERE h.must_visit = 1 ORDER BY h.label",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })?;
            for row in rows {
                let (id, label, name, phone, tags, last) = row?;
                if last.is_some_and(|l| now_ms - l < interval_ms) {
                    continue;
                }
                let tags: Vec<String> = serde_json::from_str::<Vec<String>>(&tags)?
                    .iter()
                    .filter_map(|t| CareTag::from_code(t).map(|t| t.label()))
                    .collect();
                must_visit.push(MustVisitDue {
                    household_id: id,
                    label,
                    name,
                    phone: phone.as_deref().map(mask_phone),
                    care_tags: tags,
                    last_visit_at: last.map(to_time),
                    days_since_visit: last.map(|l| (now_ms - l).max(0) / 86_400_000),
                });
            }
            drop(stmt);

            let mut open_cases = 0u32;
            let mut stmt = tx.prepare_cached(
                "SELECT grid_id, COUNT(*) FROM case_file WHERE state IN ('reported', 'accepted', 'opened', 'dispatched',
                     'handling', 'verified', 'sent_back', 'extension_requested', 'backlog') GROUP BY grid_id",
            )?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))? {
                let (grid, n) = row?;
                if refdata.is_own_grid(&grid) {
                    open_cases += n;
                }
            }
            drop(stmt);
            let unsent = unsent_summary(&tx)?;
            let last_sync = sync_summary(&tx)?;
            Ok(TodayView {
                date,
                worker_name: refdata.worker_name.clone(),
                worker_role: refdata.worker_role.label(),
                grids: refdata
                    .worker_grids
                    .iter()
                    .filter_map(|g| refdata.grids.get(g).map(|g| g.name.clone()))
                    .collect(),
                tasks,
                patrol,
                must_visit,
                open_cases,
                unsent,
                last_sync,
            })
        })
    }

    /// A case's append-only history, its six clear items and the steps allowed next.
    pub fn case_timeline(&self, case_id: &str) -> Result<CaseTimeline> {
        let now_ms = self.now_ms();
        let refdata = self.refdata();
        let required = refdata.active_template.resolution.required.clone();
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let (state, clear, grid) = case_state(&tx, case_id)?;
            if !refdata.is_own_grid(&grid) {
                return Err(CoreError::not_found("case", case_id));
            }
            let (report_id, category, description, place, deadline): (
                String,
                String,
                String,
                Option<String>,
                Option<i64>,
            ) = tx
                .query_row(
                    "SELECT r.id, r.category, r.description, r.place_name, c.deadline_ms
                     FROM case_file c JOIN report r ON r.id = c.report_id WHERE c.id = ?1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?
                .ok_or_else(|| CoreError::not_found("case", case_id))?;
            let events = case_events(&tx, case_id)?
                .into_iter()
                .map(|e| TimelineEntry {
                    n: e.n,
                    from_label: e.from.map(|s| s.label()),
                    to: e.to,
                    to_label: e.to.label(),
                    at: e.at,
                    actor_id: e.actor_id,
                    note: e.note,
                    photos: e.photos,
                })
                .collect();
            let finished =
                matches!(state, CaseState::Closed | CaseState::FollowedUp | CaseState::Archived | CaseState::Rejected);
            Ok(CaseTimeline {
                case_id: case_id.to_string(),
                report_id,
                category_label: ReportCategory::from_code(&category).map(|c| c.label()).unwrap_or(category),
                description,
                place_name: place,
                state,
                state_label: state.label(),
                deadline: deadline.map(to_time),
                overdue: !finished && deadline.is_some_and(|d| d < now_ms),
                clear: required
                    .iter()
                    .map(|i| ClearStatus { item: *i, label: i.label(), done: clear.is_clear(*i) })
                    .collect(),
                events,
                // Only the steps this worker's role may take (the role table).
                next_steps: roles::next_states_for(Actor::from(refdata.worker_role), state)
                    .into_iter()
                    .map(|s| StepOption { to: s, label: s.label() })
                    .collect(),
            })
        })
    }

    /// What has not reached HQ yet, item by item.
    pub fn pending_uploads(&self, limit: u32) -> Result<PendingUploads> {
        let limit = limit.clamp(1, 1000);
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let summary = unsent_summary(&tx)?;
            let acked: i64 = tx.query_row("SELECT acked_through_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
            let mut items = Vec::new();
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {} FROM outbox WHERE state = 'rejected' ORDER BY seq LIMIT ?1",
                outbox::SELECT_COLUMNS
            ))?;
            for e in stmt.query_map([limit], outbox::row_to_entry)? {
                items.push(pending_from_outbox(e?, UploadState::Rejected));
            }
            drop(stmt);
            let left = limit.saturating_sub(items.len() as u32);
            for e in outbox::list(&tx, acked, left)? {
                if e.state != "rejected" {
                    items.push(pending_from_outbox(e, UploadState::Waiting));
                }
            }
            let left = limit.saturating_sub(items.len() as u32);
            let mut stmt = tx.prepare_cached(
                "SELECT sha256, mime, added_ms FROM attachment WHERE upload_state = 'pending' ORDER BY added_ms LIMIT ?1",
            )?;
            let rows = stmt.query_map([left], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
            for row in rows {
                let (sha, _mime, added) = row?;
                items.push(PendingItem {
                    seq: None,
                    kind: "photo".into(),
                    label: "照片 (photo)".into(),
                    entity_id: sha,
                    state: UploadState::Waiting,
                    state_label: UploadState::Waiting.label(),
                    recorded_at: to_time(added),
                    attempts: 0,
                    reason: None,
                });
            }
            Ok(PendingUploads {
                unsent_records: summary.records,
                unsent_photos: summary.photos,
                rejected: summary.rejected,
                items,
            })
        })
    }

    /// Raw outbox rows after `after_seq` (for the terminal shell and for sync).
    pub fn outbox(&self, after_seq: i64, limit: u32) -> Result<Vec<OutboxEntry>> {
        self.read(|c| outbox::list(c, after_seq, limit.clamp(1, 10_000)))
    }

    /// All tasks assigned to this worker, open ones first.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        let worker_id = self.device().worker_id.clone();
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result,
                        details
                 FROM task WHERE assignee_id = ?1 ORDER BY status IN ('done', 'cancelled', 'sent_back'), deadline_ms",
            )?;
            let rows = stmt.query_map([worker_id], task_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

fn task_due(t: Task, now_ms: i64) -> TaskDue {
    TaskDue {
        overdue: t.deadline.timestamp_millis() < now_ms,
        source_label: t.source.label(),
        status_label: t.status.label(),
        id: t.id,
        title: t.title,
        source: t.source,
        target_unit: t.target_unit,
        deadline: t.deadline,
        status: t.status,
    }
}

fn patrol_progress(c: &Connection, worker_id: &str, refdata: &crate::store::RefData) -> Result<Option<PatrolProgress>> {
    let id: Option<String> = c
        .prepare_cached("SELECT id FROM patrol WHERE worker_id = ?1 AND in_progress = 1")?
        .query_row([worker_id], |r| r.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    let p = load_patrol(c, &id)?.ok_or_else(|| CoreError::not_found("patrol", &id))?;
    let template = refdata.template(&p.template_id, p.template_version)?;
    let mut stmt = c.prepare_cached("SELECT inside_grid, answers, trusted FROM checkpoint WHERE patrol_id = ?1")?;
    let mut checkins = 0;
    let mut outside = 0;
    let mut trusted_n = 0;
    let mut answered = std::collections::HashSet::new();
    for row in stmt.query_map([&id], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))? {
        let (inside, answers, trusted) = row?;
        checkins += 1;
        if !inside {
            outside += 1;
        }
        if trusted {
            trusted_n += 1;
        }
        for a in serde_json::from_str::<Vec<ChecklistAnswer>>(&answers)? {
            answered.insert(a.item_id);
        }
    }
    let reports: u32 =
        c.prepare_cached("SELECT COUNT(*) FROM report WHERE patrol_id = ?1")?.query_row([&id], |r| r.get(0))?;
    let total = template.patrol.checklist.len() as u32;
    let answered_n = template.patrol.checklist.iter().filter(|i| answered.contains(&i.id)).count() as u32;
    // The shared rule, with the patrol still running (no outcome yet): 记到 is done by a report
    // now, or by finishing with "nothing found" — the label says so until it is done.
    let parts = gridpatrol_protocol::rules::patrol_parts(
        trusted_n,
        template.patrol.min_checkins,
        answered_n as usize,
        total as usize,
        reports,
        None,
    )
    .into_iter()
    .map(|(part, done)| {
        let label = if part == PatrolPart::Recorded && !done {
            format!(
                "{} — 上报发现，或结束时记“未发现问题” (report a finding, or finish with “nothing found”)",
                part.label()
            )
        } else {
            part.label()
        };
        PartStatus { part, label, done }
    })
    .collect();
    Ok(Some(PatrolProgress {
        patrol_id: id,
        grid_name: refdata.grids.get(&p.grid_id).map(|g| g.name.clone()).unwrap_or_default(),
        shift_label: p.shift.label(),
        started_at: p.started_at,
        checkins,
        min_checkins: template.patrol.min_checkins,
        outside_grid_checkins: outside,
        weak_checkins: checkins - outside - trusted_n,
        checklist_answered: answered_n,
        checklist_total: total,
        reports_filed: reports,
        parts,
    }))
}

fn unsent_summary(c: &Connection) -> Result<UnsentSummary> {
    let records = unsent_records(c)?;
    let photos = c
        .query_row("SELECT COUNT(*) FROM attachment WHERE upload_state = 'pending'", [], |r| r.get::<_, i64>(0))?
        as u64;
    let rejected =
        c.query_row("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'", [], |r| r.get::<_, i64>(0))? as u64;
    let oldest: Option<i64> = c
        .query_row(
            "SELECT device_ms FROM outbox WHERE seq > (SELECT acked_through_seq FROM sync_state WHERE id = 1)
             ORDER BY seq LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let message = if records == 0 && photos == 0 {
        "全部已发送 (everything sent)".to_string()
    } else {
        format!("{records} 条记录、{photos} 张照片未发送 ({records} records, {photos} photos not yet sent)")
    };
    let message = if rejected > 0 {
        format!("{message}; {rejected} 条被退回，请查看 ({rejected} rejected by HQ, please review)")
    } else {
        message
    };
    Ok(UnsentSummary { records, photos, rejected, oldest_unsent_at: oldest.map(to_time), message })
}

fn sync_summary(c: &Connection) -> Result<SyncSummary> {
    let (attempt, success, error, reconciled): (Option<i64>, Option<i64>, Option<String>, Option<i64>) = c.query_row(
        "SELECT last_attempt_ms, last_success_ms, last_error, reconciled_ms FROM sync_state WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let message = match (success, &error) {
        (None, None) => "尚未同步 (never synced)".to_string(),
        (_, Some(e)) => format!("上次同步失败：{e} (last sync failed)"),
        (Some(_), None) => "上次同步成功 (last sync succeeded)".to_string(),
    };
    Ok(SyncSummary {
        last_attempt_at: attempt.map(to_time),
        last_success_at: success.map(to_time),
        last_error: error,
        message,
        notice: reconciled.map(|_| {
            "本机数据已与指挥中心核对：这部手机的数据是从另一部手机复制或恢复的，已获得自己的身份，未发送的记录已重新发送，没有丢失或重复 \
             (this phone's data was reconciled with HQ: it was copied or restored from another phone, took an identity of its own, \
             and re-sent its unsent records; nothing was lost or counted twice)"
                .to_string()
        }),
    })
}

fn pending_from_outbox(e: OutboxEntry, state: UploadState) -> PendingItem {
    PendingItem {
        seq: Some(e.seq),
        kind: e.op.clone(),
        label: e.command.label().to_string(),
        entity_id: e.entity_id,
        state,
        state_label: state.label(),
        recorded_at: e.recorded_at,
        attempts: e.attempts,
        reason: e.last_error,
    }
}
