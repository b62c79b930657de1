//! The map: grids drawn as SVG from their boundaries, coloured by day-patrol coverage over the
//! period (`admin::figures`), open cases and flagged check-ins as markers. No tile server: the
//! boundaries are the map (HQ often has no way out to one).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{html, Markup};
use serde::Deserialize;

use super::extract::{Lang, PageError, PageResult, User};
use super::layout;
use gridpatrol_protocol::domain::CaseState;

use crate::admin::figures::{self, FiguresQuery};
use crate::admin::org;
use crate::admin::records::{self, PeriodQuery};
use crate::auth;
use crate::http::{ApiQuery, AppState};

#[derive(Deserialize)]
pub struct MapQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Most open cases drawn.
const MAX_CASE_MARKERS: usize = 300;
pub(super) const W: f64 = 1000.0;
pub(super) const H: f64 = 620.0;

/// Longitude/latitude to the SVG's x/y: equirectangular, scaled by cos(latitude) so that a
/// street's few kilometres keep their shape.
pub(super) struct Projection {
    pub(super) min_lng: f64,
    pub(super) max_lat: f64,
    pub(super) k: f64,
    pub(super) cos: f64,
    /// Margins that centre the street in the drawing.
    pub(super) dx: f64,
    pub(super) dy: f64,
}

impl Projection {
    pub(super) fn fit(points: &[[f64; 2]]) -> Projection {
        let (mut a, mut b, mut c, mut d) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for [lng, lat] in points {
            a = a.min(*lng);
            b = b.max(*lng);
            c = c.min(*lat);
            d = d.max(*lat);
        }
        if points.is_empty() {
            (a, b, c, d) = (0.0, 1.0, 0.0, 1.0);
        }
        let cos = ((c + d) / 2.0).to_radians().cos().max(0.1);
        let pad = 0.05 * ((b - a) * cos).max(d - c).max(1e-6);
        let (a, b, c, d) = (a - pad / cos, b + pad / cos, c - pad, d + pad);
        let k = (W / ((b - a) * cos)).min(H / (d - c));
        let (dx, dy) = ((W - (b - a) * cos * k) / 2.0, (H - (d - c) * k) / 2.0);
        Projection { min_lng: a, max_lat: d, k, cos, dx, dy }
    }
    pub(super) fn xy(&self, lng: f64, lat: f64) -> (f64, f64) {
        (self.dx + (lng - self.min_lng) * self.cos * self.k, self.dy + (self.max_lat - lat) * self.k)
    }
}

fn colour(rate: Option<f64>) -> &'static str {
    match rate {
        None => "#d0d7de",
        Some(r) if r >= 0.9 => "#7cc68d",
        Some(r) if r >= 0.6 => "#f2c14e",
        Some(_) => "#e8837e",
    }
}

fn legend(l: Lang) -> Markup {
    html! {
        ul.legend {
            // Classes, not style attributes: the page's CSP allows no inline styles.
            li { span.swatch.good {} (l.t("白天覆盖 ≥ 90%", "day coverage ≥ 90%")) }
            li { span.swatch.mid {} "60–90%" }
            li { span.swatch.bad {} "< 60%" }
            li { span.swatch.none {} (l.t("无数据", "no data")) }
            li { "● " (l.t("未结案件", "open case")) }
            li { "▲ " (l.t("异常打卡", "flagged check-in")) }
        }
    }
}

/// Open cases in the operator's scope with their report's place, newest first: one query, the
/// scope from `auth` as every API read takes it.
async fn open_cases(s: &AppState, user: &User) -> crate::error::Result<Vec<(String, CaseState, f64, f64)>> {
    let bearer = user.bearer();
    s.db.read(move |tx| {
        let op = auth::operator(tx, bearer.as_deref())?;
        let scope = op.scope(tx)?;
        let rows = tx.query(
            "SELECT c.id, c.state, r.lng, r.lat, c.grid_id FROM case_file c JOIN report r ON r.id = c.report_id
             WHERE c.state NOT IN ('closed', 'followed_up', 'archived', 'rejected')
             ORDER BY c.created_ms DESC",
            crate::p![],
        )?;
        let mut out = Vec::new();
        for r in rows {
            if out.len() >= MAX_CASE_MARKERS {
                break;
            }
            let state =
                CaseState::from_code(&r.text(1)?).ok_or_else(|| crate::error::ApiError::internal("case state"))?;
            if scope.grid(&r.text(4)?) && !super::work::finished(state) {
                out.push((r.text(0)?, state, r.f64(2)?, r.f64(3)?));
            }
        }
        Ok(out)
    })
    .await
}

pub async fn map(State(s): State<AppState>, user: User, Query(q): Query<MapQuery>) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let (df, dt) = super::pages::default_period();
    let from = q.from.filter(|v| !v.is_empty()).unwrap_or(df);
    let to = q.to.filter(|v| !v.is_empty()).unwrap_or(dt);
    let grids = org::list_grids(State(s.clone()), user.bearer()).await.map_err(err)?.0;
    let f = figures::figures(
        State(s.clone()),
        user.bearer(),
        ApiQuery(FiguresQuery { from: from.clone(), to: to.clone() }),
    )
    .await
    .map_err(err)?
    .0;
    let coverage: HashMap<&str, Option<f64>> =
        f.grids.iter().map(|g| (g.grid_id.as_str(), g.figures.grid_day_coverage.rate)).collect();
    let case_points = open_cases(&s, &user).await.map_err(err)?;
    let period = PeriodQuery { from: Some(from.clone()), to: Some(to.clone()) };
    let flagged = records::list_flagged_checkins(State(s), user.bearer(), ApiQuery(period)).await.map_err(err)?.0;
    let flagged: Vec<(f64, f64, String)> = flagged
        .iter()
        .filter_map(|r| {
            Some((
                r.get("lng")?.as_f64()?,
                r.get("lat")?.as_f64()?,
                r.get("reasons").map(|v| v.to_string()).unwrap_or_default(),
            ))
        })
        .collect();
    let all: Vec<[f64; 2]> = grids.iter().flat_map(|g| g.boundary.coordinates.iter().flatten().copied()).collect();
    let p = Projection::fit(&all);
    let body = html! {
        form.filters method="get" action="/map" aria-label=(l.t("统计周期", "Period")) {
            label { (l.t("开始日期", "From")) input type="date" name="from" value=(from); }
            label { (l.t("结束日期（不含）", "To (exclusive)")) input type="date" name="to" value=(to); }
            button type="submit" { (l.t("查看", "Show")) }
        }
        (legend(l))
        svg #map viewBox=(format!("0 0 {W} {H}")) role="group" aria-label=(l.t("网格地图", "Map of the grids")) {
            @for g in &grids {
                @let ring = g.boundary.coordinates.first().cloned().unwrap_or_default();
                @let pts: Vec<String> = ring.iter().map(|[x, y]| { let (a, b) = p.xy(*x, *y); format!("{a:.1},{b:.1}") }).collect();
                @let n = ring.len().max(1) as f64;
                @let (cx, _) = p.xy(ring.iter().map(|c| c[0]).sum::<f64>() / n, 0.0);
                // The name above the grid, clear of the markers inside it.
                @let (_, cy) = p.xy(0.0, ring.iter().map(|c| c[1]).fold(f64::MIN, f64::max));
                @let cy = cy - 6.0;
                @let rate = coverage.get(g.id.as_str()).copied().flatten();
                g.grid data-grid=(g.id) {
                    polygon points=(pts.join(" ")) fill=(colour(rate)) stroke="#123a63" stroke-width="1.5" {
                        title { (g.name) ": " (layout::pct(rate)) }
                    }
                    text x=(format!("{cx:.1}")) y=(format!("{cy:.1}")) text-anchor="middle" font-size="14" fill="#1b1f24" { (g.name) }
                }
            }
            @for (id, state, lng, lat) in &case_points {
                @let (x, y) = p.xy(*lng, *lat);
                a href={ "/cases/" (id) } {
                    circle.case cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="7" fill="#0b57a4" stroke="#fff" stroke-width="2" {
                        title { (l.t(state.zh(), state.en())) }
                    }
                }
            }
            @for (lng, lat, why) in &flagged {
                @let (x, y) = p.xy(*lng, *lat);
                polygon.flagged points=(format!("{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", x, y - 7.0, x - 6.0, y + 5.0, x + 6.0, y + 5.0))
                    fill="#a40e26" { title { (why) } }
            }
        }
        p { (grids.len()) " " (l.t("个网格", "grids")) " · " (case_points.len()) " " (l.t("件未结案件", "open cases")) " · "
            (flagged.len()) " " (l.t("次异常打卡", "flagged check-ins")) }
    };
    Ok(layout::page(&user, l.t("网格地图", "Map"), body).into_response())
}
