//! The map: grids drawn as SVG from their boundaries, coloured by day-patrol coverage over the
//! period (`admin::figures`), with three layers of markers the operator turns on and off: open
//! cases, the period's reports (情况五报, by category) and flagged check-ins. Each layer draws
//! at most `MAX_MARKERS` (the newest) and says how many there are, so a year of data stays
//! fast. By default no tile server: the boundaries are the map (HQ often runs on an intranet);
//! with `HqConfig::map_tiles` (`hq serve --map-tiles`) tiles from that server lie beneath.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{html, Markup};
use serde::Deserialize;

use super::extract::{Lang, PageError, PageResult, User};
use super::layout;
use gridpatrol_protocol::domain::{CaseState, ReportCategory};

use crate::admin::figures::{self, FiguresQuery};
use crate::admin::org;
use crate::admin::parse_time;
use crate::admin::records::{self, PeriodQuery};
use crate::auth;
use crate::http::{ApiQuery, AppState};

#[derive(Deserialize)]
pub struct MapQuery {
    from: Option<String>,
    to: Option<String>,
    /// Set by the layer form: then only the layers ticked are drawn (all of them without it).
    layers: Option<String>,
    cases: Option<String>,
    reports: Option<String>,
    flagged: Option<String>,
}

/// Most markers of one layer drawn (the newest); the count of all is shown beside.
const MAX_MARKERS: usize = 300;
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

/// A report category's marker colour (情况五报: five categories).
fn category_colour(c: ReportCategory) -> &'static str {
    match c {
        ReportCategory::SafetyHazard => "#d1242f",
        ReportCategory::Dispute => "#8250df",
        ReportCategory::Emergency => "#bc4c00",
        ReportCategory::ResidentRequest => "#1a7f37",
        ReportCategory::SecurityLead => "#9a6700",
    }
}

fn legend(l: Lang, layers: Layers) -> Markup {
    html! {
        ul.legend #map-legend {
            // Classes, not style attributes: the page's CSP allows no inline styles.
            li { span.swatch.good {} (l.t("白天覆盖 ≥ 90%", "day coverage ≥ 90%")) }
            li { span.swatch.mid {} "60–90%" }
            li { span.swatch.bad {} "< 60%" }
            li { span.swatch.none {} (l.t("无数据", "no data")) }
            @if layers.cases { li { "● " (l.t("未结案件", "open case")) } }
            @if layers.reports {
                @for c in ReportCategory::ALL {
                    li { svg.key viewBox="0 0 12 12" width="12" height="12" aria-hidden="true" {
                            rect x="1" y="1" width="10" height="10" fill=(category_colour(*c)) {} }
                        " " (l.t("上报", "report")) ": " (l.t(c.zh(), c.en())) }
                }
            }
            @if layers.flagged { li { "▲ " (l.t("异常打卡", "flagged check-in")) } }
        }
    }
}

/// Which marker layers are drawn.
#[derive(Clone, Copy)]
struct Layers {
    cases: bool,
    reports: bool,
    flagged: bool,
}

impl Layers {
    fn of(q: &MapQuery) -> Layers {
        let on = |v: &Option<String>| q.layers.is_none() || v.as_deref().is_some_and(|v| !v.is_empty());
        Layers { cases: on(&q.cases), reports: on(&q.reports), flagged: on(&q.flagged) }
    }
}

/// A report marker: where, which category, its case.
struct ReportMark {
    case_id: String,
    category: Option<ReportCategory>,
    lng: f64,
    lat: f64,
}

/// The period's reports in the operator's scope, newest first (at most `MAX_MARKERS`), and
/// how many there are.
async fn reports(s: &AppState, user: &User, from: i64, to: i64) -> crate::error::Result<(Vec<ReportMark>, usize)> {
    let bearer = user.bearer();
    s.db.read(move |tx| {
        let op = auth::operator(tx, bearer.as_deref())?;
        let scope = op.scope(tx)?;
        let whole = scope.grids.is_none();
        let limit = if whole { format!(" LIMIT {MAX_MARKERS}") } else { String::new() };
        let rows = tx.query(
            &format!(
                "SELECT case_id, category, lng, lat, grid_id FROM report WHERE effective_ms >= ? AND effective_ms < ?
                 ORDER BY effective_ms DESC, id{limit}"
            ),
            crate::p![from, to],
        )?;
        let (mut out, mut count) = (Vec::new(), 0);
        for r in rows {
            if !scope.grid(&r.text(4)?) {
                continue;
            }
            count += 1;
            if out.len() < MAX_MARKERS {
                out.push(ReportMark {
                    case_id: r.text(0)?,
                    category: ReportCategory::from_code(&r.text(1)?),
                    lng: r.f64(2)?,
                    lat: r.f64(3)?,
                });
            }
        }
        if whole {
            count = tx.query_i64(
                "SELECT COUNT(*) FROM report WHERE effective_ms >= ? AND effective_ms < ?",
                crate::p![from, to],
            )? as usize;
        }
        Ok((out, count))
    })
    .await
}

/// A tile server's URL template, as `hq serve --map-tiles` takes it: http(s), with `{z}`,
/// `{x}` and `{y}`. Returns the origin the console's CSP must allow images from.
pub fn tile_origin(template: &str) -> Result<String, String> {
    let rest = template
        .strip_prefix("https://")
        .map(|r| ("https://", r))
        .or_else(|| template.strip_prefix("http://").map(|r| ("http://", r)));
    let Some((scheme, rest)) = rest else { return Err("the tile URL must start with http:// or https://".into()) };
    for part in ["{z}", "{x}", "{y}"] {
        if !template.contains(part) {
            return Err(format!("the tile URL must contain {part}"));
        }
    }
    let host = rest.split('/').next().unwrap_or_default();
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if host.is_empty()
        || !host.chars().all(ok)
        || template.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == ';')
    {
        return Err("the tile URL's host is not valid".into());
    }
    Ok(format!("{scheme}{host}"))
}

/// Web-Mercator tiles covering the drawing: (URL, x, y, width, height) in the SVG's units. A
/// tile is small enough at a street's zoom for the drawing's projection to place it by its
/// corners.
fn tiles(template: &str, p: &Projection) -> Vec<(String, f64, f64, f64, f64)> {
    use std::f64::consts::PI;
    // The drawing's corners in degrees.
    let (west, east) = (p.min_lng - p.dx / (p.cos * p.k), p.min_lng + (W - p.dx) / (p.cos * p.k));
    let (north, south) = (p.max_lat + p.dy / p.k, p.max_lat - (H - p.dy) / p.k);
    // About 256 drawing units per tile.
    let z = ((360.0 * p.cos * p.k / 256.0).log2().round() as i32).clamp(0, 19);
    let n = f64::from(1u32 << z);
    let tx = |lng: f64| ((lng + 180.0) / 360.0 * n).floor().clamp(0.0, n - 1.0) as u32;
    let ty = |lat: f64| {
        let r = lat.clamp(-85.0, 85.0).to_radians();
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / PI) / 2.0 * n).floor().clamp(0.0, n - 1.0) as u32
    };
    let lng_of = |x: u32| f64::from(x) / n * 360.0 - 180.0;
    let lat_of = |y: u32| (PI * (1.0 - 2.0 * f64::from(y) / n)).sinh().atan().to_degrees();
    let mut out = Vec::new();
    for y in ty(north)..=ty(south) {
        for x in tx(west)..=tx(east) {
            if out.len() >= 64 {
                return out;
            }
            let (x0, y0) = p.xy(lng_of(x), lat_of(y));
            let (x1, y1) = p.xy(lng_of(x + 1), lat_of(y + 1));
            let url =
                template.replace("{z}", &z.to_string()).replace("{x}", &x.to_string()).replace("{y}", &y.to_string());
            out.push((url, x0, y0, x1 - x0, y1 - y0));
        }
    }
    out
}

/// Open cases in the operator's scope with their report's place, newest first: one query, the
/// scope from `auth` as every API read takes it.
async fn open_cases(s: &AppState, user: &User) -> crate::error::Result<(Vec<(String, CaseState, f64, f64)>, usize)> {
    let bearer = user.bearer();
    s.db.read(move |tx| {
        let op = auth::operator(tx, bearer.as_deref())?;
        let scope = op.scope(tx)?;
        let open = "FROM case_file c JOIN report r ON r.id = c.report_id
             WHERE c.state NOT IN ('closed', 'followed_up', 'archived', 'rejected')";
        // The whole street: the newest few and a count, in SQL. An area: filtered here.
        let limit = if scope.grids.is_none() { format!(" LIMIT {MAX_MARKERS}") } else { String::new() };
        let rows = tx.query(
            &format!("SELECT c.id, c.state, r.lng, r.lat, c.grid_id {open} ORDER BY c.created_ms DESC{limit}"),
            crate::p![],
        )?;
        let mut out = Vec::new();
        let mut count = 0;
        for r in rows {
            let state =
                CaseState::from_code(&r.text(1)?).ok_or_else(|| crate::error::ApiError::internal("case state"))?;
            if scope.grid(&r.text(4)?) && !super::work::finished(state) {
                count += 1;
                if out.len() < MAX_MARKERS {
                    out.push((r.text(0)?, state, r.f64(2)?, r.f64(3)?));
                }
            }
        }
        if scope.grids.is_none() {
            count = tx.query_i64(&format!("SELECT COUNT(*) {open}"), crate::p![])? as usize;
        }
        Ok((out, count))
    })
    .await
}

pub async fn map(State(s): State<AppState>, user: User, Query(q): Query<MapQuery>) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let layers = Layers::of(&q);
    let (df, dt) = super::pages::default_period();
    let from = q.from.clone().filter(|v| !v.is_empty()).unwrap_or(df);
    let to = q.to.clone().filter(|v| !v.is_empty()).unwrap_or(dt);
    let (from_ms, to_ms) = (parse_time("from", &from).map_err(err)?, parse_time("to", &to).map_err(err)?);
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
    let (case_points, cases_count) =
        if layers.cases { open_cases(&s, &user).await.map_err(err)? } else { (Vec::new(), 0) };
    let (report_points, reports_count) =
        if layers.reports { reports(&s, &user, from_ms, to_ms).await.map_err(err)? } else { (Vec::new(), 0) };
    let flagged = if layers.flagged {
        let period = PeriodQuery { from: Some(from.clone()), to: Some(to.clone()) };
        records::list_flagged_checkins(State(s.clone()), user.bearer(), ApiQuery(period)).await.map_err(err)?.0
    } else {
        Vec::new()
    };
    let flagged_count = flagged.len();
    let flagged: Vec<(f64, f64, String)> = flagged
        .iter()
        .rev()
        .take(MAX_MARKERS)
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
    let tile_images =
        s.config.map_tiles.as_deref().filter(|t| tile_origin(t).is_ok()).map(|t| tiles(t, &p)).unwrap_or_default();
    // "showing n of m" when a layer has more than it draws.
    let shown = |drawn: usize, all: usize| if drawn < all { format!("{drawn}/{all}") } else { all.to_string() };
    let body = html! {
        form.filters method="get" action="/map" aria-label=(l.t("统计周期与图层", "Period and layers")) {
            label { (l.t("开始日期", "From")) input type="date" name="from" value=(from); }
            label { (l.t("结束日期（不含）", "To (exclusive)")) input type="date" name="to" value=(to); }
            input type="hidden" name="layers" value="1";
            fieldset.layers #map-layers {
                legend { (l.t("图层", "Layers")) }
                label.check { input type="checkbox" name="cases" value="1" checked[layers.cases]; (l.t("未结案件", "Open cases")) }
                label.check { input type="checkbox" name="reports" value="1" checked[layers.reports]; (l.t("情况上报", "Reports")) }
                label.check { input type="checkbox" name="flagged" value="1" checked[layers.flagged]; (l.t("异常打卡", "Flagged check-ins")) }
            }
            button type="submit" { (l.t("查看", "Show")) }
        }
        (legend(l, layers))
        svg #map viewBox=(format!("0 0 {W} {H}")) role="group" aria-label=(l.t("网格地图", "Map of the grids")) {
            @if !tile_images.is_empty() {
                g.tiles aria-hidden="true" {
                    @for (url, x, y, w, h) in &tile_images {
                        image href=(url) x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{w:.1}"))
                            height=(format!("{h:.1}")) preserveAspectRatio="none" {}
                    }
                }
            }
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
                    // Over tiles the grids are see-through, so the streets show.
                    polygon points=(pts.join(" ")) fill=(colour(rate)) fill-opacity=(if tile_images.is_empty() { "1" } else { "0.55" })
                        stroke="#123a63" stroke-width="1.5" {
                        title { (g.name) ": " (layout::pct(rate)) }
                    }
                    text x=(format!("{cx:.1}")) y=(format!("{cy:.1}")) text-anchor="middle" font-size="14" fill="#1b1f24" { (g.name) }
                }
            }
            @if layers.reports {
                g #layer-reports {
                    @for r in &report_points {
                        @let (x, y) = p.xy(r.lng, r.lat);
                        @let colour = r.category.map(category_colour).unwrap_or("#57606a");
                        a href={ "/cases/" (r.case_id) } {
                            // Up and right of the point: an open case's circle at the same place stays visible.
                            rect.report x=(format!("{:.1}", x + 2.0)) y=(format!("{:.1}", y - 12.0)) width="10" height="10"
                                fill=(colour) stroke="#fff" stroke-width="1.5" data-category=(r.category.map(|c| c.code()).unwrap_or("")) {
                                title { (l.t("上报", "Report")) ": " (r.category.map(|c| l.t(c.zh(), c.en())).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            @if layers.cases {
                g #layer-cases {
                    @for (id, state, lng, lat) in &case_points {
                        @let (x, y) = p.xy(*lng, *lat);
                        a href={ "/cases/" (id) } {
                            circle.case cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="7" fill="#0b57a4" stroke="#fff" stroke-width="2" {
                                title { (l.t(state.zh(), state.en())) }
                            }
                        }
                    }
                }
            }
            @if layers.flagged {
                g #layer-flagged {
                    @for (lng, lat, why) in &flagged {
                        @let (x, y) = p.xy(*lng, *lat);
                        polygon.flagged points=(format!("{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", x, y - 7.0, x - 6.0, y + 5.0, x + 6.0, y + 5.0))
                            fill="#a40e26" { title { (why) } }
                    }
                }
            }
        }
        p #map-counts {
            (grids.len()) " " (l.t("个网格", "grids"))
            @if layers.cases { " · " span #count-cases { (shown(case_points.len(), cases_count)) } " " (l.t("件未结案件", "open cases")) }
            @if layers.reports { " · " span #count-reports { (shown(report_points.len(), reports_count)) } " " (l.t("条上报", "reports")) }
            @if layers.flagged { " · " span #count-flagged { (shown(flagged.len(), flagged_count)) } " " (l.t("次异常打卡", "flagged check-ins")) }
        }
        @if reports_count > report_points.len() || cases_count > case_points.len() || flagged_count > flagged.len() {
            p.hint { (l.t("每层最多显示最新的 ", "Each layer shows at most its newest ")) (MAX_MARKERS)
                (l.t(" 个标记；缩短统计周期可看到全部。", " markers; a shorter period shows them all.")) }
        }
    };
    let mut resp = layout::page(&user, l.t("网格地图", "Map"), body).into_response();
    if let Some(origin) = s.config.map_tiles.as_deref().and_then(|t| tile_origin(t).ok()) {
        // The tile server is the one outside origin this page may load images from.
        if let Ok(v) =
            axum::http::HeaderValue::from_str(&super::extract::csp(&format!("img-src 'self' data: {origin}")))
        {
            resp.headers_mut().insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    Ok(resp)
}
