//! 三零 and 3456 figures per community for a period, and the incidents the street records
//! for 三零 (petitions escalated, safety accidents with casualties, criminal or major
//! public-order cases). Grid leaders see the figures of their own grids only.
//!
//! Definitions (documented here because no public source fixes them):
//! - patrol completion: patrols started in the period that finished with all 巡查三到 parts
//!   (see `records::patrol_parts`) / patrols started in the period;
//! - visit coverage: must-visit households (now) met or reached by phone in the period /
//!   must-visit households;
//! - on-time closure (按期结案率): cases closed in the period by their deadline / cases closed
//!   in the period that had a deadline;
//! - in-grid resolution: cases closed in the period without ever being dispatched to a unit
//!   outside the grid / cases closed in the period;
//! - 三零: zero petitions, zero accidents and zero criminal cases recorded for the period.
//!
//! Times are HQ's view of when things happened: device capture times corrected by the
//! device's recorded clock skew.

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use gridpatrol_protocol::domain::ReportCategory;
use gridpatrol_protocol::{rules, validate};
use serde::{Deserialize, Serialize};

use super::records::{patrol_parts, Templates};
use super::{audit, local_time, parse_time, Created};
use crate::auth;
use crate::error::{ApiError, Result};
use crate::http::{ApiQuery, AppState, Bearer, JsonBody};
use crate::{new_id, now_ms, p};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Petition,
    Accident,
    CriminalCase,
}

impl IncidentKind {
    fn code(self) -> &'static str {
        match self {
            IncidentKind::Petition => "petition",
            IncidentKind::Accident => "accident",
            IncidentKind::CriminalCase => "criminal_case",
        }
    }
    fn label(self) -> &'static str {
        match self {
            IncidentKind::Petition => "越级上访 (petition escalated)",
            IncidentKind::Accident => "安全事故 (safety accident with casualties)",
            IncidentKind::CriminalCase => "刑事或重大治安案件 (criminal or major public-order case)",
        }
    }
    fn parse(s: &str) -> Option<IncidentKind> {
        match s {
            "petition" => Some(IncidentKind::Petition),
            "accident" => Some(IncidentKind::Accident),
            "criminal_case" => Some(IncidentKind::CriminalCase),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    pub community_id: String,
    pub kind: IncidentKind,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentOut {
    pub id: String,
    pub community_id: String,
    pub kind: IncidentKind,
    pub kind_label: String,
    pub occurred_at: String,
    pub note: Option<String>,
    pub recorded_by: String,
}

pub async fn record_incident(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(i): JsonBody<IncidentInput>,
) -> Result<Created<IncidentOut>> {
    validate::id("community_id", &i.community_id)?;
    let note = validate::optional_text("note", i.note.as_deref(), rules::MAX_NOTE_CHARS)?;
    let occurred = validate::plausible_time("occurred_at", i.occurred_at)?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            if tx.query_opt("SELECT 1 FROM community WHERE id = ?", p![&i.community_id])?.is_none() {
                return Err(ApiError::invalid("community_id", "no such community"));
            }
            op.require_community(&i.community_id)?;
            let id = new_id();
            tx.exec(
                "INSERT INTO incident (id, community_id, kind, occurred_ms, note, recorded_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                p![&id, &i.community_id, i.kind.code(), occurred, &note, &op.id, now_ms()],
            )?;
            audit(tx, &op.id, "incident.record", &id)?;
            Ok(IncidentOut {
                id,
                community_id: i.community_id,
                kind: i.kind,
                kind_label: i.kind.label().into(),
                occurred_at: local_time(occurred),
                note,
                recorded_by: op.id,
            })
        })
        .await?,
    ))
}

pub async fn list_incidents(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<IncidentOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let mut out = Vec::new();
            for r in tx.query(
                "SELECT id, community_id, kind, occurred_ms, note, recorded_by FROM incident ORDER BY occurred_ms DESC, id",
                p![],
            )? {
                let community_id = r.text(1)?;
                if !scope.community(&community_id) {
                    continue;
                }
                let kind = IncidentKind::parse(&r.text(2)?).ok_or_else(|| ApiError::internal("incident kind"))?;
                out.push(IncidentOut {
                    id: r.text(0)?,
                    community_id,
                    kind,
                    kind_label: kind.label().into(),
                    occurred_at: local_time(r.i64(3)?),
                    note: r.opt_text(4)?,
                    recorded_by: r.text(5)?,
                });
            }
            Ok(out)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FiguresQuery {
    pub from: String,
    pub to: String,
}

/// A count over a base, with the rate (None when the base is zero).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Ratio {
    pub count: i64,
    pub of: i64,
    pub rate: Option<f64>,
}

impl Ratio {
    fn finish(mut self) -> Ratio {
        self.rate = (self.of > 0).then(|| (self.count as f64 / self.of as f64 * 10_000.0).round() / 10_000.0);
        self
    }
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Incidents {
    pub petitions: i64,
    pub accidents: i64,
    pub criminal_cases: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommunityFigures {
    pub community_id: String,
    pub community: String,
    /// 巡查三到: patrols finished with all three parts / patrols started.
    pub patrol_completion: Ratio,
    /// 重点必访: must-visit households visited / must-visit households.
    pub visit_coverage: Ratio,
    /// 情况五报: reports by category code.
    pub reports_by_category: BTreeMap<String, i64>,
    /// 按期结案率: closed by the deadline / closed with a deadline.
    pub on_time_closure: Ratio,
    /// 格内解决率: closed without dispatch outside the grid / closed.
    pub in_grid_resolution: Ratio,
    pub incidents: Incidents,
    /// 三零: no petitions, no accidents, no criminal cases.
    pub three_zero: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub from: String,
    pub to: String,
    pub communities: Vec<CommunityFigures>,
    /// Communities that made 三零 / communities shown.
    pub three_zero_communities: Ratio,
}

pub async fn figures(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> Result<Json<Figures>> {
    let from = parse_time("from", &q.from)?;
    let to = parse_time("to", &q.to)?;
    if from >= to {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    Ok(Json(s.db.read(move |tx| compute(tx, bearer.as_deref(), from, to)).await?))
}

fn compute(tx: &mut dyn crate::db::Tx, bearer: Option<&str>, from: i64, to: i64) -> Result<Figures> {
    let op = auth::operator(tx, bearer)?;
    let scope = op.scope(tx)?;
    let communities = tx.query("SELECT id, name FROM community ORDER BY code", p![])?;
    let mut out = Vec::new();
    let mut templates = Templates::new();
    for c in communities {
        let (cid, cname) = (c.text(0)?, c.text(1)?);
        if !scope.community(&cid) {
            continue;
        }
        let grids: HashSet<String> = tx
            .query("SELECT id FROM grid WHERE community_id = ?", p![&cid])?
            .iter()
            .map(|r| r.text(0))
            .collect::<crate::db::DbResult<HashSet<_>>>()?
            .into_iter()
            .filter(|g| scope.grid(g))
            .collect();
        let mut f = CommunityFigures {
            community_id: cid.clone(),
            community: cname,
            patrol_completion: Ratio::default(),
            visit_coverage: Ratio::default(),
            reports_by_category: ReportCategory::ALL.iter().map(|c| (c.code().to_string(), 0)).collect(),
            on_time_closure: Ratio::default(),
            in_grid_resolution: Ratio::default(),
            incidents: Incidents::default(),
            three_zero: true,
        };
        for g in &grids {
            for r in tx.query(
                "SELECT id, template_id, template_version, finished_ms, outcome FROM patrol
                 WHERE grid_id = ? AND effective_ms >= ? AND effective_ms < ?",
                p![g, from, to],
            )? {
                let parts = patrol_parts(
                    tx,
                    &mut templates,
                    &r.text(0)?,
                    (&r.text(1)?, r.i64(2)?),
                    r.opt_i64(3)?.is_some(),
                    r.opt_text(4)?.as_deref(),
                )?;
                f.patrol_completion.of += 1;
                f.patrol_completion.count += i64::from(parts.complete);
            }
            f.visit_coverage.of +=
                tx.query_i64("SELECT COUNT(*) FROM household WHERE grid_id = ? AND must_visit = 1", p![g])?;
            f.visit_coverage.count += tx.query_i64(
                "SELECT COUNT(DISTINCT v.household_id) FROM visit v JOIN household h ON h.id = v.household_id
                 WHERE h.grid_id = ? AND h.must_visit = 1 AND v.outcome IN ('met', 'by_phone')
                   AND v.effective_ms >= ? AND v.effective_ms < ?",
                p![g, from, to],
            )?;
            for r in tx.query(
                "SELECT category, COUNT(*) FROM report WHERE grid_id = ? AND effective_ms >= ? AND effective_ms < ? GROUP BY category",
                p![g, from, to],
            )? {
                *f.reports_by_category.entry(r.text(0)?).or_default() += r.i64(1)?;
            }
            for r in tx.query(
                "SELECT deadline_ms, closed_ms, dispatched FROM case_file
                 WHERE grid_id = ? AND closed_ms IS NOT NULL AND closed_ms >= ? AND closed_ms < ?",
                p![g, from, to],
            )? {
                let closed = r.i64(1)?;
                if let Some(deadline) = r.opt_i64(0)? {
                    f.on_time_closure.of += 1;
                    f.on_time_closure.count += i64::from(closed <= deadline);
                }
                f.in_grid_resolution.of += 1;
                f.in_grid_resolution.count += i64::from(!r.bool(2)?);
            }
        }
        for r in tx.query(
            "SELECT kind, COUNT(*) FROM incident WHERE community_id = ? AND occurred_ms >= ? AND occurred_ms < ? GROUP BY kind",
            p![&cid, from, to],
        )? {
            let n = r.i64(1)?;
            match IncidentKind::parse(&r.text(0)?) {
                Some(IncidentKind::Petition) => f.incidents.petitions += n,
                Some(IncidentKind::Accident) => f.incidents.accidents += n,
                Some(IncidentKind::CriminalCase) => f.incidents.criminal_cases += n,
                None => {}
            }
        }
        f.three_zero = f.incidents.petitions == 0 && f.incidents.accidents == 0 && f.incidents.criminal_cases == 0;
        f.patrol_completion = std::mem::take(&mut f.patrol_completion).finish();
        f.visit_coverage = std::mem::take(&mut f.visit_coverage).finish();
        f.on_time_closure = std::mem::take(&mut f.on_time_closure).finish();
        f.in_grid_resolution = std::mem::take(&mut f.in_grid_resolution).finish();
        out.push(f);
    }
    let three_zero =
        Ratio { count: out.iter().filter(|c| c.three_zero).count() as i64, of: out.len() as i64, rate: None }.finish();
    Ok(Figures { from: local_time(from), to: local_time(to), communities: out, three_zero_communities: three_zero })
}
