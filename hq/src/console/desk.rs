//! The 110 diversion desk: the office creates a task (caller masked on every list, location,
//! category, unit and/or grid worker, deadline) and watches the queue; a unit's staff see only
//! the tasks routed to their unit and take the field steps on them. Every read and write is
//! `admin::tasks`' own.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use gridpatrol_protocol::domain::{ReportCategory, TaskAction, TaskStatus};
use gridpatrol_protocol::rules;
use maud::{html, Markup};

use super::extract::{Lang, PageError, PageResult, Posted, User};
use super::layout::{self, csrf};
use super::map::{Projection, H, W};
use super::work::{local_input_time, urlencode};
use crate::admin::figures::{self, Timeliness};
use crate::admin::org::GridOut;
use crate::admin::tasks::{self, DispatchInput, TaskOut, TaskStepInput};
use crate::admin::{org, units};
use crate::auth::Role;
use crate::error::ApiError;
use crate::http::{ApiPath, AppState, JsonBody};

fn status_label(l: Lang, s: TaskStatus) -> &'static str {
    l.t(s.zh(), s.en())
}

fn step_forms(user: &User, t: &TaskOut) -> Markup {
    let l = user.lang;
    html! {
        @for a in TaskAction::ALL {
            @if rules::task_transition(t.task.status, *a).is_some() {
                form.inline method="post" action={ "/desk/" (urlencode(&t.task.id)) "/step" } {
                    (csrf(user))
                    input type="hidden" name="action" value=(a.code());
                    @match a {
                        TaskAction::Arrive => {
                            label { (l.t("纬度", "Latitude")) input type="number" step="any" name="lat" required; }
                            label { (l.t("经度", "Longitude")) input type="number" step="any" name="lng" required; }
                        }
                        TaskAction::Complete => { label { (l.t("办理结果", "Result")) input type="text" name="result" required; } }
                        TaskAction::SendBack => { label { (l.t("退回原因", "Reason")) input type="text" name="result" required; } }
                        _ => {}
                    }
                    button type="submit" data-step=(a.code()) { (l.t(a.zh(), a.en())) }
                }
            }
        }
    }
}

/// One step's timeliness against its limit (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timely {
    /// Done before the limit, with this much to spare.
    OnTime { spare_ms: i64 },
    /// Done after the limit, by this much.
    Late { by_ms: i64 },
    /// Not yet done; this much time is left.
    Due { left_ms: i64 },
    /// Not yet done and past the limit, by this much.
    Overdue { by_ms: i64 },
    /// Never done and no longer due (the task was finished or withdrawn without this step).
    Skipped,
}

/// `done` against `limit`; a step not done counts only while the task is open.
pub fn judge(limit_ms: i64, done_ms: Option<i64>, open: bool, now_ms: i64) -> Timely {
    match done_ms {
        Some(d) if d <= limit_ms => Timely::OnTime { spare_ms: limit_ms - d },
        Some(d) => Timely::Late { by_ms: d - limit_ms },
        None if !open => Timely::Skipped,
        None if now_ms <= limit_ms => Timely::Due { left_ms: limit_ms - now_ms },
        None => Timely::Overdue { by_ms: now_ms - limit_ms },
    }
}

/// A span in minutes, hours or days, rounded down to the minute.
pub fn span(l: Lang, ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    let (d, h, mm) = (m / 1440, (m % 1440) / 60, m % 60);
    match (d, h) {
        (0, 0) => format!("{mm}{}", l.t(" 分钟", " min")),
        (0, _) => format!("{h}{}{mm}{}", l.t(" 小时 ", " h "), l.t(" 分", " min")),
        _ => format!("{d}{}{h}{}", l.t(" 天 ", " d "), l.t(" 小时", " h")),
    }
}

fn timely_cell(l: Lang, what: &str, t: Timely) -> Markup {
    html! {
        li data-timely=(what) {
            @match t {
                Timely::OnTime { spare_ms } => { span.ok { (l.t("按时", "on time")) } " " small { (l.t("提前 ", "")) (span(l, spare_ms)) (l.t("", " early")) } }
                Timely::Late { by_ms } => { span.bad { (l.t("超时", "late")) } " " small { (span(l, by_ms)) } }
                Timely::Due { left_ms } => { span { (l.t("待办", "due")) } " " small { (l.t("剩余 ", "")) (span(l, left_ms)) (l.t("", " left")) } }
                Timely::Overdue { by_ms } => { span.bad { (l.t("已超时", "overdue")) } " " small { (span(l, by_ms)) } }
                Timely::Skipped => { "–" }
            }
        }
    }
}

/// The three limits of a 110 task: acknowledge and arrive (the street's minutes after
/// dispatch, `/v1/admin/settings/timeliness`) and close (the task's own deadline).
fn timeliness(l: Lang, t: &TaskOut, limits: &Timeliness, now_ms: i64) -> Markup {
    let open = !matches!(t.task.status, TaskStatus::Done | TaskStatus::Cancelled | TaskStatus::SentBack);
    let d = t.times.dispatched_ms;
    let ack = judge(d + i64::from(limits.acknowledge_within_minutes) * 60_000, t.times.acknowledged_ms, open, now_ms);
    let arrive = judge(d + i64::from(limits.arrive_within_minutes) * 60_000, t.times.arrived_ms, open, now_ms);
    let close = judge(t.task.deadline.timestamp_millis(), t.times.done_ms, open, now_ms);
    html! {
        ul.timely {
            li.head { (l.t("签收", "Acknowledge")) }
            (timely_cell(l, "acknowledge", ack))
            li.head { (l.t("到场", "Arrive")) }
            (timely_cell(l, "arrive", arrive))
            li.head { (l.t("办结", "Close")) }
            (timely_cell(l, "close", close))
        }
    }
}

/// The grids drawn from their boundaries (the map page's projection); a click on it fills the
/// form's latitude and longitude (WGS-84) through `console.js`, which inverts the projection
/// from the `data-*` attributes. No tiles: nothing is fetched from outside.
fn pick_map(l: Lang, grids: &[GridOut]) -> Markup {
    let all: Vec<[f64; 2]> = grids.iter().flat_map(|g| g.boundary.coordinates.iter().flatten().copied()).collect();
    let p = Projection::fit(&all);
    html! {
        figure.pick {
            // Width and height as well as the viewBox: the page's flex layout sizes it from them.
            svg #pick-map viewBox=(format!("0 0 {W} {H}")) width=(W) height=(H) role="img"
                aria-label=(l.t("点击网格地图选取位置", "Click the map of the grids to pick the place"))
                data-pick="lat,lng" data-min-lng=(p.min_lng) data-max-lat=(p.max_lat) data-k=(p.k)
                data-cos=(p.cos) data-dx=(p.dx) data-dy=(p.dy) {
                @for g in grids {
                    @let ring = g.boundary.coordinates.first().cloned().unwrap_or_default();
                    @let pts: Vec<String> = ring.iter().map(|[x, y]| { let (a, b) = p.xy(*x, *y); format!("{a:.1},{b:.1}") }).collect();
                    polygon data-grid=(g.id) points=(pts.join(" ")) fill="#e6eef7" stroke="#123a63" stroke-width="1.5" { title { (g.name) } }
                }
            }
            figcaption { (l.t("点击地图填入纬度、经度（WGS-84）；也可按地址或直接输入。",
                              "Click the map to fill in latitude and longitude (WGS-84), or give an address or type them.")) }
        }
    }
}

async fn create_form(s: &AppState, user: &User) -> Result<Markup, ApiError> {
    let l = user.lang;
    let unit_list = units::list_units(axum::extract::State(s.clone()), user.bearer()).await?.0;
    let workers = org::list_workers(axum::extract::State(s.clone()), user.bearer()).await?.0;
    let grids = org::list_grids(axum::extract::State(s.clone()), user.bearer()).await?.0;
    Ok(html! {
        h2 { (l.t("新建分流任务", "New diversion task")) }
        form.stack #new-task method="post" action="/desk" {
            (csrf(user))
            label { (l.t("事由", "Title")) input type="text" name="title" required; }
            label { (l.t("详情", "Details")) textarea name="description" rows="2" {} }
            label { (l.t("报警人电话（列表中脱敏显示）", "Caller's number (masked in lists)")) input type="text" name="caller"; }
            label { (l.t("地址", "Address")) input type="text" name="address"; }
            (pick_map(l, &grids))
            label { (l.t("纬度（可选）", "Latitude (optional)")) input type="number" step="any" name="lat"; }
            label { (l.t("经度（可选）", "Longitude (optional)")) input type="number" step="any" name="lng"; }
            label { (l.t("类别", "Category"))
                select name="category" { option value="" { "–" } @for c in ReportCategory::ALL { option value=(c.code()) { (l.t(c.zh(), c.en())) } } } }
            label { (l.t("处置单位", "Unit"))
                select name="unit_id" { option value="" { "–" } @for u in &unit_list { option value=(u.id) { (u.name) " (" (u.kind_label) ")" } } } }
            label { (l.t("网格员（可选）", "Grid worker (optional)"))
                select name="assignee_id" { option value="" { "–" } @for w in &workers { option value=(w.id) { (w.name) } } } }
            label { (l.t("办结期限", "Deadline")) input type="datetime-local" name="deadline" required; }
            button type="submit" { (l.t("派发", "Dispatch")) }
        }
    })
}

pub async fn queue(State(s): State<AppState>, user: User) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let list = tasks::list_tasks(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let is_unit = user.op.role == Role::Unit;
    let form = if is_unit { None } else { Some(create_form(&s, &user).await.map_err(err)?) };
    let limits = if is_unit {
        // The API's read is for area accounts; a unit's staff are shown the same limits their
        // tasks are measured by, once signed in.
        let bearer = user.bearer();
        s.db.read(move |tx| {
            crate::auth::operator(tx, bearer.as_deref())?;
            figures::timeliness(tx)
        })
        .await
        .map_err(err)?
    } else {
        figures::get_timeliness(State(s.clone()), user.bearer()).await.map_err(err)?.0
    };
    let now = chrono::Utc::now();
    let now_ms = now.timestamp_millis();
    let open = |t: &TaskOut| !matches!(t.task.status, TaskStatus::Done | TaskStatus::Cancelled | TaskStatus::SentBack);
    let body = html! {
        @if let Some(f) = form { (f) }
        h2 { (l.t("任务队列", "Queue")) }
        p { (l.t("时限：签收 ", "Limits: acknowledge within ")) (limits.acknowledge_within_minutes) (l.t(" 分钟内，到场 ", " min, arrive within "))
            (limits.arrive_within_minutes) (l.t(" 分钟内（自派发起），办结以期限为准。", " min of dispatch; close by the deadline.")) }
        p { a href="/export/tasks.csv" { "CSV" } " · " a href="/export/tasks.xlsx" { "XLSX" } }
        table #tasks {
            thead { tr {
                th { (l.t("事由", "Title")) } th { (l.t("来源", "Source")) } th { (l.t("单位", "Unit")) }
                th { (l.t("报警人", "Caller")) } th { (l.t("状态", "Status")) } th { (l.t("派发时间", "Dispatched")) }
                th { (l.t("期限", "Deadline")) } th { (l.t("办结", "Done")) } th { (l.t("时限", "Timeliness")) }
                @if is_unit { th { (l.t("办理", "Act")) } }
            } }
            tbody {
                @for t in &list {
                    tr data-task=(t.task.id) {
                        td { (t.task.title) @if !t.task.description.is_empty() { br; small { (t.task.description) } } }
                        td { (l.t(t.task.source.zh(), t.task.source.en())) }
                        td { (t.task.details.unit_name.clone().unwrap_or_default()) }
                        td { (t.task.details.caller.clone().unwrap_or_default()) }
                        td.status { (status_label(l, t.task.status)) }
                        td { (t.dispatched_at) }
                        td { (crate::admin::local_time(t.task.deadline.timestamp_millis()))
                            @if open(t) && t.task.deadline < now { " " span.bad { (l.t("超期", "overdue")) } } }
                        td { (t.done_at.clone().unwrap_or_default()) @if let Some(r) = &t.task.result { br; small { (r) } } }
                        td { (timeliness(l, t, &limits, now_ms)) }
                        @if is_unit { td { (step_forms(&user, t)) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(&user, l.t("110非警务分流", "110 diversion desk"), body).into_response())
}

fn location(p: &Posted) -> Result<Option<serde_json::Value>, ApiError> {
    match (p.form.text("lat"), p.form.text("lng")) {
        (Some(a), Some(b)) => {
            let lat: f64 = a.parse().map_err(|_| ApiError::invalid("lat", "expected a number"))?;
            let lng: f64 = b.parse().map_err(|_| ApiError::invalid("lng", "expected a number"))?;
            Ok(Some(serde_json::json!({ "lat": lat, "lng": lng })))
        }
        (None, None) => Ok(None),
        _ => Err(ApiError::invalid("lng", "give both latitude and longitude, or neither")),
    }
}

pub async fn create(State(s): State<AppState>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let err = |e| PageError::new(e, l);
    let f = &p.form;
    let deadline = local_input_time("deadline", &f.text("deadline").unwrap_or_default()).map_err(err)?;
    let unit_id = f.text("unit_id");
    // The unit's name is the task's `target_unit` (what a phone shows); the list is the API's.
    let target_unit = match &unit_id {
        Some(u) => units::list_units(State(s.clone()), p.user.bearer())
            .await
            .map_err(err)?
            .0
            .into_iter()
            .find(|x| x.id == *u)
            .map(|x| x.name)
            .ok_or_else(|| err(ApiError::invalid("unit_id", "no such unit")))?,
        None => l.t("网格员", "grid worker").to_string(),
    };
    let description = match (f.text("description"), f.text("address")) {
        (Some(d), Some(a)) => format!("{d}\n{}: {a}", l.t("地址", "Address")),
        (Some(d), None) => d,
        (None, Some(a)) => format!("{}: {a}", l.t("地址", "Address")),
        (None, None) => String::new(),
    };
    let input = serde_json::json!({
        "source": "diversion_110",
        "title": f.text("title").unwrap_or_default(),
        "description": description,
        "target_unit": target_unit,
        "assignee_id": f.text("assignee_id"),
        "deadline": deadline,
        "unit_id": unit_id,
        "caller": f.text("caller"),
        "location": location(&p).map_err(err)?,
        "category": f.text("category"),
    });
    let input: DispatchInput =
        serde_json::from_value(input).map_err(|e| err(ApiError::bad_request(format!("bad task: {e}"))))?;
    tasks::dispatch(State(s), p.user.bearer(), JsonBody(input)).await.map_err(err)?;
    Ok(Redirect::to("/desk").into_response())
}

pub async fn step(State(s): State<AppState>, Path(id): Path<String>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let err = |e| PageError::new(e, l);
    let input = serde_json::json!({
        "action": p.form.text("action").unwrap_or_default(),
        "result": p.form.text("result"),
        "location": location(&p).map_err(err)?,
    });
    let input: TaskStepInput =
        serde_json::from_value(input).map_err(|e| err(ApiError::invalid("action", format!("unknown step: {e}"))))?;
    let _ = tasks::step(State(s), p.user.bearer(), ApiPath(id), JsonBody(input)).await.map_err(err)?;
    Ok(Redirect::to("/desk").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_judged_against_its_limit() {
        let limit = 1_000_000;
        assert_eq!(judge(limit, Some(limit - 60_000), true, 0), Timely::OnTime { spare_ms: 60_000 });
        assert_eq!(judge(limit, Some(limit), false, 0), Timely::OnTime { spare_ms: 0 }, "at the limit is on time");
        assert_eq!(judge(limit, Some(limit + 1), true, 0), Timely::Late { by_ms: 1 });
        assert_eq!(judge(limit, None, true, limit - 5), Timely::Due { left_ms: 5 });
        assert_eq!(judge(limit, None, true, limit + 7), Timely::Overdue { by_ms: 7 });
        assert_eq!(
            judge(limit, None, false, limit + 7),
            Timely::Skipped,
            "a finished task is not overdue on a step it skipped"
        );
    }

    #[test]
    fn spans_read_in_minutes_hours_and_days() {
        assert_eq!(span(Lang::En, 59_999), "0 min");
        assert_eq!(span(Lang::En, 45 * 60_000), "45 min");
        assert_eq!(span(Lang::Zh, 45 * 60_000), "45 分钟");
        assert_eq!(span(Lang::En, 125 * 60_000), "2 h 5 min");
        assert_eq!(span(Lang::En, (3 * 1440 + 4 * 60) * 60_000), "3 d 4 h");
        assert_eq!(span(Lang::En, -5), "0 min", "never negative");
    }
}
