//! People and places as the API lists them for this operator: communities, grids, grid workers
//! and households (phones masked). Changes come in through the XLSX import (`import.rs`).

use axum::extract::State;
use axum::response::IntoResponse;
use maud::html;

use super::extract::{PageError, PageResult, User};
use super::layout;
use crate::admin::org::{self, HouseholdQuery};
use crate::auth::Role;
use crate::http::{ApiQuery, AppState};

pub async fn people(State(s): State<AppState>, user: User) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let communities = org::list_communities(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let grids = org::list_grids(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let workers = org::list_workers(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let households =
        org::list_households(State(s), user.bearer(), ApiQuery(HouseholdQuery { grid_id: None })).await.map_err(err)?.0;
    let body = html! {
        @if user.op.role == Role::StreetAdmin {
            p { a href="/import" { (l.t("从XLSX导入或更新 →", "Import or update from XLSX →")) } }
        }
        h2 { (l.t("社区", "Communities")) " (" (communities.len()) ")" }
        table #communities {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("区划代码", "Area code")) } th { (l.t("名称", "Name")) } } }
            tbody { @for c in &communities { tr { td { (c.id) } td { (c.code) } td { (c.name) } } } }
        }
        h2 { (l.t("网格", "Grids")) " (" (grids.len()) ")" }
        table #grids {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("区划代码", "Area code")) } th { (l.t("社区", "Community")) } th { (l.t("名称", "Name")) } th { (l.t("边界顶点", "Corners")) } } }
            tbody { @for g in &grids { tr {
                td { (g.id) } td { (g.code) } td { (g.community_id) } td { (g.name) }
                td.num { (g.boundary.coordinates.first().map_or(0, |r| r.len().saturating_sub(1))) }
            } } }
        }
        h2 { (l.t("网格员", "Grid workers")) " (" (workers.len()) ")" }
        table #people-workers {
            thead { tr { th { (l.t("编号", "Id")) } th { (l.t("姓名", "Name")) } th { (l.t("类别", "Kind")) } th { (l.t("网格", "Grids")) } } }
            tbody { @for w in &workers { tr { td { (w.id) } td { (w.name) } td { (l.t(w.role.zh(), w.role.en())) } td { (w.grid_ids.join(", ")) } } } }
        }
        h2 { (l.t("住户", "Households")) " (" (households.len()) ")" }
        table #households {
            thead { tr { th { (l.t("门牌", "Door")) } th { (l.t("姓名", "Name")) } th { (l.t("电话", "Phone")) } th { (l.t("网格", "Grid")) }
                th { (l.t("关爱标签", "Care tags")) } th { (l.t("重点必访", "Must-visit")) } } }
            tbody { @for h in &households { tr {
                td { (h.label) } td { (h.name) } td { (h.phone_masked.clone().unwrap_or_default()) } td { (h.grid_id) }
                td { @for t in &h.care_tags { (l.t(t.zh(), t.en())) " " } }
                td { @if h.must_visit { "✓" } }
            } } }
        }
    };
    Ok(layout::page(&user, l.t("人员与网格", "People and grids"), body).into_response())
}
