//! The case inbox (filters), the case page (report, photos inline, the six clear items, the
//! timeline) and the steps this operator's role may take, posted to `admin::cases::act`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeZone;
use gridpatrol_protocol::case_flow::ClearItems;
use gridpatrol_protocol::domain::{CaseState, ReportCategory};
use gridpatrol_protocol::roles;
use maud::{html, Markup};
use serde::Deserialize;

use super::extract::{Lang, PageError, PageResult, Posted, User};
use super::layout::{self, csrf};
use crate::admin::cases::{self, ActionInput, CaseAction};
use crate::admin::org;
use crate::error::ApiError;
use crate::http::{ApiPath, AppState, JsonBody};

/// States after which a deadline no longer runs.
pub(super) fn finished(s: CaseState) -> bool {
    matches!(s, CaseState::Closed | CaseState::FollowedUp | CaseState::Archived | CaseState::Rejected)
}

fn state_label(l: Lang, s: CaseState) -> &'static str {
    l.t(s.zh(), s.en())
}

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    state: Option<String>,
    category: Option<String>,
    community: Option<String>,
    grid: Option<String>,
    overdue: Option<String>,
    /// Part of the responsible unit's name (责任清).
    unit: Option<String>,
    /// Which page of `PAGE` cases (from 1).
    page: Option<String>,
}

/// Cases on one page of the inbox: a street's year holds tens of thousands.
const PAGE: usize = 100;

/// Ids of the cases in scope whose responsible unit (责任清) contains `part`; the operator's
/// scope from `auth`, as every API read takes it.
async fn cases_of_unit(s: &AppState, user: &User, part: String) -> Result<std::collections::HashSet<String>, ApiError> {
    let bearer = user.bearer();
    s.db.read(move |tx| {
        let scope = crate::auth::operator(tx, bearer.as_deref())?.scope(tx)?;
        let part = part.to_lowercase();
        let mut out = std::collections::HashSet::new();
        for r in tx.query("SELECT id, grid_id, clear FROM case_file", crate::p![])? {
            let clear: ClearItems = r.json(2)?;
            if scope.grid(&r.text(1)?) && clear.responsible_unit.is_some_and(|u| u.to_lowercase().contains(&part)) {
                out.insert(r.text(0)?);
            }
        }
        Ok(out)
    })
    .await
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

pub async fn inbox(State(s): State<AppState>, user: User, Query(q): Query<InboxQuery>) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let state = nonempty(&q.state).map(|v| CaseState::parse("state", v)).transpose().map_err(|e| err(e.into()))?;
    let category =
        nonempty(&q.category).map(|v| ReportCategory::parse("category", v)).transpose().map_err(|e| err(e.into()))?;
    let grids = org::list_grids(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let communities = org::list_communities(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let of_unit = match nonempty(&q.unit) {
        Some(u) => Some(cases_of_unit(&s, &user, u.to_string()).await.map_err(err)?),
        None => None,
    };
    let grid_of: HashMap<&str, (&str, &str)> =
        grids.iter().map(|g| (g.id.as_str(), (g.name.as_str(), g.community_id.as_str()))).collect();
    let now = chrono::Utc::now();
    let overdue_only = q.overdue.is_some();
    let is_overdue = |c: &cases::CaseSummary| {
        !finished(c.state)
            && c.deadline.as_deref().and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok()).is_some_and(|d| d < now)
    };
    let filter = cases::CaseFilter {
        state,
        grid_id: nonempty(&q.grid).map(str::to_string),
        category,
        community_id: nonempty(&q.community).map(str::to_string),
        overdue_at: overdue_only.then(|| now.timestamp_millis()),
    };
    let asked = nonempty(&q.page).and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    // One page from the database; with a responsible-unit filter (a text inside each case's
    // clear items) every match, paged here.
    let bearer = user.bearer();
    let (shown, total, page) =
        s.db.read(move |tx| {
            let scope = crate::auth::operator(tx, bearer.as_deref())?.scope(tx)?;
            match of_unit {
                None => {
                    let (mut shown, total) = cases::find_cases(tx, &scope, &filter, (asked - 1) * PAGE, Some(PAGE))?;
                    let last = total.div_ceil(PAGE).max(1);
                    if asked > last {
                        // Past the end: the last page.
                        shown = cases::find_cases(tx, &scope, &filter, (last - 1) * PAGE, Some(PAGE))?.0;
                    }
                    Ok::<_, ApiError>((shown, total, asked.min(last)))
                }
                Some(ids) => {
                    let mut all = cases::find_cases(tx, &scope, &filter, 0, None)?.0;
                    all.retain(|c| ids.contains(&c.id));
                    let total = all.len();
                    let page = asked.min(total.div_ceil(PAGE).max(1));
                    Ok((all.into_iter().skip((page - 1) * PAGE).take(PAGE).collect(), total, page))
                }
            }
        })
        .await
        .map_err(err)?;
    let pages = total.div_ceil(PAGE).max(1);
    // The same filters, another page.
    let page_link = |n: usize| {
        let mut link = format!("/cases?page={n}");
        for (k, v) in [
            ("state", &q.state),
            ("category", &q.category),
            ("community", &q.community),
            ("grid", &q.grid),
            ("overdue", &q.overdue),
            ("unit", &q.unit),
        ] {
            if let Some(v) = nonempty(v) {
                link.push_str(&format!("&{k}={}", urlencode(v)));
            }
        }
        link
    };
    let sel = |v: &Option<String>, code: &str| nonempty(v) == Some(code);
    let body = html! {
        form.filters method="get" action="/cases" aria-label=(l.t("筛选", "Filters")) {
            label { (l.t("状态", "State"))
                select name="state" { option value="" { (l.t("全部", "All")) }
                    @for st in CaseState::ALL { option value=(st.code()) selected[sel(&q.state, st.code())] { (state_label(l, *st)) } } } }
            label { (l.t("类别", "Category"))
                select name="category" { option value="" { (l.t("全部", "All")) }
                    @for c in ReportCategory::ALL { option value=(c.code()) selected[sel(&q.category, c.code())] { (l.t(c.zh(), c.en())) } } } }
            label { (l.t("社区", "Community"))
                select name="community" { option value="" { (l.t("全部", "All")) }
                    @for c in &communities { option value=(c.id) selected[sel(&q.community, &c.id)] { (c.name) } } } }
            label { (l.t("网格", "Grid"))
                select name="grid" { option value="" { (l.t("全部", "All")) }
                    @for g in &grids { option value=(g.id) selected[sel(&q.grid, &g.id)] { (g.name) } } } }
            label { (l.t("责任单位", "Responsible unit")) input type="text" name="unit" value=(nonempty(&q.unit).unwrap_or_default()); }
            label.check { input type="checkbox" name="overdue" value="1" checked[overdue_only]; (l.t("仅超期", "Overdue only")) }
            button type="submit" { (l.t("筛选", "Filter")) }
        }
        p { (total) " " (l.t("件", "cases")) " · "
            a href="/export/cases.csv" { "CSV" } " · " a href="/export/cases.xlsx" { "XLSX" } }
        @if pages > 1 {
            nav.pager #cases-pages aria-label=(l.t("分页", "Pages")) {
                @if page > 1 { a rel="prev" href=(page_link(page - 1)) { (l.t("← 上一页", "← Previous")) } " " }
                (l.t("第 ", "page ")) (page) (l.t(" / ", " of ")) (pages) (l.t(" 页", ""))
                @if page < pages { " " a rel="next" href=(page_link(page + 1)) { (l.t("下一页 →", "Next →")) } }
            }
        }
        table #cases {
            thead { tr {
                th { (l.t("案件", "Case")) } th { (l.t("状态", "State")) } th { (l.t("类别", "Category")) }
                th { (l.t("网格", "Grid")) } th { (l.t("期限", "Deadline")) } th { (l.t("上报时间", "Reported")) }
            } }
            tbody {
                @for c in &shown {
                    tr {
                        td { a href={ "/cases/" (c.id) } { (c.id.get(..13).unwrap_or(&c.id)) "…" } }
                        td { (state_label(l, c.state)) }
                        td { @if let Some(cat) = c.category { (l.t(cat.zh(), cat.en())) } }
                        td { (grid_of.get(c.grid_id.as_str()).map(|g| g.0).unwrap_or(&c.grid_id)) }
                        td { @if let Some(d) = &c.deadline { (d) @if is_overdue(c) { " " span.bad { (l.t("超期", "overdue")) } } } }
                        td { (c.created_at) }
                    }
                }
            }
        }
    };
    Ok(layout::page(&user, l.t("案件", "Cases"), body).into_response())
}

fn clear_items(l: Lang, c: &ClearItems) -> Markup {
    let item = |v: Option<String>| html! { @match v { Some(v) => (v), None => span.bad { (l.t("未清", "not yet")) } } };
    html! {
        dl.clear #clear-items {
            dt { (l.t("事实清", "Facts")) } dd { (item(c.facts.clone())) }
            dt { (l.t("责任清", "Responsible unit")) } dd { (item(c.responsible_unit.clone())) }
            dt { (l.t("时限清", "Deadline")) } dd { (item(c.deadline.map(|d| crate::admin::local_time(d.timestamp_millis())))) }
            dt { (l.t("结果清", "Outcome")) } dd { (item(c.outcome.clone())) }
            dt { (l.t("反馈清", "Feedback")) } dd { (item(c.feedback.clone()))
                @if let Some(s) = c.satisfaction { " (" (l.t("满意度", "satisfaction")) " " (s) "/5)" } }
            dt { (l.t("台账清", "Ledger")) } dd { (item(c.ledger_ref.clone())) }
        }
    }
}

/// The fields a step form offers (what its clear items may need).
fn action_form(user: &User, case_id: &str, action: CaseAction, to: CaseState) -> Markup {
    let l = user.lang;
    html! {
        form method="post" action={ "/cases/" (case_id) "/act" } {
            (csrf(user))
            input type="hidden" name="action" value=(action.code());
            strong { (l.t(to.zh(), to.en())) }
            label { (l.t("说明", "Note")) input type="text" name="note"; }
            @match action {
                CaseAction::Accept | CaseAction::Open => {
                    label { (l.t("事实清", "Facts")) input type="text" name="facts"; }
                }
                CaseAction::Dispatch => {
                    label { (l.t("责任单位", "Responsible unit")) input type="text" name="responsible_unit" required; }
                    label { (l.t("办结期限", "Deadline")) input type="datetime-local" name="deadline" required; }
                }
                CaseAction::Verify => {
                    label { (l.t("结果清", "Outcome")) input type="text" name="outcome"; }
                    label { (l.t("反馈清", "Feedback")) input type="text" name="feedback"; }
                }
                CaseAction::Close => {
                    label { (l.t("结果清", "Outcome")) input type="text" name="outcome"; }
                    label { (l.t("反馈清", "Feedback")) input type="text" name="feedback"; }
                    label { (l.t("台账编号", "Ledger reference")) input type="text" name="ledger_ref"; }
                }
                CaseAction::Archive => {
                    label { (l.t("台账编号", "Ledger reference")) input type="text" name="ledger_ref"; }
                }
                _ => {}
            }
            button type="submit" { (l.t(to.zh(), to.en())) }
        }
    }
}

pub async fn case_page(State(s): State<AppState>, user: User, Path(id): Path<String>) -> PageResult {
    let l = user.lang;
    let c = cases::get_case(State(s), user.bearer(), ApiPath(id)).await.map_err(|e| PageError::new(e, l))?.0;
    let steps: Vec<(CaseAction, CaseState)> = roles::next_states_for(user.op.role.actor(), c.summary.state)
        .into_iter()
        .filter_map(|to| CaseAction::to(c.summary.state, to).map(|a| (a, to)))
        .collect();
    let body = html! {
        p { (l.t("状态", "State")) ": " strong #case-state { (state_label(l, c.summary.state)) }
            @if let Some(d) = &c.summary.deadline { " · " (l.t("期限", "deadline")) " " (d) } }
        @if let Some(r) = &c.report {
            h2 { (l.t("上报内容", "Report")) }
            p { (l.t("类别", "Category")) ": "
                (ReportCategory::from_code(&r.category).map(|c| l.t(c.zh(), c.en())).unwrap_or(&r.category)) " · " (l.t("地点", "Place")) ": "
                (r.place_name.clone().unwrap_or_default()) " (" (format!("{:.5}, {:.5}", r.lat, r.lng)) ") · " (r.occurred_at) }
            div.desc #report-description { (r.description) }
            @if !r.photos.is_empty() {
                div.photos { @for p in &r.photos { img src={ "/photos/" (p) } alt=(l.t("现场照片", "Photo from the scene")); } }
            }
        }
        h2 { (l.t("问题六清", "The six clear items")) }
        (clear_items(l, &c.clear))
        h2 { (l.t("可办理的步骤", "Steps you may take")) }
        @if steps.is_empty() { p { (l.t("当前没有您可办理的步骤。", "No step is yours to take now.")) } }
        div.actions { @for (a, to) in &steps { (action_form(&user, &c.summary.id, *a, *to)) } }
        h2 { (l.t("办理记录", "Timeline")) }
        ol.timeline #timeline {
            @for e in &c.events {
                li {
                    (crate::admin::local_time(e.at.timestamp_millis())) " · "
                    @if let Some(f) = e.from { (state_label(l, f)) " → " } strong { (state_label(l, e.to)) }
                    " · " (e.actor_id)
                    @if let Some(n) = &e.note { " · " (n) }
                    @if !e.photos.is_empty() {
                        div.photos { @for p in &e.photos { img src={ "/photos/" (p) } alt=(l.t("办理照片", "Photo of this step")); } }
                    }
                }
            }
        }
    };
    Ok(layout::page(&user, &format!("{} {}", l.t("案件", "Case"), c.summary.id), body).into_response())
}

/// A `datetime-local` value as a time in the street's zone.
pub fn local_input_time(field: &str, v: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    let t = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ApiError::invalid(field, "expected a date and time"))?;
    crate::admin::street_tz()
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| ApiError::invalid(field, "no such local time"))
}

pub async fn case_act(State(s): State<AppState>, Path(id): Path<String>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let f = &p.form;
    let deadline =
        f.text("deadline").map(|d| local_input_time("deadline", &d)).transpose().map_err(|e| PageError::new(e, l))?;
    let input = serde_json::json!({
        "action": f.text("action").unwrap_or_default(),
        "note": f.text("note"),
        "deadline": deadline,
        "responsible_unit": f.text("responsible_unit"),
        "clear": {
            "facts": f.text("facts"), "outcome": f.text("outcome"), "feedback": f.text("feedback"),
            "ledger_ref": f.text("ledger_ref"),
        },
    });
    let input: ActionInput = serde_json::from_value(input)
        .map_err(|e| PageError::new(ApiError::invalid("action", format!("unknown step: {e}")), l))?;
    let _ = cases::act(State(s), p.user.bearer(), ApiPath(id.clone()), JsonBody(input))
        .await
        .map_err(|e| PageError::new(e, l))?;
    Ok(Redirect::to(&format!("/cases/{}", urlencode(&id))).into_response())
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A photo in scope, with its image type (the API's own handler decides who may see it).
pub async fn photo(State(s): State<AppState>, user: User, Path(sha): Path<String>) -> Response {
    match cases::get_attachment(State(s), user.bearer(), ApiPath(sha)).await {
        Ok(mut r) => {
            r.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("private, max-age=3600"),
            );
            r
        }
        Err(e) => (e.status, e.message).into_response(),
    }
}
