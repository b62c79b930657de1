//! The board's trend: the last 12 months of the street's (or one community's) figures from
//! `admin::figures`, each figure a small SVG line chart. Its own page, since it is twelve
//! periods' worth of figures.

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use chrono::{Datelike, Months, NaiveDate, TimeZone};
use maud::{html, Markup};
use serde::Deserialize;

use super::extract::{Lang, PageError, PageResult, User};
use super::layout;
use crate::admin::figures::{self, CommunityFigures, FiguresQuery, Ratio};
use crate::http::{ApiQuery, AppState};

const MONTHS: u32 = 12;
const W: f64 = 560.0;
const H: f64 = 150.0;
const PAD: f64 = 28.0;

#[derive(Deserialize)]
pub struct TrendQuery {
    community: Option<String>,
}

/// The first days of the last 12 months, oldest first, and the day after today.
fn months() -> (Vec<NaiveDate>, NaiveDate) {
    let tz = crate::admin::street_tz();
    let today = tz.from_utc_datetime(&chrono::Utc::now().naive_utc()).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let starts = (0..MONTHS).rev().filter_map(|k| first.checked_sub_months(Months::new(k))).collect();
    (starts, today + chrono::Duration::days(1))
}

fn sum(communities: &[&CommunityFigures], f: impl Fn(&CommunityFigures) -> &Ratio) -> Option<f64> {
    let (count, of) = communities.iter().fold((0, 0), |(c, o), x| (c + f(x).count, o + f(x).of));
    (of > 0).then(|| count as f64 / of as f64)
}

fn chart(l: Lang, title: &str, labels: &[String], values: &[Option<f64>]) -> Markup {
    let n = values.len().max(2) as f64;
    let x = |i: usize| PAD + i as f64 * (W - 2.0 * PAD) / (n - 1.0);
    let y = |v: f64| H - PAD - v.clamp(0.0, 1.0) * (H - 2.0 * PAD);
    let points: Vec<String> =
        values.iter().enumerate().filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v)))).collect();
    html! {
        figure.trend {
            figcaption { (title) }
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
                line x1=(PAD) y1=(y(0.0)) x2=(W - PAD) y2=(y(0.0)) stroke="#8c959f" {}
                line x1=(PAD) y1=(y(1.0)) x2=(W - PAD) y2=(y(1.0)) stroke="#d0d7de" {}
                text x="2" y=(y(1.0) + 4.0) font-size="10" fill="#1b1f24" { "100%" }
                text x="8" y=(y(0.0) + 4.0) font-size="10" fill="#1b1f24" { "0%" }
                polyline points=(points.join(" ")) fill="none" stroke="#0b57a4" stroke-width="2" {}
                @for (i, v) in values.iter().enumerate() {
                    @if let Some(v) = v {
                        circle cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*v))) r="3" fill="#0b57a4" {
                            title { (labels[i]) ": " (layout::pct(Some(*v))) }
                        }
                    }
                }
                @for (i, m) in labels.iter().enumerate() {
                    text x=(format!("{:.1}", x(i))) y=(H - 8.0) font-size="10" text-anchor="middle" fill="#1b1f24" { (&m[5..]) }
                }
            }
            p.sr-only { (l.t("数值", "Values")) ": " @for (i, v) in values.iter().enumerate() { (labels[i]) " " (layout::pct(*v)) "; " } }
        }
    }
}

pub async fn trend(State(s): State<AppState>, user: User, Query(q): Query<TrendQuery>) -> PageResult {
    let l = user.lang;
    let (starts, tomorrow) = months();
    let mut periods = Vec::new();
    for (i, from) in starts.iter().enumerate() {
        let to = starts.get(i + 1).copied().unwrap_or(tomorrow);
        let query = FiguresQuery { from: from.format("%Y-%m-%d").to_string(), to: to.format("%Y-%m-%d").to_string() };
        let f = figures::figures(State(s.clone()), user.bearer(), ApiQuery(query))
            .await
            .map_err(|e| PageError::new(e, l))?
            .0;
        periods.push(f);
    }
    let labels: Vec<String> = starts.iter().map(|d| d.format("%Y-%m").to_string()).collect();
    let series = |g: &dyn Fn(&CommunityFigures) -> &Ratio| -> Vec<Option<f64>> {
        periods
            .iter()
            .map(|f| {
                let cs: Vec<&CommunityFigures> = f
                    .communities
                    .iter()
                    .filter(|c| q.community.as_deref().is_none_or(|id| id.is_empty() || c.community_id == id))
                    .collect();
                sum(&cs, g)
            })
            .collect()
    };
    let three_zero: Vec<Option<f64>> = periods
        .iter()
        .map(|f| {
            let cs: Vec<_> = f
                .communities
                .iter()
                .filter(|c| q.community.as_deref().is_none_or(|id| id.is_empty() || c.community_id == id))
                .collect();
            (!cs.is_empty()).then(|| cs.iter().filter(|c| c.three_zero).count() as f64 / cs.len() as f64)
        })
        .collect();
    let communities = periods
        .last()
        .map(|f| f.communities.iter().map(|c| (c.community_id.clone(), c.community.clone())).collect::<Vec<_>>())
        .unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/board/trend" {
            label { (l.t("社区", "Community")) select name="community" {
                option value="" { (l.t("全街道", "The whole street")) }
                @for (id, name) in &communities { option value=(id) selected[q.community.as_deref() == Some(id.as_str())] { (name) } } } }
            button type="submit" { (l.t("查看", "Show")) }
        }
        p { a href="/board" { (l.t("← 返回看板", "← Back to the board")) } }
        div.trends #trends {
            (chart(l, l.t("三零社区占比", "Communities with 三零"), &labels, &three_zero))
            (chart(l, l.t("白天巡查覆盖率", "Day patrol coverage"), &labels, &series(&|c| &c.figures.grid_day_coverage)))
            (chart(l, l.t("夜间巡查覆盖率", "Night patrol coverage"), &labels, &series(&|c| &c.figures.grid_night_coverage)))
            (chart(l, l.t("巡查三到完成率", "Patrols with all three parts"), &labels, &series(&|c| &c.figures.patrol_completion)))
            (chart(l, l.t("重点必访覆盖率", "Must-visit coverage"), &labels, &series(&|c| &c.figures.must_visit_coverage)))
            (chart(l, l.t("按期结案率", "Cases closed on time"), &labels, &series(&|c| &c.figures.on_time_closure)))
            (chart(l, l.t("110按期办结", "110 tasks done on time"), &labels, &series(&|c| &c.figures.diversion_110.closed_on_time)))
            (chart(l, l.t("民情清单办结率", "Weekly list items done"), &labels, &series(&|c| &c.weekly_list_closure)))
        }
    };
    Ok(layout::page(&user, l.t("近12个月趋势", "Trend over the last 12 months"), body).into_response())
}
