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
use super::work::{local_input_time, urlencode};
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

async fn create_form(s: &AppState, user: &User) -> Result<Markup, ApiError> {
    let l = user.lang;
    let unit_list = units::list_units(axum::extract::State(s.clone()), user.bearer()).await?.0;
    let workers = org::list_workers(axum::extract::State(s.clone()), user.bearer()).await?.0;
    Ok(html! {
        h2 { (l.t("新建分流任务", "New diversion task")) }
        form.stack #new-task method="post" action="/desk" {
            (csrf(user))
            label { (l.t("事由", "Title")) input type="text" name="title" required; }
            label { (l.t("详情", "Details")) textarea name="description" rows="2" {} }
            label { (l.t("报警人电话（列表中脱敏显示）", "Caller's number (masked in lists)")) input type="text" name="caller"; }
            label { (l.t("地址", "Address")) input type="text" name="address"; }
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
    let now = chrono::Utc::now();
    let open = |t: &TaskOut| !matches!(t.task.status, TaskStatus::Done | TaskStatus::Cancelled | TaskStatus::SentBack);
    let body = html! {
        @if let Some(f) = form { (f) }
        h2 { (l.t("任务队列", "Queue")) }
        p { a href="/export/tasks.csv" { "CSV" } " · " a href="/export/tasks.xlsx" { "XLSX" } }
        table #tasks {
            thead { tr {
                th { (l.t("事由", "Title")) } th { (l.t("来源", "Source")) } th { (l.t("单位", "Unit")) }
                th { (l.t("报警人", "Caller")) } th { (l.t("状态", "Status")) } th { (l.t("派发时间", "Dispatched")) }
                th { (l.t("期限", "Deadline")) } th { (l.t("办结", "Done")) }
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
