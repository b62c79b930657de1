//! 相约星期五 (a community's weekly meeting and its 民情清单: items with owners, deadlines and
//! closure state), through the API's handlers (`admin::meetings`).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use maud::html;

use super::extract::{PageError, PageResult, Posted, User};
use super::layout::{self, csrf};
use super::work::local_input_time;
use crate::admin::meetings::{self, MeetingInput, MeetingQuery};
use crate::admin::{org, units};
use crate::auth::Role;
use crate::error::ApiError;
use crate::http::{ApiQuery, AppState, JsonBody};

/// Item rows on the new-meeting form (empty ones are left out).
const ITEM_ROWS: usize = 3;

pub async fn list(State(s): State<AppState>, user: User) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let list = meetings::list_meetings(State(s.clone()), user.bearer(), ApiQuery(MeetingQuery { community_id: None }))
        .await
        .map_err(err)?
        .0;
    let manager = matches!(user.op.role, Role::StreetAdmin | Role::Community);
    let form = if manager {
        let communities = org::list_communities(State(s.clone()), user.bearer()).await.map_err(err)?.0;
        let grids = org::list_grids(State(s.clone()), user.bearer()).await.map_err(err)?.0;
        let workers = org::list_workers(State(s.clone()), user.bearer()).await.map_err(err)?.0;
        let unit_list = units::list_units(State(s), user.bearer()).await.map_err(err)?.0;
        Some(html! {
            h2 { (l.t("记录一次会议", "Record a meeting")) }
            form.stack #new-meeting method="post" action="/meetings" {
                (csrf(&user))
                label { (l.t("社区", "Community")) select name="community_id" { @for c in &communities { option value=(c.id) { (c.name) } } } }
                label { (l.t("日期", "Held on")) input type="date" name="held_on" required; }
                label { (l.t("参会人数", "Attendees")) input type="number" name="attendees" min="0" value="0"; }
                label { (l.t("备注", "Note")) input type="text" name="note"; }
                @for i in 0..ITEM_ROWS {
                    fieldset {
                        legend { (l.t("清单事项", "List item")) " " (i + 1) }
                        label { (l.t("诉求", "Request")) input type="text" name={ "topic" (i) }; }
                        label { (l.t("提出人", "Raised by")) input type="text" name={ "raised_by" (i) }; }
                        label { (l.t("网格", "Grid")) select name={ "grid_id" (i) } { @for g in &grids { option value=(g.id) { (g.name) } } } }
                        label { (l.t("跟进网格员", "Worker following it")) select name={ "assignee_id" (i) } { @for w in &workers { option value=(w.id) { (w.name) } } } }
                        label { (l.t("责任单位（可选）", "Owning unit (optional)")) select name={ "unit_id" (i) } { option value="" { "–" } @for u in &unit_list { option value=(u.id) { (u.name) } } } }
                        label { (l.t("期限", "Deadline")) input type="datetime-local" name={ "deadline" (i) }; }
                    }
                }
                button type="submit" { (l.t("保存", "Save")) }
            }
        })
    } else {
        None
    };
    let body = html! {
        @for m in &list {
            h2 { (m.held_on) " · " (m.community_id) }
            p { (l.t("参会", "Attendees")) " " (m.attendees) " · " (l.t("未结", "open")) " " (m.open) " · "
                (l.t("已结", "closed")) " " (m.closed) " · " (l.t("超期", "overdue")) " " span.bad { (m.overdue) } }
            table.meeting {
                thead { tr { th { "#" } th { (l.t("诉求", "Request")) } th { (l.t("责任人", "Owner")) } th { (l.t("期限", "Deadline")) } th { (l.t("状态", "State")) } } }
                tbody { @for it in &m.items { tr {
                    td { (it.n) } td { (it.topic) @if let Some(r) = &it.raised_by { br; small { (r) } } }
                    td { (it.owner) } td { (it.deadline) } td { (it.state_label) }
                } } }
            }
        }
        @if list.is_empty() { p { (l.t("还没有会议记录。", "No meeting recorded yet.")) } }
        @if let Some(f) = form { (f) }
    };
    Ok(layout::page(&user, l.t("相约星期五", "Weekly meetings (相约星期五)"), body).into_response())
}

pub async fn create(State(s): State<AppState>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let err = |e| PageError::new(e, l);
    let f = &p.form;
    let mut items = Vec::new();
    for i in 0..ITEM_ROWS {
        let Some(topic) = f.text(&format!("topic{i}")) else { continue };
        let deadline =
            local_input_time(&format!("items[{i}].deadline"), &f.text(&format!("deadline{i}")).unwrap_or_default())
                .map_err(err)?;
        items.push(serde_json::json!({
            "topic": topic, "raised_by": f.text(&format!("raised_by{i}")),
            "grid_id": f.text(&format!("grid_id{i}")).unwrap_or_default(),
            "assignee_id": f.text(&format!("assignee_id{i}")).unwrap_or_default(),
            "unit_id": f.text(&format!("unit_id{i}")), "deadline": deadline,
        }));
    }
    let attendees: u32 = f.text("attendees").and_then(|a| a.parse().ok()).unwrap_or(0);
    let input = serde_json::json!({
        "community_id": f.text("community_id").unwrap_or_default(), "held_on": f.text("held_on").unwrap_or_default(),
        "attendees": attendees, "note": f.text("note"), "items": items,
    });
    let input: MeetingInput =
        serde_json::from_value(input).map_err(|e| err(ApiError::bad_request(format!("bad meeting: {e}"))))?;
    meetings::create_meeting(State(s), p.user.bearer(), JsonBody(input)).await.map_err(err)?;
    Ok(Redirect::to("/meetings").into_response())
}
