//! The home screen ("today"): my grids and today's patrols in each, the patrol in progress,
//! tasks and weekly-list items, must-visit households, open cases, unsent work, the last sync.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::cases::{case_rows, CaseFilter, CaseRow};
use super::patrol::{parts_of, PatrolTally};
use super::{colon, t, ActionOption};
use crate::clock::to_time;
use crate::domain::*;
use crate::records::Task;
use crate::rows::{load_patrol, task_from_row};
use crate::screens::Action;
use crate::store::{unsent_records, RefData, Store};
use crate::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TodayView {
    pub date: NaiveDate,
    pub language: Lang,
    pub worker_name: String,
    pub worker_role: String,
    /// The worker's grids, each with today's day and night patrol.
    pub grids: Vec<GridSummary>,
    /// Open tasks due today or overdue, most urgent first (weekly-list items apart).
    pub tasks: Vec<TaskDue>,
    /// 相约星期五 民情清单 items this worker owns, still open, soonest deadline first.
    pub list_items: Vec<TaskDue>,
    pub patrol: Option<PatrolProgress>,
    /// 重点必访 households not visited within the template's interval.
    pub must_visit: Vec<MustVisitDue>,
    /// Open cases in my grids, overdue first, then by deadline.
    pub open_cases: Vec<CaseRow>,
    pub unsent: UnsentSummary,
    pub last_sync: SyncSummary,
    /// Start a day or night patrol (when none runs), check in or finish (when one runs), file a
    /// report, sync now.
    pub actions: Vec<ActionOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GridSummary {
    pub id: String,
    pub name: String,
    pub community_name: String,
    /// The grid's boundary polygon (WGS-84).
    pub boundary: Vec<GeoPoint>,
    pub day_patrol: ShiftStatus,
    pub day_patrol_label: String,
    pub night_patrol: ShiftStatus,
    pub night_patrol_label: String,
}

/// Today's patrol of one shift in one grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ShiftStatus {
    NotStarted,
    InProgress,
    Done,
}

impl ShiftStatus {
    pub fn label_in(self, lang: Lang) -> String {
        match self {
            ShiftStatus::NotStarted => t(lang, "未巡", "not patrolled"),
            ShiftStatus::InProgress => t(lang, "巡查中", "in progress"),
            ShiftStatus::Done => t(lang, "已巡", "patrolled"),
        }
    }
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
    pub grid_id: String,
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
    /// Why it is or is not done yet, e.g. "2/3 次有效打卡 (2 of 3 trusted check-ins)".
    pub why: String,
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

pub(crate) fn local_day_bounds(now_ms: i64, tz_minutes: i32) -> (NaiveDate, i64, i64) {
    let tz = FixedOffset::east_opt(tz_minutes * 60).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    let local = tz.timestamp_millis_opt(now_ms).single().unwrap_or_else(|| tz.timestamp_millis_opt(0).unwrap());
    let date = local.date_naive();
    let ms_of = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|m| tz.from_local_datetime(&m).single())
            .map(|d| d.timestamp_millis())
            .unwrap_or(now_ms)
    };
    (date, ms_of(date), ms_of(date.succ_opt().unwrap_or(date)))
}

impl Store {
    /// The home screen.
    pub fn today(&self) -> Result<TodayView> {
        let now_ms = self.now_ms();
        let lang = self.language();
        let refdata = self.refdata();
        let (date, start_of_day_ms, end_of_day_ms) = local_day_bounds(now_ms, self.opts.tz_offset_minutes);
        let worker_id = self.device().worker_id.clone();
        self.read(|c| {
            let tx = c.unchecked_transaction()?; // one consistent snapshot for the whole view
            let mut tasks = Vec::new();
            let mut list_items = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result,
                        details
                 FROM task WHERE status NOT IN ('done', 'cancelled', 'sent_back') AND assignee_id = ?1
                 ORDER BY deadline_ms",
            )?;
            for t in stmt.query_map(params![worker_id], task_from_row)? {
                let t = t?;
                if t.source == TaskSource::WeeklyMeeting {
                    list_items.push(task_due(t, now_ms, lang));
                } else if t.deadline.timestamp_millis() < end_of_day_ms {
                    tasks.push(task_due(t, now_ms, lang));
                }
            }
            drop(stmt);

            let patrol = patrol_progress(&tx, &worker_id, &refdata, lang)?;
            let grids = grid_summaries(&tx, &refdata, &worker_id, start_of_day_ms, lang)?;
            let must_visit = must_visit_due(&tx, &refdata, now_ms, lang)?;
            let filter = CaseFilter { open_only: true, ..CaseFilter::default() };
            let open_cases = case_rows(&tx, &refdata, &filter, now_ms, lang)?;
            let unsent = unsent_summary(&tx, lang)?;
            let last_sync = sync_summary(&tx, lang)?;

            let mut actions = Vec::new();
            match &patrol {
                Some(p) => {
                    actions.push(ActionOption::new(
                        Action::CheckIn { patrol_id: p.patrol_id.clone() },
                        t(lang, "打卡", "check in"),
                    ));
                    for outcome in PatrolOutcome::ALL {
                        actions.push(ActionOption::new(
                            Action::FinishPatrol { patrol_id: p.patrol_id.clone(), outcome: *outcome },
                            format!(
                                "{}{}{}",
                                t(lang, "结束巡查", "finish patrol"),
                                colon(lang),
                                outcome.label_in(lang)
                            ),
                        ));
                    }
                }
                None => {
                    for g in &grids {
                        for shift in PatrolShift::ALL {
                            actions.push(ActionOption::new(
                                Action::StartPatrol { grid_id: g.id.clone(), shift: *shift },
                                format!(
                                    "{} · {} · {}",
                                    t(lang, "开始巡查", "start patrol"),
                                    g.name,
                                    shift.label_in(lang)
                                ),
                            ));
                        }
                    }
                }
            }
            for g in &grids {
                actions.push(ActionOption::new(
                    Action::FileReport { grid_id: g.id.clone() },
                    format!("{} · {}", t(lang, "上报情况", "file a report"), g.name),
                ));
            }
            actions.push(ActionOption::new(Action::SyncNow, t(lang, "立即同步", "sync now")));
            Ok(TodayView {
                date,
                language: lang,
                worker_name: refdata.worker_name.clone(),
                worker_role: refdata.worker_role.label_in(lang),
                grids,
                tasks,
                list_items,
                patrol,
                must_visit,
                open_cases,
                unsent,
                last_sync,
                actions,
            })
        })
    }
}

pub(crate) fn task_due(t: Task, now_ms: i64, lang: Lang) -> TaskDue {
    let open = !matches!(t.status, TaskStatus::Done | TaskStatus::Cancelled | TaskStatus::SentBack);
    TaskDue {
        overdue: open && t.deadline.timestamp_millis() < now_ms,
        source_label: t.source.label_in(lang),
        status_label: t.status.label_in(lang),
        id: t.id,
        title: t.title,
        source: t.source,
        target_unit: t.target_unit,
        deadline: t.deadline,
        status: t.status,
    }
}

/// The worker's grids with today's patrol per shift.
fn grid_summaries(
    c: &Connection,
    refdata: &RefData,
    worker_id: &str,
    start_of_day_ms: i64,
    lang: Lang,
) -> Result<Vec<GridSummary>> {
    let mut out = Vec::new();
    for id in &refdata.worker_grids {
        let Some(g) = refdata.grids.get(id) else { continue };
        let (day, night) = todays_patrols(c, worker_id, id, start_of_day_ms)?;
        out.push(grid_summary(id, g, day, night, lang));
    }
    Ok(out)
}

/// Today's day and night patrol of this worker in one grid (home and grid screens).
pub(crate) fn todays_patrols(
    c: &Connection,
    worker_id: &str,
    grid_id: &str,
    start_of_day_ms: i64,
) -> Result<(ShiftStatus, ShiftStatus)> {
    let mut stmt = c.prepare_cached(
        "SELECT shift, MAX(in_progress) FROM patrol WHERE worker_id = ?1 AND grid_id = ?2 AND started_ms >= ?3
         GROUP BY shift",
    )?;
    let (mut day, mut night) = (ShiftStatus::NotStarted, ShiftStatus::NotStarted);
    for row in stmt.query_map(params![worker_id, grid_id, start_of_day_ms], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
    })? {
        let (shift, running) = row?;
        let status = if running { ShiftStatus::InProgress } else { ShiftStatus::Done };
        match PatrolShift::from_code(&shift) {
            Some(PatrolShift::Day) => day = status,
            Some(PatrolShift::Night) => night = status,
            None => {}
        }
    }
    Ok((day, night))
}

pub(crate) fn grid_summary(
    id: &str,
    g: &crate::store::GridRef,
    day: ShiftStatus,
    night: ShiftStatus,
    lang: Lang,
) -> GridSummary {
    GridSummary {
        id: id.to_string(),
        name: g.name.clone(),
        community_name: g.community_name.clone(),
        boundary: g.boundary.iter().map(|p| GeoPoint { lat: p[1], lng: p[0] }).collect(),
        day_patrol: day,
        day_patrol_label: format!("{}{}{}", PatrolShift::Day.label_in(lang), colon(lang), day.label_in(lang)),
        night_patrol: night,
        night_patrol_label: format!("{}{}{}", PatrolShift::Night.label_in(lang), colon(lang), night.label_in(lang)),
    }
}

fn must_visit_due(c: &Connection, refdata: &RefData, now_ms: i64, lang: Lang) -> Result<Vec<MustVisitDue>> {
    let interval_ms = refdata.active_template.visits.must_visit_interval_days as i64 * 86_400_000;
    let mut must_visit = Vec::new();
    let mut stmt = c.prepare_cached(
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
        must_visit.push(MustVisitDue {
            household_id: id,
            label,
            name,
            phone: phone.as_deref().map(mask_phone),
            care_tags: care_tag_labels(&tags, lang)?,
            last_visit_at: last.map(to_time),
            days_since_visit: last.map(|l| (now_ms - l).max(0) / 86_400_000),
        });
    }
    Ok(must_visit)
}

/// A household's stored care tags (JSON codes) as labels.
pub(crate) fn care_tag_labels(json: &str, lang: Lang) -> Result<Vec<String>> {
    Ok(serde_json::from_str::<Vec<String>>(json)?
        .iter()
        .filter_map(|t| CareTag::from_code(t).map(|t| t.label_in(lang)))
        .collect())
}

fn patrol_progress(c: &Connection, worker_id: &str, refdata: &RefData, lang: Lang) -> Result<Option<PatrolProgress>> {
    let id: Option<String> = c
        .prepare_cached("SELECT id FROM patrol WHERE worker_id = ?1 AND in_progress = 1")?
        .query_row([worker_id], |r| r.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    let p = load_patrol(c, &id)?.ok_or_else(|| CoreError::not_found("patrol", &id))?;
    let template = refdata.template(&p.template_id, p.template_version)?;
    let tally = PatrolTally::read(c, &id, template)?;
    Ok(Some(PatrolProgress {
        patrol_id: id,
        grid_name: refdata.grids.get(&p.grid_id).map(|g| g.name.clone()).unwrap_or_default(),
        grid_id: p.grid_id,
        shift_label: p.shift.label_in(lang),
        started_at: p.started_at,
        checkins: tally.checkins,
        min_checkins: template.patrol.min_checkins,
        outside_grid_checkins: tally.outside,
        weak_checkins: tally.checkins - tally.outside - tally.trusted,
        checklist_answered: tally.answered,
        checklist_total: template.patrol.checklist.len() as u32,
        reports_filed: tally.reports,
        parts: parts_of(&tally, template, None, lang),
    }))
}

pub(crate) fn unsent_summary(c: &Connection, lang: Lang) -> Result<UnsentSummary> {
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
    let mut message = if records == 0 && photos == 0 {
        t(lang, "全部已发送", "everything sent")
    } else {
        t(
            lang,
            &format!("{records} 条记录、{photos} 张照片未发送"),
            &format!("{records} records, {photos} photos not yet sent"),
        )
    };
    if rejected > 0 {
        message.push_str("; ");
        message.push_str(&t(
            lang,
            &format!("{rejected} 条被退回，请查看"),
            &format!("{rejected} rejected by HQ, please review"),
        ));
    }
    Ok(UnsentSummary { records, photos, rejected, oldest_unsent_at: oldest.map(to_time), message })
}

pub(crate) fn sync_summary(c: &Connection, lang: Lang) -> Result<SyncSummary> {
    let (attempt, success, error, reconciled): (Option<i64>, Option<i64>, Option<String>, Option<i64>) = c.query_row(
        "SELECT last_attempt_ms, last_success_ms, last_error, reconciled_ms FROM sync_state WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let message = match (success, &error) {
        (None, None) => t(lang, "尚未同步", "never synced"),
        (_, Some(e)) => format!("{}{}{e}", t(lang, "上次同步失败", "last sync failed"), colon(lang)),
        (Some(_), None) => t(lang, "上次同步成功", "last sync succeeded"),
    };
    Ok(SyncSummary {
        last_attempt_at: attempt.map(to_time),
        last_success_at: success.map(to_time),
        last_error: error,
        message,
        notice: reconciled.map(|_| {
            t(
                lang,
                "本机数据已与指挥中心核对：这部手机的数据是从另一部手机复制或恢复的，已获得自己的身份，未发送的记录已重新发送，没有丢失或重复",
                "this phone's data was reconciled with HQ: it was copied or restored from another phone, took an identity of its own, \
                 and re-sent its unsent records; nothing was lost or counted twice",
            )
        }),
    })
}
