//! Lists and CSV exports of patrols, visits, reports, cases and tasks, within the operator's
//! scope. One table builder serves both: JSON rows keyed by English names, CSV with
//! "中文 (English)" headers, UTF-8 with a BOM so Excel opens it, phones masked, no tokens,
//! and cells that would start a spreadsheet formula defused. Every export is audited.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::ChecklistAnswer;
use gridpatrol_protocol::rules;
use gridpatrol_protocol::template::Template;
use serde::Deserialize;
use serde_json::{json, Map, Value as J};

use super::{audit, local_time, period};
use crate::auth::{self, Scope};
use crate::db::Tx;
use crate::error::Result;
use crate::http::{ApiQuery, AppState, Bearer};
use crate::{p, reference};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Patrols,
    Visits,
    Reports,
    Cases,
    Tasks,
    /// Check-ins that do not count for 人到: outside the grid, a weak fix, a mock location.
    FlaggedCheckins,
}

impl Kind {
    pub const ALL: [Kind; 6] =
        [Kind::Patrols, Kind::Visits, Kind::Reports, Kind::Cases, Kind::Tasks, Kind::FlaggedCheckins];

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Patrols => "patrols",
            Kind::Visits => "visits",
            Kind::Reports => "reports",
            Kind::Cases => "cases",
            Kind::Tasks => "tasks",
            Kind::FlaggedCheckins => "flagged-checkins",
        }
    }

    /// (key, "中文 (English)" heading) of each column, in order.
    pub fn columns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Patrols => &[
                ("id", "巡查编号 (patrol id)"),
                ("community", "社区 (community)"),
                ("grid", "网格 (grid)"),
                ("worker", "网格员 (grid worker)"),
                ("shift", "班次 (shift)"),
                ("started_at", "开始时间 (started)"),
                ("finished_at", "结束时间 (finished)"),
                ("checkins", "打卡次数 (check-ins)"),
                ("checkins_inside", "格内打卡 (check-ins inside the grid)"),
                ("checklist_answered", "清单已查 (checklist items answered)"),
                ("checklist_total", "清单项数 (checklist items)"),
                ("outcome", "巡查结果 (outcome)"),
                ("person_on_site", "人到 (person on site)"),
                ("eyes_on", "眼到 (eyes on)"),
                ("recorded", "记到 (recorded)"),
                ("complete", "三到齐全 (all three parts)"),
                ("received_at", "HQ接收时间 (received at HQ)"),
            ],
            Kind::Visits => &[
                ("id", "走访编号 (visit id)"),
                ("community", "社区 (community)"),
                ("grid", "网格 (grid)"),
                ("worker", "网格员 (grid worker)"),
                ("household", "住户 (household)"),
                ("phone", "电话 (masked phone)"),
                ("visit_type", "走访类型 (visit type)"),
                ("outcome", "走访结果 (outcome)"),
                ("needs", "需求 (needs)"),
                ("satisfaction", "满意度 (satisfaction)"),
                ("occurred_at", "走访时间 (visited)"),
                ("received_at", "HQ接收时间 (received at HQ)"),
            ],
            Kind::Reports => &[
                ("id", "上报编号 (report id)"),
                ("community", "社区 (community)"),
                ("grid", "网格 (grid)"),
                ("worker", "网格员 (grid worker)"),
                ("category", "类别 (category)"),
                ("urgency", "紧急程度 (urgency)"),
                ("source", "来源 (source)"),
                ("place_name", "地点 (place)"),
                ("lat", "纬度 (latitude, WGS-84)"),
                ("lng", "经度 (longitude, WGS-84)"),
                ("description", "情况描述 (description)"),
                ("people_involved", "涉及人数 (people involved)"),
                ("photos", "照片数 (photos)"),
                ("photo_links", "照片链接 (photo links)"),
                ("case_id", "案件编号 (case id)"),
                ("case_state", "案件状态 (case state)"),
                ("occurred_at", "发生时间 (occurred)"),
                ("received_at", "HQ接收时间 (received at HQ)"),
            ],
            Kind::FlaggedCheckins => &[
                ("id", "打卡编号 (check-in id)"),
                ("community", "社区 (community)"),
                ("grid", "网格 (grid)"),
                ("worker", "网格员 (grid worker)"),
                ("patrol_id", "巡查编号 (patrol id)"),
                ("at", "打卡时间 (checked in)"),
                ("lat", "纬度 (latitude, WGS-84)"),
                ("lng", "经度 (longitude, WGS-84)"),
                ("accuracy_m", "定位精度米 (accuracy, metres)"),
                ("inside_grid", "在网格内 (inside the grid)"),
                ("mock_location", "模拟定位 (mock location)"),
                ("reasons", "标记原因 (why flagged)"),
            ],
            Kind::Cases => &[
                ("id", "案件编号 (case id)"),
                ("community", "社区 (community)"),
                ("grid", "网格 (grid)"),
                ("category", "类别 (category)"),
                ("lat", "纬度 (latitude, WGS-84)"),
                ("lng", "经度 (longitude, WGS-84)"),
                ("state", "状态 (state)"),
                ("responsible_unit", "责任单位 (responsible unit)"),
                ("deadline", "办理时限 (deadline)"),
                ("dispatched", "已派遣 (dispatched)"),
                ("closed_at", "结案时间 (closed)"),
                ("on_time", "按期结案 (closed on time)"),
                ("satisfaction", "满意度 (satisfaction)"),
                ("photo_links", "照片链接 (photo links)"),
                ("created_at", "立案时间 (reported at HQ)"),
            ],
            Kind::Tasks => &[
                ("id", "任务编号 (task id)"),
                ("source", "来源 (source)"),
                ("title", "任务 (title)"),
                ("target_unit", "对接单位 (target unit)"),
                ("worker", "承办网格员 (assignee)"),
                ("grid", "网格 (grid)"),
                ("lat", "纬度 (latitude, WGS-84)"),
                ("lng", "经度 (longitude, WGS-84)"),
                ("deadline", "办理时限 (deadline)"),
                ("status", "状态 (status)"),
                ("result", "办理结果 (result)"),
                ("dispatched_at", "派发时间 (dispatched)"),
                ("done_at", "办结时间 (done)"),
            ],
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Names for ids: grids with their community, workers, households.
struct Names {
    grids: HashMap<String, (String, String, String)>,
    workers: HashMap<String, String>,
}

impl Names {
    fn load(tx: &mut dyn Tx) -> Result<Names> {
        let mut grids = HashMap::new();
        for r in tx.query(
            "SELECT g.id, g.name, g.community_id, COALESCE(c.name, '') FROM grid g LEFT JOIN community c ON c.id = g.community_id",
            p![],
        )? {
            grids.insert(r.text(0)?, (r.text(1)?, r.text(2)?, r.text(3)?));
        }
        let mut workers = HashMap::new();
        for r in tx.query("SELECT id, name FROM worker", p![])? {
            workers.insert(r.text(0)?, r.text(1)?);
        }
        Ok(Names { grids, workers })
    }
    fn grid(&self, id: &str) -> String {
        self.grids.get(id).map(|g| g.0.clone()).unwrap_or_else(|| id.to_string())
    }
    fn community(&self, grid_id: &str) -> String {
        self.grids.get(grid_id).map(|g| g.2.clone()).unwrap_or_default()
    }
    fn worker(&self, id: &str) -> String {
        self.workers.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

fn yes_no(b: bool) -> J {
    J::String(if b { "是 (yes)" } else { "否 (no)" }.into())
}

fn opt_time(ms: Option<i64>) -> J {
    ms.map(|m| J::String(local_time(m))).unwrap_or(J::Null)
}

fn label<T>(code: &str, f: fn(&str) -> Option<T>, l: fn(&T) -> String) -> J {
    J::String(f(code).map(|v| l(&v)).unwrap_or_else(|| code.to_string()))
}

/// 巡查三到 for one patrol, as HQ sees it (HQ's own inside-the-grid test).
#[derive(Debug, Default, Clone)]
pub struct PatrolParts {
    pub checkins: i64,
    pub inside: i64,
    /// Inside, not mocked, accurate enough: what 人到 counts (`rules::trusted_fix`).
    pub trusted: i64,
    pub answered: i64,
    pub total: i64,
    pub person_on_site: bool,
    pub eyes_on: bool,
    pub recorded: bool,
    pub complete: bool,
}

pub struct Templates(HashMap<(String, i64), Option<Template>>);

impl Templates {
    pub fn new() -> Templates {
        Templates(HashMap::new())
    }
    fn get(&mut self, tx: &mut dyn Tx, id: &str, version: i64) -> Result<Option<Template>> {
        if let Some(t) = self.0.get(&(id.to_string(), version)) {
            return Ok(t.clone());
        }
        let t = reference::template(tx, id, version)?;
        self.0.insert((id.to_string(), version), t.clone());
        Ok(t)
    }
}

/// Finished, with enough trusted check-ins (人到: inside the grid, not mocked, accurate enough), every checklist item answered
/// (眼到), and either "nothing found" logged or a report filed from it (记到).
pub fn patrol_parts(
    tx: &mut dyn Tx,
    templates: &mut Templates,
    patrol_id: &str,
    template: (&str, i64),
    finished: bool,
    outcome: Option<&str>,
) -> Result<PatrolParts> {
    let Some(t) = templates.get(tx, template.0, template.1)? else { return Ok(PatrolParts::default()) };
    let mut parts = PatrolParts { total: t.patrol.checklist.len() as i64, ..Default::default() };
    let mut answered = std::collections::HashSet::new();
    for r in tx.query("SELECT inside_grid, answers, trusted FROM checkpoint WHERE patrol_id = ?", p![patrol_id])? {
        parts.checkins += 1;
        if r.bool(0)? {
            parts.inside += 1;
        }
        if r.bool(2)? {
            parts.trusted += 1;
        }
        let answers: Vec<ChecklistAnswer> = r.json(1)?;
        for a in answers {
            answered.insert(a.item_id);
        }
    }
    parts.answered = t.patrol.checklist.iter().filter(|i| answered.contains(&i.id)).count() as i64;
    let reports = tx.query_i64("SELECT COUNT(*) FROM report WHERE patrol_id = ?", p![patrol_id])?;
    let [(_, person_on_site), (_, eyes_on), (_, recorded)] = rules::patrol_parts(
        u32::try_from(parts.trusted).unwrap_or(u32::MAX),
        t.patrol.min_checkins,
        usize::try_from(parts.answered).unwrap_or(0),
        usize::try_from(parts.total).unwrap_or(0),
        u32::try_from(reports).unwrap_or(u32::MAX),
        outcome.and_then(PatrolOutcome::from_code),
    );
    (parts.person_on_site, parts.eyes_on, parts.recorded) = (person_on_site, eyes_on, recorded);
    parts.complete = finished && parts.person_on_site && parts.eyes_on && parts.recorded;
    Ok(parts)
}

/// Build a table: only rows in `scope`, only records whose time lies in `[from, to)`.
pub fn build(tx: &mut dyn Tx, kind: Kind, scope: &Scope, from: i64, to: i64) -> Result<Vec<Vec<J>>> {
    let names = Names::load(tx)?;
    let mut rows = Vec::new();
    match kind {
        Kind::Patrols => {
            let mut templates = Templates::new();
            for r in tx.query(
                "SELECT id, grid_id, worker_id, shift, effective_ms, finished_ms, outcome, template_id, template_version,
                        received_ms FROM patrol WHERE effective_ms >= ? AND effective_ms < ? ORDER BY effective_ms, id",
                p![from, to],
            )? {
                let grid = r.text(1)?;
                if !scope.grid(&grid) {
                    continue;
                }
                let id = r.text(0)?;
                let outcome = r.opt_text(6)?;
                let finished = r.opt_i64(5)?;
                let parts = patrol_parts(tx, &mut templates, &id, (&r.text(7)?, r.i64(8)?), finished.is_some(), outcome.as_deref())?;
                rows.push(vec![
                    J::String(id),
                    J::String(names.community(&grid)),
                    J::String(names.grid(&grid)),
                    J::String(names.worker(&r.text(2)?)),
                    label(&r.text(3)?, PatrolShift::from_code, PatrolShift::label),
                    J::String(local_time(r.i64(4)?)),
                    opt_time(finished),
                    json!(parts.checkins),
                    json!(parts.inside),
                    json!(parts.answered),
                    json!(parts.total),
                    outcome.map(|o| label(&o, PatrolOutcome::from_code, PatrolOutcome::label)).unwrap_or(J::Null),
                    yes_no(parts.person_on_site),
                    yes_no(parts.eyes_on),
                    yes_no(parts.recorded),
                    yes_no(parts.complete),
                    J::String(local_time(r.i64(9)?)),
                ]);
            }
        }
        Kind::Visits => {
            for r in tx.query(
                "SELECT v.id, v.grid_id, v.worker_id, COALESCE(h.label, v.household_id), h.phone, v.visit_type, v.outcome,
                        v.needs, v.satisfaction, v.effective_ms, v.received_ms
                 FROM visit v LEFT JOIN household h ON h.id = v.household_id
                 WHERE v.effective_ms >= ? AND v.effective_ms < ? ORDER BY v.effective_ms, v.id",
                p![from, to],
            )? {
                let grid = r.text(1)?;
                if !scope.grid(&grid) {
                    continue;
                }
                let needs: Vec<String> = r.json(7)?;
                let needs: Vec<String> =
                    needs.iter().map(|n| NeedTag::from_code(n).map(|t| t.label()).unwrap_or_else(|| n.clone())).collect();
                rows.push(vec![
                    J::String(r.text(0)?),
                    J::String(names.community(&grid)),
                    J::String(names.grid(&grid)),
                    J::String(names.worker(&r.text(2)?)),
                    J::String(r.text(3)?),
                    r.opt_text(4)?.map(|p| J::String(mask_phone(&p))).unwrap_or(J::Null),
                    label(&r.text(5)?, VisitType::from_code, VisitType::label),
                    label(&r.text(6)?, VisitOutcome::from_code, VisitOutcome::label),
                    J::String(needs.join("; ")),
                    r.opt_i64(8)?.map(|s| json!(s)).unwrap_or(J::Null),
                    J::String(local_time(r.i64(9)?)),
                    J::String(local_time(r.i64(10)?)),
                ]);
            }
        }
        Kind::Reports => {
            let photos = report_photos(tx, from, to)?;
            for r in tx.query(
                "SELECT r.id, r.grid_id, r.worker_id, r.category, r.urgency, r.source, r.place_name, r.description,
                        r.people_involved, (SELECT COUNT(*) FROM report_photo p WHERE p.report_id = r.id), r.case_id,
                        c.state, r.effective_ms, r.received_ms, r.lat, r.lng
                 FROM report r LEFT JOIN case_file c ON c.id = r.case_id
                 WHERE r.effective_ms >= ? AND r.effective_ms < ? ORDER BY r.effective_ms, r.id",
                p![from, to],
            )? {
                let grid = r.text(1)?;
                if !scope.grid(&grid) {
                    continue;
                }
                rows.push(vec![
                    J::String(r.text(0)?),
                    J::String(names.community(&grid)),
                    J::String(names.grid(&grid)),
                    J::String(names.worker(&r.text(2)?)),
                    label(&r.text(3)?, ReportCategory::from_code, ReportCategory::label),
                    label(&r.text(4)?, Urgency::from_code, Urgency::label),
                    label(&r.text(5)?, ReportSource::from_code, ReportSource::label),
                    r.opt_text(6)?.map(J::String).unwrap_or(J::Null),
                    json!(r.f64(14)?),
                    json!(r.f64(15)?),
                    J::String(r.text(7)?),
                    json!(r.i64(8)?),
                    json!(r.i64(9)?),
                    photo_links(photos.get(&r.text(0)?).map_or(&[][..], Vec::as_slice)),
                    J::String(r.text(10)?),
                    r.opt_text(11)?.map(|s| label(&s, CaseState::from_code, CaseState::label)).unwrap_or(J::Null),
                    J::String(local_time(r.i64(12)?)),
                    J::String(local_time(r.i64(13)?)),
                ]);
            }
        }
        Kind::Cases => {
            let photos = case_photos(tx, from, to)?;
            for r in tx.query(
                "SELECT c.id, c.grid_id, r.category, c.state, c.clear, c.deadline_ms, c.dispatched, c.closed_ms, c.created_ms,
                        r.lat, r.lng
                 FROM case_file c LEFT JOIN report r ON r.id = c.report_id
                 WHERE c.created_ms >= ? AND c.created_ms < ? ORDER BY c.created_ms, c.id",
                p![from, to],
            )? {
                let grid = r.text(1)?;
                if !scope.grid(&grid) {
                    continue;
                }
                let clear: gridpatrol_protocol::case_flow::ClearItems = r.json(4)?;
                let (deadline, closed) = (r.opt_i64(5)?, r.opt_i64(7)?);
                let on_time = match (closed, deadline) {
                    (Some(c), Some(d)) => yes_no(c <= d),
                    _ => J::Null,
                };
                rows.push(vec![
                    J::String(r.text(0)?),
                    J::String(names.community(&grid)),
                    J::String(names.grid(&grid)),
                    r.opt_text(2)?.map(|c| label(&c, ReportCategory::from_code, ReportCategory::label)).unwrap_or(J::Null),
                    r.opt_f64(9)?.map(|v| json!(v)).unwrap_or(J::Null),
                    r.opt_f64(10)?.map(|v| json!(v)).unwrap_or(J::Null),
                    label(&r.text(3)?, CaseState::from_code, CaseState::label),
                    clear.responsible_unit.map(J::String).unwrap_or(J::Null),
                    opt_time(deadline),
                    yes_no(r.bool(6)?),
                    opt_time(closed),
                    on_time,
                    clear.satisfaction.map(|s| json!(s)).unwrap_or(J::Null),
                    photo_links(photos.get(&r.text(0)?).map_or(&[][..], Vec::as_slice)),
                    J::String(local_time(r.i64(8)?)),
                ]);
            }
        }
        Kind::FlaggedCheckins => {
            // Each template read once, not once per check-in.
            let mut templates = Templates::new();
            for r in tx.query(
                "SELECT c.id, p.grid_id, p.worker_id, c.patrol_id, c.effective_ms, c.lat, c.lng, c.accuracy_m,
                        c.inside_grid, c.mock_location, p.template_id, p.template_version
                 FROM checkpoint c JOIN patrol p ON p.id = c.patrol_id
                 WHERE c.trusted = 0 AND c.effective_ms >= ? AND c.effective_ms < ? ORDER BY c.effective_ms, c.id",
                p![from, to],
            )? {
                let grid = r.text(1)?;
                if !scope.grid(&grid) {
                    continue;
                }
                let (accuracy, inside, mock) = (r.opt_f64(7)?, r.bool(8)?, r.bool(9)?);
                let limit = templates
                    .get(tx, &r.text(10)?, r.i64(11)?)?
                    .map(|t| t.patrol.max_accuracy_m)
                    .unwrap_or(50.0);
                let mut reasons = Vec::new();
                if !inside {
                    reasons.push("网格外 (outside the grid)".to_string());
                }
                match accuracy {
                    None => reasons.push("无定位精度 (no accuracy given)".to_string()),
                    Some(a) if a > limit => reasons.push(format!("定位精度差 {a:.0} 米 > {limit:.0} 米 (weak fix)")),
                    Some(_) => {}
                }
                if mock {
                    reasons.push("模拟定位 (mock location)".to_string());
                }
                rows.push(vec![
                    J::String(r.text(0)?),
                    J::String(names.community(&grid)),
                    J::String(names.grid(&grid)),
                    J::String(names.worker(&r.text(2)?)),
                    J::String(r.text(3)?),
                    J::String(local_time(r.i64(4)?)),
                    json!(r.f64(5)?),
                    json!(r.f64(6)?),
                    accuracy.map(|a| json!(a)).unwrap_or(J::Null),
                    yes_no(inside),
                    yes_no(mock),
                    J::String(reasons.join("; ")),
                ]);
            }
        }
        Kind::Tasks => {
            for r in tx.query(
                "SELECT id, source, title, target_unit, assignee_id, grid_id, deadline_ms, status, result, dispatched_ms, done_ms,
                        details
                 FROM task WHERE dispatched_ms >= ? AND dispatched_ms < ? ORDER BY dispatched_ms, id",
                p![from, to],
            )? {
                let grid = r.opt_text(5)?;
                let assignee = r.opt_text(4)?;
                if !super::tasks::task_visible(tx, scope, grid.as_deref(), assignee.as_deref())? {
                    continue;
                }
                let place = r
                    .opt_text(11)?
                    .and_then(|d| serde_json::from_str::<gridpatrol_protocol::records::TaskDetails>(&d).ok())
                    .and_then(|d| d.location);
                rows.push(vec![
                    J::String(r.text(0)?),
                    label(&r.text(1)?, TaskSource::from_code, TaskSource::label),
                    J::String(r.text(2)?),
                    J::String(r.text(3)?),
                    assignee.map(|a| J::String(names.worker(&a))).unwrap_or(J::Null),
                    grid.map(|g| J::String(names.grid(&g))).unwrap_or(J::Null),
                    place.map(|p| json!(p.lat)).unwrap_or(J::Null),
                    place.map(|p| json!(p.lng)).unwrap_or(J::Null),
                    J::String(local_time(r.i64(6)?)),
                    label(&r.text(7)?, TaskStatus::from_code, TaskStatus::label),
                    r.opt_text(8)?.map(J::String).unwrap_or(J::Null),
                    J::String(local_time(r.i64(9)?)),
                    opt_time(r.opt_i64(10)?),
                ]);
            }
        }
    }
    Ok(rows)
}

/// Where the console serves a photo to a signed-in operator (`/photos/{sha256}`); the console's
/// exports make these links absolute, the API's CSV keeps them relative to HQ's address.
pub const PHOTO_PATH: &str = "/photos/";

fn photo_links(shas: &[String]) -> J {
    if shas.is_empty() {
        return J::Null;
    }
    J::String(shas.iter().map(|s| format!("{PHOTO_PATH}{s}")).collect::<Vec<_>>().join(" "))
}

/// The photos of the reports of a period, by report id: one query for the whole export.
fn report_photos(tx: &mut dyn Tx, from: i64, to: i64) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in tx.query(
        "SELECT rp.report_id, rp.sha256 FROM report_photo rp JOIN report r ON r.id = rp.report_id
         WHERE r.effective_ms >= ? AND r.effective_ms < ? ORDER BY rp.report_id, rp.sha256",
        p![from, to],
    )? {
        out.entry(r.text(0)?).or_default().push(r.text(1)?);
    }
    Ok(out)
}

/// The photos of the cases opened in a period, by case id: the report's, then each step's
/// (before/after photos), each once; two queries for the whole export.
fn case_photos(tx: &mut dyn Tx, from: i64, to: i64) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in tx.query(
        "SELECT c.id, rp.sha256 FROM case_file c JOIN report_photo rp ON rp.report_id = c.report_id
         WHERE c.created_ms >= ? AND c.created_ms < ? ORDER BY c.id, rp.sha256",
        p![from, to],
    )? {
        out.entry(r.text(0)?).or_default().push(r.text(1)?);
    }
    for r in tx.query(
        "SELECT e.case_id, e.photos FROM case_event e JOIN case_file c ON c.id = e.case_id
         WHERE c.created_ms >= ? AND c.created_ms < ? AND e.photos <> '[]' ORDER BY e.case_id, e.n",
        p![from, to],
    )? {
        let shas: Vec<String> = r.json(1)?;
        let list = out.entry(r.text(0)?).or_default();
        for s in shas {
            if !list.contains(&s) {
                list.push(s);
            }
        }
    }
    Ok(out)
}

/// One CSV cell: quoted when needed; a leading = + - @ is defused so Excel shows text.
fn csv_cell(v: &J) -> String {
    let s = match v {
        J::Null => String::new(),
        J::String(s) => s.clone(),
        other => other.to_string(),
    };
    let s =
        if matches!(v, J::String(_)) && s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn to_csv(kind: Kind, rows: &[Vec<J>]) -> String {
    csv_of(kind.columns(), rows)
}

/// A CSV Excel opens as UTF-8 (a byte-order mark first), headings from `columns`.
pub fn csv_of(columns: &[(&str, &str)], rows: &[Vec<J>]) -> String {
    let mut out = String::from("\u{feff}");
    let header: Vec<String> = columns.iter().map(|(_, h)| csv_cell(&J::String((*h).into()))).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(csv_cell).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

async fn table(s: &AppState, bearer: Bearer, kind: Kind, q: PeriodQuery, action: &'static str) -> Result<Vec<Vec<J>>> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref())?;
    let (op_id, rows) =
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            Ok((op.id, build(tx, kind, &scope, from, to)?))
        })
        .await?;
    s.db.write(move |tx| audit(tx, &op_id, action, kind.name())).await?;
    Ok(rows)
}

/// The rows of an export, authorised, scoped and audited as the CSV routes do (the console's
/// CSV and XLSX downloads).
pub async fn export_table(s: &AppState, bearer: Bearer, kind: Kind, q: PeriodQuery) -> Result<Vec<Vec<J>>> {
    table(s, bearer, kind, q, "export").await
}

async fn list(s: AppState, bearer: Bearer, kind: Kind, q: PeriodQuery) -> Result<Json<Vec<Map<String, J>>>> {
    let rows = table(&s, bearer, kind, q, "list").await?;
    let cols = kind.columns();
    Ok(Json(
        rows.into_iter()
            .map(|row| cols.iter().map(|(k, _)| k.to_string()).zip(row).collect::<Map<String, J>>())
            .collect(),
    ))
}

async fn export(s: AppState, bearer: Bearer, kind: Kind, q: PeriodQuery) -> Result<Response> {
    let rows = table(&s, bearer, kind, q, "export").await?;
    let body = to_csv(kind, &rows);
    let disposition = format!("attachment; filename=\"gridpatrol-{}.csv\"", kind.name());
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

macro_rules! endpoints {
    ($($list:ident, $export:ident => $kind:expr;)*) => {$(
        pub async fn $list(State(s): State<AppState>, bearer: Bearer, ApiQuery(q): ApiQuery<PeriodQuery>) -> Result<Json<Vec<Map<String, J>>>> {
            list(s, bearer, $kind, q).await
        }
        pub async fn $export(State(s): State<AppState>, bearer: Bearer, ApiQuery(q): ApiQuery<PeriodQuery>) -> Result<Response> {
            export(s, bearer, $kind, q).await
        }
    )*};
}

endpoints! {
    list_patrols, export_patrols => Kind::Patrols;
    list_visits, export_visits => Kind::Visits;
    list_reports, export_reports => Kind::Reports;
    list_flagged_checkins, export_flagged_checkins => Kind::FlaggedCheckins;
}

// Cases and tasks have richer JSON lists of their own (`cases`, `tasks`); these are the CSVs.
pub async fn export_cases(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Response> {
    export(s, bearer, Kind::Cases, q).await
}
pub async fn export_tasks(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Response> {
    export(s, bearer, Kind::Tasks, q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses() {
        assert_eq!(csv_cell(&J::String("a,b".into())), "\"a,b\"");
        assert_eq!(csv_cell(&J::String("say \"hi\"".into())), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell(&J::String("=SUM(A1)".into())), "'=SUM(A1)");
        assert_eq!(csv_cell(&json!(-3)), "-3");
        let csv = to_csv(Kind::Tasks, &[]);
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("任务编号 (task id)"));
    }

    #[test]
    fn rows_match_columns() {
        // Every builder emits as many cells as its kind has columns (checked by the API
        // tests with data; here the column lists are at least distinct and labelled).
        for k in [Kind::Patrols, Kind::Visits, Kind::Reports, Kind::Cases, Kind::Tasks, Kind::FlaggedCheckins] {
            let cols = k.columns();
            assert!(cols.iter().all(|(_, h)| h.contains(" (") && h.ends_with(')')), "{k:?}");
        }
    }
}
