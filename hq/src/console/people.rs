//! People and places as the API lists them for this operator: communities, grids, buildings,
//! grid workers, units, volunteer teams and households (phones masked), each with a link to
//! change it and one to add another (`people_edit.rs`), its CSV and XLSX export (`export.rs`),
//! and the import of many at once (`import.rs`).

use axum::extract::State;
use axum::response::IntoResponse;
use maud::{html, Markup};

use super::extract::{Lang, PageError, PageResult, User};
use super::layout;
use super::work::urlencode;
use crate::admin::org::{self, HouseholdQuery};
use crate::admin::{teams, units};
use crate::http::{ApiQuery, AppState};

/// A section's heading with its count, its add link and its exports.
fn heading(l: Lang, kind: &str, zh: &'static str, en: &'static str, n: usize, can_add: bool) -> Markup {
    html! {
        h2 id={ "h-" (kind) } { (l.t(zh, en)) " (" (n) ")" }
        p.actions {
            @if can_add { a href={ "/people/" (kind) "/new" } data-add=(kind) { (l.t("新增", "Add")) } }
            a href={ "/export/" (kind) ".csv" } { "CSV" }
            a href={ "/export/" (kind) ".xlsx" } { "XLSX" }
        }
    }
}

fn edit(l: Lang, kind: &str, id: &str) -> Markup {
    html! { td { a href={ "/people/" (kind) "/" (urlencode(id)) } data-edit=(id) { (l.t("修改", "Edit")) } } }
}

pub async fn people(State(s): State<AppState>, user: User) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let st = || State(s.clone());
    let communities = org::list_communities(st(), user.bearer()).await.map_err(err)?.0;
    let grids = org::list_grids(st(), user.bearer()).await.map_err(err)?.0;
    let buildings = teams::list_buildings(st(), user.bearer(), ApiQuery(teams::BuildingQuery { grid_id: None }))
        .await
        .map_err(err)?
        .0;
    let workers = org::list_workers(st(), user.bearer()).await.map_err(err)?.0;
    let unit_list = units::list_units(st(), user.bearer()).await.map_err(err)?.0;
    let team_list = teams::list_teams(st(), user.bearer()).await.map_err(err)?.0;
    let households =
        org::list_households(st(), user.bearer(), ApiQuery(HouseholdQuery { grid_id: None })).await.map_err(err)?.0;
    // Who may add what is the API's rule; the links follow it loosely (the server decides).
    let admin = user.op.role == crate::auth::Role::StreetAdmin;
    let manager = matches!(user.op.role, crate::auth::Role::StreetAdmin | crate::auth::Role::Community);
    let body = html! {
        p { a href="/import" { (l.t("从 XLSX、CSV 或 GeoJSON 批量导入或更新 →", "Import or update many from XLSX, CSV or GeoJSON →")) } }
        (heading(l, "communities", "社区", "Communities", communities.len(), admin))
        table #communities {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("区划代码", "Area code")) } th { (l.t("名称", "Name")) } th { (l.t("操作", "Action")) } } }
            tbody { @for c in &communities { tr { td { (c.id) } td { (c.code) } td { (c.name) } (edit(l, "communities", &c.id)) } } }
        }
        (heading(l, "grids", "网格", "Grids", grids.len(), manager))
        table #grids {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("区划代码", "Area code")) } th { (l.t("社区", "Community")) } th { (l.t("名称", "Name")) }
                th { (l.t("边界顶点", "Corners")) } th { (l.t("操作", "Action")) } } }
            tbody { @for g in &grids { tr {
                td { (g.id) } td { (g.code) } td { (g.community_id) } td { (g.name) }
                td.num { (g.boundary.coordinates.first().map_or(0, |r| r.len().saturating_sub(1))) }
                (edit(l, "grids", &g.id))
            } } }
        }
        (heading(l, "buildings", "楼栋", "Buildings", buildings.len(), manager))
        table #buildings {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("网格", "Grid")) } th { (l.t("名称", "Name")) } th { (l.t("操作", "Action")) } } }
            tbody { @for b in &buildings { tr { td { (b.id) } td { (b.grid_id) } td { (b.name) } (edit(l, "buildings", &b.id)) } } }
        }
        (heading(l, "workers", "网格员", "Grid workers", workers.len(), manager))
        table #people-workers {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("姓名", "Name")) } th { (l.t("类别", "Kind")) } th { (l.t("网格", "Grids")) } th { (l.t("操作", "Action")) } } }
            tbody { @for w in &workers { tr { td { (w.id) } td { (w.name) } td { (l.t(w.role.zh(), w.role.en())) } td { (w.grid_ids.join(", ")) }
                (edit(l, "workers", &w.id)) } } }
        }
        (heading(l, "units", "处置单位", "Units", unit_list.len(), manager))
        table #units {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("名称", "Name")) } th { (l.t("类别", "Kind")) } th { (l.t("服务社区", "Communities")) } th { (l.t("操作", "Action")) } } }
            tbody { @for u in &unit_list { tr { td { code { (u.id) } } td { (u.name) } td { (l.t(u.kind.zh(), u.kind.en())) } td { (u.community_ids.join(", ")) }
                (edit(l, "units", &u.id)) } } }
        }
        (heading(l, "teams", "志愿服务队", "Volunteer teams", team_list.len(), manager))
        table #teams {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("社区", "Community")) } th { (l.t("名称", "Name")) } th { (l.t("队员", "Members")) } th { (l.t("操作", "Action")) } } }
            tbody { @for t in &team_list { tr { td { (t.id) } td { (t.community_id) } td { (t.name) } td { (t.member_ids.join(", ")) }
                (edit(l, "teams", &t.id)) } } }
        }
        (heading(l, "households", "住户", "Households", households.len(), true))
        table #households {
            thead { tr { th { (l.t("门牌", "Door")) } th { (l.t("姓名", "Name")) } th { (l.t("电话", "Phone")) } th { (l.t("网格", "Grid")) }
                th { (l.t("关爱标签", "Care tags")) } th { (l.t("重点必访", "Must-visit")) } th { (l.t("操作", "Action")) } } }
            tbody { @for h in &households { tr {
                td { (h.label) } td { (h.name) } td { (h.phone_masked.clone().unwrap_or_default()) } td { (h.grid_id) }
                td { @for t in &h.care_tags { (l.t(t.zh(), t.en())) " " } }
                td { @if h.must_visit { "✓" } }
                (edit(l, "households", &h.id))
            } } }
        }
    };
    Ok(layout::page(&user, l.t("人员与网格", "People and places"), body).into_response())
}
