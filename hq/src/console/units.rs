//! Units (司法所, 城管, a lawyer…) that 110 tasks and list items go to: the list and a form to
//! add one, through `admin::units` (the street admin, or a community office for its own
//! communities).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use gridpatrol_protocol::domain::UnitKind;
use maud::html;

use super::extract::{PageError, PageResult, Posted, User};
use super::layout::{self, csrf};
use crate::admin::{org, units};
use crate::error::ApiError;
use crate::http::{AppState, JsonBody};

pub async fn list(State(s): State<AppState>, user: User) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let list = units::list_units(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let communities = org::list_communities(State(s), user.bearer()).await.map_err(err)?.0;
    let body = html! {
        table #units {
            thead { tr { th { (l.t("单位", "Unit")) } th { (l.t("类别", "Kind")) } th { (l.t("联系方式", "Contact")) }
                th { (l.t("服务社区", "Communities")) } th { (l.t("编号", "Id")) } } }
            tbody { @for u in &list { tr {
                td { (u.name) } td { (l.t(u.kind.zh(), u.kind.en())) } td { (u.contact.clone().unwrap_or_default()) }
                td { (u.community_ids.join(", ")) } td { code { (u.id) } }
            } } }
        }
        h2 { (l.t("新增单位", "Add a unit")) }
        form.stack #new-unit method="post" action="/units" {
            (csrf(&user))
            label { (l.t("名称", "Name")) input type="text" name="name" required; }
            label { (l.t("类别", "Kind")) select name="kind" { @for k in UnitKind::ALL { option value=(k.code()) { (l.t(k.zh(), k.en())) } } } }
            label { (l.t("联系方式", "Contact")) input type="text" name="contact"; }
            fieldset {
                legend { (l.t("服务社区", "Communities served")) }
                @for c in &communities { label.check { input type="checkbox" name="community_ids" value=(c.id); (c.name) } }
            }
            button type="submit" { (l.t("新增", "Add")) }
        }
    };
    Ok(layout::page(&user, l.t("处置单位", "Units"), body).into_response())
}

pub async fn create(State(s): State<AppState>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let input = serde_json::json!({
        "kind": p.form.text("kind").unwrap_or_default(),
        "name": p.form.text("name").unwrap_or_default(),
        "contact": p.form.text("contact"),
        "community_ids": p.form.all("community_ids"),
    });
    let input: units::UnitInput = serde_json::from_value(input)
        .map_err(|e| PageError::new(ApiError::invalid("kind", format!("unknown kind: {e}")), l))?;
    let _ = units::create_unit(State(s), p.user.bearer(), JsonBody(input)).await.map_err(|e| PageError::new(e, l))?;
    Ok(Redirect::to("/units").into_response())
}
