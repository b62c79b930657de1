//! The home redirect and the 三零 board (the figures of `admin::figures`, per community,
//! drilling down to its grids).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Duration, TimeZone};
use maud::html;
use serde::Deserialize;

use super::extract::{PageError, PageResult, User};
use super::layout::{self, pct};
use crate::admin::figures::{self, AreaFigures, FiguresQuery};
use crate::auth::Role;
use crate::http::{ApiQuery, AppState};

/// `/`: the board (a unit's staff: their task queue), or the sign-in page.
pub async fn home(user: Result<User, PageError>) -> Response {
    match user {
        Ok(u) if u.op.role == Role::Unit => Redirect::to("/desk").into_response(),
        Ok(_) => Redirect::to("/board").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
pub struct BoardQuery {
    from: Option<String>,
    to: Option<String>,
    community: Option<String>,
}

/// This month so far, in the street's local days: `[1st, tomorrow)`.
pub(super) fn default_period() -> (String, String) {
    let tz = crate::admin::street_tz();
    let today = tz.from_utc_datetime(&chrono::Utc::now().naive_utc()).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    (first.format("%Y-%m-%d").to_string(), (today + Duration::days(1)).format("%Y-%m-%d").to_string())
}

fn figure_cells(f: &AreaFigures) -> maud::Markup {
    html! {
        td.num { (pct(f.grid_day_coverage.rate)) }
        td.num { (pct(f.grid_night_coverage.rate)) }
        td.num { (pct(f.patrol_completion.rate)) }
        td.num { (pct(f.must_visit_coverage.rate)) }
        td.num { (pct(f.on_time_closure.rate)) }
        td.num { (pct(f.in_grid_resolution.rate)) }
        td.num { (f.diversion_110.count) }
        td.num { (pct(f.diversion_110.closed_on_time.rate)) }
    }
}

/// Each worker's grids in one read, for the drill-down's "Grids" column. Only workers and
/// grids the figures (scoped by `auth`) already hold are shown from it.
async fn worker_grids(
    s: &AppState,
    user: &User,
) -> crate::error::Result<std::collections::HashMap<String, Vec<String>>> {
    let bearer = user.bearer();
    s.db.read(move |tx| {
        crate::auth::operator(tx, bearer.as_deref())?;
        let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
        for r in tx.query("SELECT worker_id, grid_id FROM worker_grid ORDER BY worker_id, grid_id", crate::p![])? {
            out.entry(r.text(0)?).or_default().push(r.text(1)?);
        }
        Ok(out)
    })
    .await
}

pub async fn board(State(s): State<AppState>, user: User, Query(q): Query<BoardQuery>) -> PageResult {
    let l = user.lang;
    let (df, dt) = default_period();
    let from = q.from.filter(|v| !v.is_empty()).unwrap_or(df);
    let to = q.to.filter(|v| !v.is_empty()).unwrap_or(dt);
    let worker_grids: std::collections::HashMap<String, Vec<String>> = match q.community.as_deref() {
        Some(_) => worker_grids(&s, &user).await.map_err(|e| PageError::new(e, l))?,
        None => Default::default(),
    };
    let f = figures::figures(State(s), user.bearer(), ApiQuery(FiguresQuery { from: from.clone(), to: to.clone() }))
        .await
        .map_err(|e| PageError::new(e, l))?
        .0;
    let heads = html! {
        th { (l.t("白天覆盖", "Day coverage")) } th { (l.t("夜间覆盖", "Night coverage")) }
        th { (l.t("三到完成", "Patrols complete")) } th { (l.t("必访覆盖", "Must-visit")) }
        th { (l.t("按期结案", "Closed on time")) } th { (l.t("格内解决", "Solved in grid")) }
        th { (l.t("110分流", "110 tasks")) } th { (l.t("110按期办结", "110 on time")) }
    };
    let drill = q.community.as_deref();
    // Workers of the drilled community's grids (their grids come from the API's worker list).
    let workers_in: Vec<(&figures::WorkerFigures, String)> = match drill {
        Some(cid) => {
            let grids: std::collections::HashSet<&str> =
                f.grids.iter().filter(|g| g.community_id == cid).map(|g| g.grid_id.as_str()).collect();
            let names: std::collections::HashMap<&str, &str> =
                f.grids.iter().map(|g| (g.grid_id.as_str(), g.grid.as_str())).collect();
            f.workers
                .iter()
                .filter_map(|w| {
                    let theirs: Vec<&str> = worker_grids
                        .get(&w.worker_id)?
                        .iter()
                        .map(String::as_str)
                        .filter(|g| grids.contains(g))
                        .collect();
                    (!theirs.is_empty()).then(|| {
                        (w, theirs.iter().map(|g| names.get(g).copied().unwrap_or(g)).collect::<Vec<_>>().join(", "))
                    })
                })
                .collect()
        }
        None => Vec::new(),
    };
    let body = html! {
        form.filters method="get" action="/board" aria-label=(l.t("统计周期", "Period")) {
            label { (l.t("开始日期", "From")) input type="date" name="from" value=(from); }
            label { (l.t("结束日期（不含）", "To (exclusive)")) input type="date" name="to" value=(to); }
            @if let Some(c) = drill { input type="hidden" name="community" value=(c); }
            button type="submit" { (l.t("查看", "Show")) }
        }
        p { a href="/board/trend" { (l.t("近12个月趋势图 →", "Trend over the last 12 months →")) } }
        p { (l.t("三零社区", "Communities with 三零")) ": " strong #three-zero { (f.three_zero_communities.count) " / " (f.three_zero_communities.of) } }
        @if let Some(cid) = drill {
            @let name = f.communities.iter().find(|c| c.community_id == cid).map(|c| c.community.clone()).unwrap_or_else(|| cid.to_string());
            h2 { (name) " · " (l.t("各网格", "grids")) }
            p { a href={ "/board?from=" (from) "&to=" (to) } { (l.t("← 返回全部社区", "← All communities")) } }
            table {
                caption.sr-only { (l.t("网格指标", "Grid figures")) }
                thead { tr { th { (l.t("网格", "Grid")) } (heads) } }
                tbody {
                    @for g in f.grids.iter().filter(|g| g.community_id == cid) {
                        tr { td { (g.grid) } (figure_cells(&g.figures)) }
                    }
                }
            }
            h2 { (name) " · " (l.t("网格员", "grid workers")) }
            table #workers {
                thead { tr {
                    th { (l.t("网格员", "Worker")) } th { (l.t("网格", "Grids")) } th { (l.t("巡查次数", "Patrols")) }
                    th { (l.t("三到完成", "Patrols complete")) } th { (l.t("有效打卡", "Trusted check-ins")) }
                    th { (l.t("走访", "Visits")) } th { (l.t("上报", "Reports")) } th { (l.t("任务按期", "Tasks on time")) }
                } }
                tbody { @for (w, grids) in &workers_in { tr {
                    td { (w.worker) } td { (grids) } td.num { (w.patrols) } td.num { (pct(w.patrol_completion.rate)) }
                    td.num { (w.trusted_checkins) } td.num { (w.visits) } td.num { (w.reports) } td.num { (pct(w.tasks_on_time.rate)) }
                } } }
            }
        } @else {
            table #board {
                thead { tr { th { (l.t("社区", "Community")) } th { (l.t("三零", "三零")) } (heads) th { (l.t("民情清单办结", "Weekly list done")) } } }
                tbody {
                    @for c in &f.communities {
                        tr {
                            td { a href={ "/board?from=" (from) "&to=" (to) "&community=" (c.community_id) } { (c.community) } }
                            td {
                                @if c.three_zero { span.ok { "✓" } } @else {
                                    span.bad { "✗" }
                                    ul { @for i in &c.incident_list { li { (i) } } }
                                }
                            }
                            (figure_cells(&c.figures))
                            td.num { (pct(c.weekly_list_closure.rate)) }
                        }
                    }
                }
            }
        }
        details {
            summary { (l.t("指标定义", "What each figure means")) }
            dl.clear { @for d in &f.definitions { dt { (d.zh) } dd { (d.definition) } } }
        }
        p.noprint {
            (l.t("导出", "Export")) ": "
            @for k in crate::admin::records::Kind::ALL {
                a href={ "/export/" (k.name()) ".csv?from=" (from) "&to=" (to) } { (k.name()) ".csv" } " "
                a href={ "/export/" (k.name()) ".xlsx?from=" (from) "&to=" (to) } { (k.name()) ".xlsx" } " · "
            }
        }
    };
    Ok(layout::page(&user, l.t("三零看板", "三零 board"), body).into_response())
}
