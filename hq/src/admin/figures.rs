//! 三零 and 3456 figures per community for a period, and the incidents the street records
//! for 三零 (petitions escalated, safety accidents with casualties, criminal or major
//! public-order cases). Grid leaders see the figures of their own grids only.
//!
//! Every figure's definition is written once, in `DEFINITIONS`, and returned with the figures
//! (and quoted in the README): no public source fixes them, so the street reads what it gets.
//! Figures come per community, per grid and per worker, for any period; a period's days are
//! the street's local days.
//!
//! Times are HQ's view of when things happened: device capture times corrected by the
//! device's recorded clock skew.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use gridpatrol_protocol::domain::{PatrolShift, ReportCategory, TaskStatus};
use gridpatrol_protocol::{rules, validate};
use serde::{Deserialize, Serialize};

use super::records::{patrol_parts, Templates};
use super::rollups;
use super::{audit, local_time, parse_time, Created};
use crate::auth;
use crate::error::{ApiError, Result};
use crate::http::{ApiQuery, AppState, Bearer, JsonBody};
use crate::{new_id, now_ms, p};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Petition,
    Accident,
    CriminalCase,
}

impl IncidentKind {
    fn code(self) -> &'static str {
        match self {
            IncidentKind::Petition => "petition",
            IncidentKind::Accident => "accident",
            IncidentKind::CriminalCase => "criminal_case",
        }
    }
    fn label(self) -> &'static str {
        match self {
            IncidentKind::Petition => "越级上访 (petition escalated)",
            IncidentKind::Accident => "安全事故 (safety accident with casualties)",
            IncidentKind::CriminalCase => "刑事或重大治安案件 (criminal or major public-order case)",
        }
    }
    fn parse(s: &str) -> Option<IncidentKind> {
        match s {
            "petition" => Some(IncidentKind::Petition),
            "accident" => Some(IncidentKind::Accident),
            "criminal_case" => Some(IncidentKind::CriminalCase),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    pub community_id: String,
    pub kind: IncidentKind,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentOut {
    pub id: String,
    pub community_id: String,
    pub kind: IncidentKind,
    pub kind_label: String,
    pub occurred_at: String,
    pub note: Option<String>,
    pub recorded_by: String,
}

pub async fn record_incident(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(i): JsonBody<IncidentInput>,
) -> Result<Created<IncidentOut>> {
    validate::id("community_id", &i.community_id)?;
    let note = validate::optional_text("note", i.note.as_deref(), rules::MAX_NOTE_CHARS)?;
    let occurred = validate::plausible_time("occurred_at", i.occurred_at)?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            if tx.query_opt("SELECT 1 FROM community WHERE id = ?", p![&i.community_id])?.is_none() {
                return Err(ApiError::invalid("community_id", "no such community"));
            }
            op.require_community(&i.community_id)?;
            let id = new_id();
            tx.exec(
                "INSERT INTO incident (id, community_id, kind, occurred_ms, note, recorded_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                p![&id, &i.community_id, i.kind.code(), occurred, &note, &op.id, now_ms()],
            )?;
            audit(tx, &op.id, "incident.record", &id)?;
            Ok(IncidentOut {
                id,
                community_id: i.community_id,
                kind: i.kind,
                kind_label: i.kind.label().into(),
                occurred_at: local_time(occurred),
                note,
                recorded_by: op.id,
            })
        })
        .await?,
    ))
}

pub async fn list_incidents(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<IncidentOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let mut out = Vec::new();
            for r in tx.query(
                "SELECT id, community_id, kind, occurred_ms, note, recorded_by FROM incident ORDER BY occurred_ms DESC, id",
                p![],
            )? {
                let community_id = r.text(1)?;
                if !scope.community(&community_id) {
                    continue;
                }
                let kind = IncidentKind::parse(&r.text(2)?).ok_or_else(|| ApiError::internal("incident kind"))?;
                out.push(IncidentOut {
                    id: r.text(0)?,
                    community_id,
                    kind,
                    kind_label: kind.label().into(),
                    occurred_at: local_time(r.i64(3)?),
                    note: r.opt_text(4)?,
                    recorded_by: r.text(5)?,
                });
            }
            Ok(out)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FiguresQuery {
    pub from: String,
    pub to: String,
}

/// Each figure, in words: (key, 中文, definition). Returned with every answer.
pub const DEFINITIONS: &[(&str, &str, &str)] = &[
    ("grid_day_coverage", "白天巡查覆盖率",
     "grid-days of the period on which the grid had a finished day patrol with at least one trusted check-in (inside the grid, not mocked, accurate to the template's limit) / grid-days of the period"),
    ("grid_night_coverage", "夜间巡查覆盖率",
     "the same for night patrols (23:00 and later), per grid-night"),
    ("patrol_completion", "巡查三到完成率",
     "patrols started in the period that finished with all three parts (enough trusted check-ins, every checklist item answered, a report or 'nothing found') / patrols started in the period"),
    ("must_visit_coverage", "重点必访覆盖率",
     "must-visit households met or reached by phone within the template's interval before the period's end / must-visit households"),
    ("reports_by_category", "情况五报分类",
     "reports made in the period, by category"),
    ("on_time_closure", "按期结案率",
     "cases closed in the period by their deadline / cases closed in the period that had a deadline"),
    ("in_grid_resolution", "格内解决率",
     "cases closed in the period by the grid's own handlers — solved on the spot (即知即办) or closed without ever being dispatched to a unit / cases closed in the period"),
    ("diversion_110.count", "110分流数", "110 non-police diversion tasks dispatched in the period"),
    ("diversion_110.acknowledged_on_time", "按时签收",
     "of those, acknowledged within the street's acknowledge limit / those acknowledged, or past the limit unacknowledged"),
    ("diversion_110.arrived_on_time", "按时到场",
     "arrived on site (with a GPS fix) within the street's arrival limit / those arrived, or past the limit without arriving (sent back and cancelled tasks left out)"),
    ("diversion_110.closed_on_time", "按期办结",
     "done by the deadline / done, or still open past the deadline"),
    ("diversion_110.sent_back", "退回数", "those sent back by the unit or worker, with a reason"),
    ("weekly_list_closure", "民情清单办结率",
     "items of the community's 相约星期五 lists from meetings held in the period whose task is done / those items"),
    ("three_zero", "三零",
     "no petition escalated, no safety accident with casualties and no criminal or major public-order case recorded for the community in the period; `incidents` lists the ones behind a ✗"),
];

/// A count over a base, with the rate (None when the base is zero).
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Ratio {
    pub count: i64,
    pub of: i64,
    pub rate: Option<f64>,
}

impl Ratio {
    fn finish(mut self) -> Ratio {
        self.rate = (self.of > 0).then(|| (self.count as f64 / self.of as f64 * 10_000.0).round() / 10_000.0);
        self
    }
    fn add(&mut self, hit: bool) {
        self.of += 1;
        self.count += i64::from(hit);
    }
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Incidents {
    pub petitions: i64,
    pub accidents: i64,
    pub criminal_cases: i64,
}

/// 110 非警务分流, as the definitions say.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Diversion {
    pub count: i64,
    pub acknowledged_on_time: Ratio,
    pub arrived_on_time: Ratio,
    pub closed_on_time: Ratio,
    pub sent_back: i64,
}

/// The figures of an area: one grid, or a community's grids.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct AreaFigures {
    pub grid_day_coverage: Ratio,
    pub grid_night_coverage: Ratio,
    pub patrol_completion: Ratio,
    pub must_visit_coverage: Ratio,
    pub reports_by_category: BTreeMap<String, i64>,
    pub on_time_closure: Ratio,
    pub in_grid_resolution: Ratio,
    pub diversion_110: Diversion,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommunityFigures {
    pub community_id: String,
    pub community: String,
    #[serde(flatten)]
    pub figures: AreaFigures,
    /// 民情清单: list items closed / items, from meetings held in the period.
    pub weekly_list_closure: Ratio,
    pub incidents: Incidents,
    /// The incidents behind a ✗, in words: kind, local time, note.
    pub incident_list: Vec<String>,
    /// 三零: no petitions, no accidents, no criminal cases.
    pub three_zero: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GridFigures {
    pub grid_id: String,
    pub grid: String,
    pub community_id: String,
    #[serde(flatten)]
    pub figures: AreaFigures,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct WorkerFigures {
    pub worker_id: String,
    pub worker: String,
    pub patrols: i64,
    /// Patrols with all three parts / patrols started.
    pub patrol_completion: Ratio,
    pub trusted_checkins: i64,
    pub visits: i64,
    pub reports: i64,
    /// Tasks assigned to the worker done by their deadline / done, or open past it.
    pub tasks_on_time: Ratio,
}

/// A volunteer team's figures: its members' summed.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct TeamFigures {
    pub team_id: String,
    pub team: String,
    pub community_id: String,
    pub members: i64,
    pub patrols: i64,
    pub patrol_completion: Ratio,
    pub trusted_checkins: i64,
    pub visits: i64,
    pub reports: i64,
    pub tasks_on_time: Ratio,
}

/// A figure's definition in words.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Definition {
    pub figure: String,
    pub zh: String,
    pub definition: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub from: String,
    pub to: String,
    pub communities: Vec<CommunityFigures>,
    pub grids: Vec<GridFigures>,
    pub workers: Vec<WorkerFigures>,
    /// Per volunteer team: its members' figures summed.
    pub teams: Vec<TeamFigures>,
    /// Communities that made 三零 / communities shown.
    pub three_zero_communities: Ratio,
    pub definitions: Vec<Definition>,
}

/// How soon a 110 diversion must be acknowledged and reached (the street's setting).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeliness {
    /// Minutes from dispatch to acknowledgement (default 30).
    pub acknowledge_within_minutes: u32,
    /// Minutes from dispatch to arrival on site (default 120).
    pub arrive_within_minutes: u32,
}

const TIMELINESS_KEY: &str = "timeliness_110";

impl Default for Timeliness {
    fn default() -> Self {
        Timeliness { acknowledge_within_minutes: 30, arrive_within_minutes: 120 }
    }
}

pub fn timeliness(tx: &mut dyn crate::db::Tx) -> Result<Timeliness> {
    Ok(match crate::reference::setting(tx, TIMELINESS_KEY)? {
        Some(v) => serde_json::from_str(&v).map_err(ApiError::internal)?,
        None => Timeliness::default(),
    })
}

pub async fn get_timeliness(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Timeliness>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            op.scope(tx)?;
            timeliness(tx)
        })
        .await?,
    ))
}

/// Set the 110 timeliness limits (street admin).
pub async fn set_timeliness(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(t): JsonBody<Timeliness>,
) -> Result<Json<Timeliness>> {
    for (field, v) in [
        ("acknowledge_within_minutes", t.acknowledge_within_minutes),
        ("arrive_within_minutes", t.arrive_within_minutes),
    ] {
        if !(1..=7 * 24 * 60).contains(&v) {
            return Err(ApiError::invalid(field, "must be 1..10080 minutes"));
        }
    }
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            op.require_admin()?;
            crate::reference::set_setting(tx, TIMELINESS_KEY, &serde_json::to_string(&t).unwrap_or_default())?;
            audit(tx, &op.id, "settings.timeliness", "110")?;
            Ok(t)
        })
        .await?,
    ))
}

pub async fn figures(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> Result<Json<Figures>> {
    let from = parse_time("from", &q.from)?;
    let to = parse_time("to", &q.to)?;
    if from >= to {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    if to - from > 400 * 86_400_000 {
        return Err(ApiError::invalid("to", "a period is at most 400 days"));
    }
    Ok(Json(s.db.read(move |tx| compute(tx, bearer.as_deref(), from, to, now_ms())).await?))
}

/// The figures counted record by record (`compute_from_records`), for tests that check the
/// rollups against them.
pub fn from_records(tx: &mut dyn crate::db::Tx, bearer: &str, from: &str, to: &str) -> Result<Figures> {
    let (from, to) = (parse_time("from", from)?, parse_time("to", to)?);
    compute_from_records(tx, Some(bearer), from, to, now_ms())
}

/// The local days of `[from, to)` in the street's time zone.
fn local_days(from: i64, to: i64) -> Vec<NaiveDate> {
    let tz = super::street_tz();
    let day = |ms: i64| tz.timestamp_millis_opt(ms).single().map(|t| t.date_naive());
    let (Some(mut d), Some(last)) = (day(from), day(to - 1)) else { return Vec::new() };
    let mut out = Vec::new();
    while d <= last {
        out.push(d);
        d = d.succ_opt().unwrap_or(last);
        if out.len() > 500 {
            break;
        }
    }
    out
}

struct Ctx {
    from: i64,
    to: i64,
    now: i64,
    days: Vec<NaiveDate>,
    limits: Timeliness,
    must_visit_days: i64,
    templates: Templates,
}

impl Ratio {
    fn plus(&mut self, o: &Ratio) {
        self.count += o.count;
        self.of += o.of;
    }
}

impl AreaFigures {
    /// No grid yet: every report category at zero.
    fn empty() -> AreaFigures {
        AreaFigures {
            reports_by_category: ReportCategory::ALL.iter().map(|c| (c.code().to_string(), 0)).collect(),
            ..Default::default()
        }
    }

    /// Add another area's counts (rates are computed once, by `finished`).
    fn plus(&mut self, o: &AreaFigures) {
        self.grid_day_coverage.plus(&o.grid_day_coverage);
        self.grid_night_coverage.plus(&o.grid_night_coverage);
        self.patrol_completion.plus(&o.patrol_completion);
        self.must_visit_coverage.plus(&o.must_visit_coverage);
        self.on_time_closure.plus(&o.on_time_closure);
        self.in_grid_resolution.plus(&o.in_grid_resolution);
        for (k, v) in &o.reports_by_category {
            *self.reports_by_category.entry(k.clone()).or_default() += v;
        }
        let (d, e) = (&mut self.diversion_110, &o.diversion_110);
        d.count += e.count;
        d.acknowledged_on_time.plus(&e.acknowledged_on_time);
        d.arrived_on_time.plus(&e.arrived_on_time);
        d.closed_on_time.plus(&e.closed_on_time);
        d.sent_back += e.sent_back;
    }

    /// The counts with their rates.
    fn finished(&self) -> AreaFigures {
        let mut f = AreaFigures::empty();
        f.plus(self);
        for r in [
            &mut f.grid_day_coverage,
            &mut f.grid_night_coverage,
            &mut f.patrol_completion,
            &mut f.must_visit_coverage,
            &mut f.on_time_closure,
            &mut f.in_grid_resolution,
            &mut f.diversion_110.acknowledged_on_time,
            &mut f.diversion_110.arrived_on_time,
            &mut f.diversion_110.closed_on_time,
        ] {
            *r = std::mem::take(r).finish();
        }
        f
    }
}

/// One grid's counts for the period (a community's are its grids' added up), record by record.
fn grid_counts(tx: &mut dyn crate::db::Tx, cx: &mut Ctx, g: &str) -> Result<AreaFigures> {
    let tz = super::street_tz();
    let mut f = AreaFigures::empty();
    let (from, to) = (cx.from, cx.to);
    let mut day_covered = HashSet::new();
    let mut night_covered = HashSet::new();
    for r in tx.query(
        "SELECT id, template_id, template_version, finished_ms, outcome, shift, effective_ms
             FROM patrol WHERE grid_id = ? AND effective_ms >= ? AND effective_ms < ?",
        p![g, from, to],
    )? {
        let parts = patrol_parts(
            tx,
            &mut cx.templates,
            &r.text(0)?,
            (&r.text(1)?, r.i64(2)?),
            r.opt_i64(3)?.is_some(),
            r.opt_text(4)?.as_deref(),
        )?;
        f.patrol_completion.add(parts.complete);
        if r.opt_i64(3)?.is_some() && parts.trusted > 0 {
            let date = tz.timestamp_millis_opt(r.i64(6)?).single().map(|t| t.date_naive());
            match PatrolShift::from_code(&r.text(5)?) {
                Some(PatrolShift::Night) => night_covered.extend(date),
                _ => day_covered.extend(date),
            }
        }
    }
    for d in &cx.days {
        f.grid_day_coverage.add(day_covered.contains(d));
        f.grid_night_coverage.add(night_covered.contains(d));
    }
    f.must_visit_coverage.of +=
        tx.query_i64("SELECT COUNT(*) FROM household WHERE grid_id = ? AND must_visit = 1", p![g])?;
    f.must_visit_coverage.count += tx.query_i64(
        "SELECT COUNT(DISTINCT v.household_id) FROM visit v JOIN household h ON h.id = v.household_id
             WHERE h.grid_id = ? AND h.must_visit = 1 AND v.outcome IN ('met', 'by_phone')
               AND v.effective_ms >= ? AND v.effective_ms < ?",
        p![g, to - cx.must_visit_days * 86_400_000, to],
    )?;
    for r in tx.query(
            "SELECT category, COUNT(*) FROM report WHERE grid_id = ? AND effective_ms >= ? AND effective_ms < ? GROUP BY category",
            p![g, from, to],
        )? {
            *f.reports_by_category.entry(r.text(0)?).or_default() += r.i64(1)?;
        }
    for r in tx.query(
        "SELECT deadline_ms, closed_ms, dispatched FROM case_file
             WHERE grid_id = ? AND closed_ms IS NOT NULL AND closed_ms >= ? AND closed_ms < ?",
        p![g, from, to],
    )? {
        let closed = r.i64(1)?;
        if let Some(deadline) = r.opt_i64(0)? {
            f.on_time_closure.add(closed <= deadline);
        }
        f.in_grid_resolution.add(!r.bool(2)?);
    }
    for r in tx.query(
            "SELECT t.id, t.dispatched_ms, t.deadline_ms, t.status, t.done_ms,
                    (SELECT MIN(e.effective_ms) FROM task_event e WHERE e.task_id = t.id AND e.action = 'acknowledge'),
                    (SELECT MIN(e.effective_ms) FROM task_event e WHERE e.task_id = t.id AND e.action = 'arrive')
             FROM task t WHERE t.grid_id = ? AND t.source = 'diversion_110' AND t.dispatched_ms >= ? AND t.dispatched_ms < ?",
            p![g, from, to],
        )? {
            let d = &mut f.diversion_110;
            d.count += 1;
            let dispatched = r.i64(1)?;
            let deadline = r.i64(2)?;
            let status = TaskStatus::from_code(&r.text(3)?).ok_or_else(|| ApiError::internal("task status"))?;
            let (done, acked, arrived) = (r.opt_i64(4)?, r.opt_i64(5)?, r.opt_i64(6)?);
            let ack_limit = dispatched + i64::from(cx.limits.acknowledge_within_minutes) * 60_000;
            let arrive_limit = dispatched + i64::from(cx.limits.arrive_within_minutes) * 60_000;
            let withdrawn = matches!(status, TaskStatus::SentBack | TaskStatus::Cancelled);
            match acked {
                Some(at) => d.acknowledged_on_time.add(at <= ack_limit),
                None if cx.now > ack_limit && !withdrawn => d.acknowledged_on_time.add(false),
                None => {}
            }
            match arrived {
                Some(at) => d.arrived_on_time.add(at <= arrive_limit),
                None if cx.now > arrive_limit && !withdrawn && status != TaskStatus::Done => d.arrived_on_time.add(false),
                None => {}
            }
            match (status, done) {
                (TaskStatus::Done, Some(at)) => d.closed_on_time.add(at <= deadline),
                _ if !withdrawn && cx.now > deadline => d.closed_on_time.add(false),
                _ => {}
            }
            d.sent_back += i64::from(status == TaskStatus::SentBack);
        }
    Ok(f)
}

/// The figures as first written: every count taken from the records, grid by grid and worker
/// by worker. Kept as the definition `compute` (over the rollups) is tested against.
fn compute_from_records(
    tx: &mut dyn crate::db::Tx,
    bearer: Option<&str>,
    from: i64,
    to: i64,
    now: i64,
) -> Result<Figures> {
    let op = auth::operator(tx, bearer)?;
    let scope = op.scope(tx)?;
    let template = crate::reference::active_template(tx)?;
    let mut cx = Ctx {
        from,
        to,
        now,
        days: local_days(from, to),
        limits: timeliness(tx)?,
        must_visit_days: i64::from(template.visits.must_visit_interval_days),
        templates: Templates::new(),
    };
    let mut communities = Vec::new();
    let mut grids_out = Vec::new();
    for c in tx.query("SELECT id, name FROM community ORDER BY code", p![])? {
        let (cid, cname) = (c.text(0)?, c.text(1)?);
        if !scope.community(&cid) {
            continue;
        }
        let mut grids = Vec::new();
        for g in tx.query("SELECT id, name FROM grid WHERE community_id = ? ORDER BY code", p![&cid])? {
            let (gid, gname) = (g.text(0)?, g.text(1)?);
            if scope.grid(&gid) {
                grids.push((gid, gname));
            }
        }
        // Each grid counted once; the community's figures are its grids' added up.
        let mut sum = AreaFigures::empty();
        for (gid, gname) in grids {
            let counts = grid_counts(tx, &mut cx, &gid)?;
            sum.plus(&counts);
            grids_out.push(GridFigures {
                grid_id: gid,
                grid: gname,
                community_id: cid.clone(),
                figures: counts.finished(),
            });
        }
        let figures = sum.finished();
        let mut incidents = Incidents::default();
        let mut incident_list = Vec::new();
        for r in tx.query(
            "SELECT kind, occurred_ms, note FROM incident WHERE community_id = ? AND occurred_ms >= ? AND occurred_ms < ?
             ORDER BY occurred_ms",
            p![&cid, from, to],
        )? {
            let Some(kind) = IncidentKind::parse(&r.text(0)?) else { continue };
            match kind {
                IncidentKind::Petition => incidents.petitions += 1,
                IncidentKind::Accident => incidents.accidents += 1,
                IncidentKind::CriminalCase => incidents.criminal_cases += 1,
            }
            let note = r.opt_text(2)?.map(|n| format!(": {n}")).unwrap_or_default();
            incident_list.push(format!("{} {}{note}", local_time(r.i64(1)?), kind.label()));
        }
        let three_zero = incident_list.is_empty();
        let mut weekly_list_closure = Ratio::default();
        for r in tx.query(
            "SELECT t.status FROM list_item i JOIN meeting m ON m.id = i.meeting_id JOIN task t ON t.id = i.task_id
             WHERE m.community_id = ? AND m.held_ms >= ? AND m.held_ms < ?",
            p![&cid, from, to],
        )? {
            weekly_list_closure.add(r.text(0)? == TaskStatus::Done.code());
        }
        communities.push(CommunityFigures {
            community_id: cid,
            community: cname,
            figures,
            weekly_list_closure: weekly_list_closure.finish(),
            incidents,
            incident_list,
            three_zero,
        });
    }
    let mut workers = Vec::new();
    for w in tx.query("SELECT id, name FROM worker ORDER BY id", p![])? {
        let (wid, wname) = (w.text(0)?, w.text(1)?);
        if !scope.any_grid(auth::worker_grids(tx, &wid)?.iter()) {
            continue;
        }
        let mut f = WorkerFigures { worker_id: wid.clone(), worker: wname, ..Default::default() };
        for r in tx.query(
            "SELECT id, template_id, template_version, finished_ms, outcome FROM patrol
             WHERE worker_id = ? AND effective_ms >= ? AND effective_ms < ?",
            p![&wid, from, to],
        )? {
            let parts = patrol_parts(
                tx,
                &mut cx.templates,
                &r.text(0)?,
                (&r.text(1)?, r.i64(2)?),
                r.opt_i64(3)?.is_some(),
                r.opt_text(4)?.as_deref(),
            )?;
            f.patrols += 1;
            f.patrol_completion.add(parts.complete);
            f.trusted_checkins += parts.trusted;
        }
        f.visits = tx.query_i64(
            "SELECT COUNT(*) FROM visit WHERE worker_id = ? AND effective_ms >= ? AND effective_ms < ?",
            p![&wid, from, to],
        )?;
        f.reports = tx.query_i64(
            "SELECT COUNT(*) FROM report WHERE worker_id = ? AND effective_ms >= ? AND effective_ms < ?",
            p![&wid, from, to],
        )?;
        for r in tx.query(
            "SELECT status, done_ms, deadline_ms FROM task WHERE assignee_id = ? AND dispatched_ms >= ? AND dispatched_ms < ?",
            p![&wid, from, to],
        )? {
            let (status, done, deadline) = (r.text(0)?, r.opt_i64(1)?, r.i64(2)?);
            match (status.as_str(), done) {
                ("done", Some(at)) => f.tasks_on_time.add(at <= deadline),
                ("done" | "cancelled" | "sent_back", _) => {}
                _ if now > deadline => f.tasks_on_time.add(false),
                _ => {}
            }
        }
        f.patrol_completion = std::mem::take(&mut f.patrol_completion).finish();
        f.tasks_on_time = std::mem::take(&mut f.tasks_on_time).finish();
        workers.push(f);
    }
    finish(communities, grids_out, workers, &scope, tx, from, to)
}

/// Where a period's counts come from: its whole street-local days from the rollups
/// (`record_day`), its ragged ends (a period that does not start or end at a local midnight)
/// from the records themselves.
struct Split {
    /// `[first, end)` as `YYYY-MM-DD`, when the period holds at least one whole day.
    days: Option<(String, String)>,
    raw: Vec<(i64, i64)>,
}

fn split(from: i64, to: i64) -> Split {
    let tz = super::street_tz();
    let date = |ms: i64| tz.timestamp_millis_opt(ms).single().map(|t| t.date_naive());
    // The first instant of a local day (None in a time-zone gap: then everything is raw).
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0).and_then(|m| tz.from_local_datetime(&m).earliest()).map(|t| t.timestamp_millis())
    };
    let whole = (|| {
        let mut first = date(from)?;
        if start(first)? != from {
            first = first.succ_opt()?;
        }
        let end = date(to)?;
        let (a, b) = (start(first)?, start(end)?);
        (first < end && a >= from && b <= to).then_some((first, end, a, b))
    })();
    match whole {
        Some((first, end, a, b)) => Split {
            days: Some((first.format("%Y-%m-%d").to_string(), end.format("%Y-%m-%d").to_string())),
            raw: [(from, a), (b, to)].into_iter().filter(|(x, y)| x < y).collect(),
        },
        None => Split { days: None, raw: vec![(from, to)] },
    }
}

/// Visits and reports of a period: per grid by category, per worker.
#[derive(Default)]
struct RecordCounts {
    grid_reports: HashMap<String, BTreeMap<String, i64>>,
    worker_visits: HashMap<String, i64>,
    worker_reports: HashMap<String, i64>,
}

impl RecordCounts {
    fn add(&mut self, grid: String, worker: String, kind: &str, category: String, n: i64) {
        if kind == rollups::VISIT {
            *self.worker_visits.entry(worker).or_default() += n;
        } else {
            *self.worker_reports.entry(worker).or_default() += n;
            *self.grid_reports.entry(grid).or_default().entry(category).or_default() += n;
        }
    }

    fn load(tx: &mut dyn crate::db::Tx, from: i64, to: i64) -> Result<RecordCounts> {
        let mut c = RecordCounts::default();
        let split = split(from, to);
        if let Some((first, end)) = &split.days {
            for r in tx.query(
                "SELECT grid_id, worker_id, kind, category, CAST(SUM(n) AS BIGINT) FROM record_day WHERE day >= ? AND day < ?
                 GROUP BY grid_id, worker_id, kind, category",
                p![first, end],
            )? {
                c.add(r.text(0)?, r.text(1)?, &r.text(2)?, r.text(3)?, r.i64(4)?);
            }
        }
        for (a, b) in split.raw {
            for r in tx.query(
                "SELECT grid_id, worker_id, COUNT(*) FROM visit WHERE effective_ms >= ? AND effective_ms < ?
                 GROUP BY grid_id, worker_id",
                p![a, b],
            )? {
                c.add(r.text(0)?, r.text(1)?, rollups::VISIT, String::new(), r.i64(2)?);
            }
            for r in tx.query(
                "SELECT grid_id, worker_id, category, COUNT(*) FROM report WHERE effective_ms >= ? AND effective_ms < ?
                 GROUP BY grid_id, worker_id, category",
                p![a, b],
            )? {
                c.add(r.text(0)?, r.text(1)?, rollups::REPORT, r.text(2)?, r.i64(3)?);
            }
        }
        Ok(c)
    }
}

/// The figures of a period from the rollups (`admin::rollups`) and a few set-wise reads: the
/// same numbers as `compute_from_records`, in a fixed number of queries however many grids,
/// workers and records the street has.
fn compute(tx: &mut dyn crate::db::Tx, bearer: Option<&str>, from: i64, to: i64, now: i64) -> Result<Figures> {
    let op = auth::operator(tx, bearer)?;
    let scope = op.scope(tx)?;
    let tz = super::street_tz();
    let template = crate::reference::active_template(tx)?;
    let days = local_days(from, to);
    let limits = timeliness(tx)?;
    let must_visit_days = i64::from(template.visits.must_visit_interval_days);
    let records = RecordCounts::load(tx, from, to)?;

    let mut by_grid: HashMap<String, AreaFigures> = HashMap::new();
    let mut workers_by_id: HashMap<String, WorkerFigures> = HashMap::new();
    // Patrols: their verdicts as kept.
    let mut covered: HashMap<String, (HashSet<NaiveDate>, HashSet<NaiveDate>)> = HashMap::new();
    for r in tx.query(
        "SELECT grid_id, worker_id, shift, effective_ms, finished, complete, trusted FROM patrol_figure
         WHERE effective_ms >= ? AND effective_ms < ?",
        p![from, to],
    )? {
        let (grid, worker) = (r.text(0)?, r.text(1)?);
        let (finished, complete, trusted) = (r.bool(4)?, r.bool(5)?, r.i64(6)?);
        by_grid.entry(grid.clone()).or_insert_with(AreaFigures::empty).patrol_completion.add(complete);
        if finished && trusted > 0 {
            let date = tz.timestamp_millis_opt(r.i64(3)?).single().map(|t| t.date_naive());
            let (day, night) = covered.entry(grid).or_default();
            match PatrolShift::from_code(&r.text(2)?) {
                Some(PatrolShift::Night) => night.extend(date),
                _ => day.extend(date),
            }
        }
        let w = workers_by_id.entry(worker).or_default();
        w.patrols += 1;
        w.patrol_completion.add(complete);
        w.trusted_checkins += trusted;
    }
    let mut must_visit: HashMap<String, (i64, i64)> = HashMap::new();
    for r in tx.query("SELECT grid_id, COUNT(*) FROM household WHERE must_visit = 1 GROUP BY grid_id", p![])? {
        must_visit.entry(r.text(0)?).or_default().1 = r.i64(1)?;
    }
    for r in tx.query(
        "SELECT h.grid_id, COUNT(*) FROM household h WHERE h.must_visit = 1 AND EXISTS (
             SELECT 1 FROM visit v WHERE v.household_id = h.id AND v.outcome IN ('met', 'by_phone')
               AND v.effective_ms >= ? AND v.effective_ms < ?)
         GROUP BY h.grid_id",
        p![to - must_visit_days * 86_400_000, to],
    )? {
        must_visit.entry(r.text(0)?).or_default().0 = r.i64(1)?;
    }
    for r in tx.query(
        "SELECT grid_id, deadline_ms, closed_ms, dispatched FROM case_file
         WHERE closed_ms IS NOT NULL AND closed_ms >= ? AND closed_ms < ?",
        p![from, to],
    )? {
        let f = by_grid.entry(r.text(0)?).or_insert_with(AreaFigures::empty);
        let closed = r.i64(2)?;
        if let Some(deadline) = r.opt_i64(1)? {
            f.on_time_closure.add(closed <= deadline);
        }
        f.in_grid_resolution.add(!r.bool(3)?);
    }
    for r in tx.query(
        "SELECT t.grid_id, t.dispatched_ms, t.deadline_ms, t.status, t.done_ms,
                (SELECT MIN(e.effective_ms) FROM task_event e WHERE e.task_id = t.id AND e.action = 'acknowledge'),
                (SELECT MIN(e.effective_ms) FROM task_event e WHERE e.task_id = t.id AND e.action = 'arrive')
         FROM task t WHERE t.source = 'diversion_110' AND t.grid_id IS NOT NULL
           AND t.dispatched_ms >= ? AND t.dispatched_ms < ?",
        p![from, to],
    )? {
        let d = &mut by_grid.entry(r.text(0)?).or_insert_with(AreaFigures::empty).diversion_110;
        d.count += 1;
        let dispatched = r.i64(1)?;
        let deadline = r.i64(2)?;
        let status = TaskStatus::from_code(&r.text(3)?).ok_or_else(|| ApiError::internal("task status"))?;
        let (done, acked, arrived) = (r.opt_i64(4)?, r.opt_i64(5)?, r.opt_i64(6)?);
        let ack_limit = dispatched + i64::from(limits.acknowledge_within_minutes) * 60_000;
        let arrive_limit = dispatched + i64::from(limits.arrive_within_minutes) * 60_000;
        let withdrawn = matches!(status, TaskStatus::SentBack | TaskStatus::Cancelled);
        match acked {
            Some(at) => d.acknowledged_on_time.add(at <= ack_limit),
            None if now > ack_limit && !withdrawn => d.acknowledged_on_time.add(false),
            None => {}
        }
        match arrived {
            Some(at) => d.arrived_on_time.add(at <= arrive_limit),
            None if now > arrive_limit && !withdrawn && status != TaskStatus::Done => d.arrived_on_time.add(false),
            None => {}
        }
        match (status, done) {
            (TaskStatus::Done, Some(at)) => d.closed_on_time.add(at <= deadline),
            _ if !withdrawn && now > deadline => d.closed_on_time.add(false),
            _ => {}
        }
        d.sent_back += i64::from(status == TaskStatus::SentBack);
    }
    // One grid's figures, from the pieces above.
    let mut grid_figures = |gid: &str| -> AreaFigures {
        let mut f = by_grid.remove(gid).unwrap_or_else(AreaFigures::empty);
        let (day, night) = covered.remove(gid).unwrap_or_default();
        for d in &days {
            f.grid_day_coverage.add(day.contains(d));
            f.grid_night_coverage.add(night.contains(d));
        }
        let (met, of) = must_visit.get(gid).copied().unwrap_or_default();
        f.must_visit_coverage.count += met;
        f.must_visit_coverage.of += of;
        for (k, v) in records.grid_reports.get(gid).into_iter().flatten() {
            *f.reports_by_category.entry(k.clone()).or_default() += v;
        }
        f
    };

    let mut incidents_of: HashMap<String, (Incidents, Vec<String>)> = HashMap::new();
    for r in tx.query(
        "SELECT community_id, kind, occurred_ms, note FROM incident WHERE occurred_ms >= ? AND occurred_ms < ?
         ORDER BY occurred_ms",
        p![from, to],
    )? {
        let Some(kind) = IncidentKind::parse(&r.text(1)?) else { continue };
        let (incidents, list) = incidents_of.entry(r.text(0)?).or_default();
        match kind {
            IncidentKind::Petition => incidents.petitions += 1,
            IncidentKind::Accident => incidents.accidents += 1,
            IncidentKind::CriminalCase => incidents.criminal_cases += 1,
        }
        let note = r.opt_text(3)?.map(|n| format!(": {n}")).unwrap_or_default();
        list.push(format!("{} {}{note}", local_time(r.i64(2)?), kind.label()));
    }
    let mut lists: HashMap<String, Ratio> = HashMap::new();
    for r in tx.query(
        "SELECT m.community_id, t.status FROM list_item i JOIN meeting m ON m.id = i.meeting_id
         JOIN task t ON t.id = i.task_id WHERE m.held_ms >= ? AND m.held_ms < ?",
        p![from, to],
    )? {
        lists.entry(r.text(0)?).or_default().add(r.text(1)? == TaskStatus::Done.code());
    }
    let mut grids_of: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for g in tx.query("SELECT id, name, community_id FROM grid ORDER BY code", p![])? {
        grids_of.entry(g.text(2)?).or_default().push((g.text(0)?, g.text(1)?));
    }

    let mut communities = Vec::new();
    let mut grids_out = Vec::new();
    for c in tx.query("SELECT id, name FROM community ORDER BY code", p![])? {
        let (cid, cname) = (c.text(0)?, c.text(1)?);
        if !scope.community(&cid) {
            continue;
        }
        let mut sum = AreaFigures::empty();
        for (gid, gname) in grids_of.remove(&cid).unwrap_or_default() {
            if !scope.grid(&gid) {
                continue;
            }
            let counts = grid_figures(&gid);
            sum.plus(&counts);
            grids_out.push(GridFigures {
                grid_id: gid,
                grid: gname,
                community_id: cid.clone(),
                figures: counts.finished(),
            });
        }
        let (incidents, incident_list) = incidents_of.remove(&cid).unwrap_or_default();
        communities.push(CommunityFigures {
            community_id: cid.clone(),
            community: cname,
            figures: sum.finished(),
            weekly_list_closure: lists.remove(&cid).unwrap_or_default().finish(),
            incidents,
            three_zero: incident_list.is_empty(),
            incident_list,
        });
    }

    let mut tasks: HashMap<String, Ratio> = HashMap::new();
    for r in tx.query(
        "SELECT assignee_id, status, done_ms, deadline_ms FROM task
         WHERE assignee_id IS NOT NULL AND dispatched_ms >= ? AND dispatched_ms < ?",
        p![from, to],
    )? {
        let (status, done, deadline) = (r.text(1)?, r.opt_i64(2)?, r.i64(3)?);
        let t = tasks.entry(r.text(0)?).or_default();
        match (status.as_str(), done) {
            ("done", Some(at)) => t.add(at <= deadline),
            ("done" | "cancelled" | "sent_back", _) => {}
            _ if now > deadline => t.add(false),
            _ => {}
        }
    }
    let mut worker_grids: HashMap<String, Vec<String>> = HashMap::new();
    for r in tx.query("SELECT worker_id, grid_id FROM worker_grid", p![])? {
        worker_grids.entry(r.text(0)?).or_default().push(r.text(1)?);
    }
    let mut workers = Vec::new();
    for w in tx.query("SELECT id, name FROM worker ORDER BY id", p![])? {
        let (wid, wname) = (w.text(0)?, w.text(1)?);
        if !scope.any_grid(worker_grids.get(&wid).into_iter().flatten()) {
            continue;
        }
        let mut f = workers_by_id.remove(&wid).unwrap_or_default();
        f.worker_id = wid.clone();
        f.worker = wname;
        f.visits = records.worker_visits.get(&wid).copied().unwrap_or(0);
        f.reports = records.worker_reports.get(&wid).copied().unwrap_or(0);
        f.tasks_on_time = tasks.remove(&wid).unwrap_or_default().finish();
        f.patrol_completion = std::mem::take(&mut f.patrol_completion).finish();
        workers.push(f);
    }
    finish(communities, grids_out, workers, &scope, tx, from, to)
}

/// The teams (their members' figures summed), 三零 over the communities, the definitions.
fn finish(
    communities: Vec<CommunityFigures>,
    grids: Vec<GridFigures>,
    workers: Vec<WorkerFigures>,
    scope: &auth::Scope,
    tx: &mut dyn crate::db::Tx,
    from: i64,
    to: i64,
) -> Result<Figures> {
    let mut teams = Vec::new();
    for t in super::teams::teams(tx)? {
        if !scope.community(&t.community_id) {
            continue;
        }
        let mut f = TeamFigures { team_id: t.id, team: t.name, community_id: t.community_id, ..Default::default() };
        for w in workers.iter().filter(|w| t.member_ids.contains(&w.worker_id)) {
            f.members += 1;
            f.patrols += w.patrols;
            f.patrol_completion.count += w.patrol_completion.count;
            f.patrol_completion.of += w.patrol_completion.of;
            f.trusted_checkins += w.trusted_checkins;
            f.visits += w.visits;
            f.reports += w.reports;
            f.tasks_on_time.count += w.tasks_on_time.count;
            f.tasks_on_time.of += w.tasks_on_time.of;
        }
        f.patrol_completion = std::mem::take(&mut f.patrol_completion).finish();
        f.tasks_on_time = std::mem::take(&mut f.tasks_on_time).finish();
        teams.push(f);
    }
    let three_zero = Ratio {
        count: communities.iter().filter(|c| c.three_zero).count() as i64,
        of: communities.len() as i64,
        rate: None,
    }
    .finish();
    Ok(Figures {
        from: local_time(from),
        to: local_time(to),
        communities,
        grids,
        workers,
        teams,
        three_zero_communities: three_zero,
        definitions: DEFINITIONS
            .iter()
            .map(|(k, zh, d)| Definition { figure: (*k).into(), zh: (*zh).into(), definition: (*d).into() })
            .collect(),
    })
}
