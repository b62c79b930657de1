//! Cases as the street office works them: list, read (with the report and the full event
//! log), act (accept, reject, open, dispatch, verify, close, reopen — appended as events by
//! the operator through the same state machine the phones obey), and the conflicts phones ran into.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use gridpatrol_protocol::case_flow::{self, ClearItems};
use gridpatrol_protocol::domain::{CaseState, ReportCategory};
use gridpatrol_protocol::records::CaseEvent;
use gridpatrol_protocol::wire::{codes, CaseSnapshot};
use gridpatrol_protocol::{rules, validate};
use serde::{Deserialize, Serialize};

use super::{audit, local_time};
use crate::auth;
use crate::changes::Changes;
use crate::error::{ApiError, Result};
use crate::http::{ApiPath, ApiQuery, AppState, Bearer, JsonBody};
use crate::model::cases::{self as casework, case_events, load_case, CaseEventRow};
use crate::{new_id, now_ms, p};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub report_id: String,
    pub grid_id: String,
    pub state: CaseState,
    pub state_label: String,
    pub category: Option<ReportCategory>,
    pub deadline: Option<String>,
    pub dispatched: bool,
    pub closed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    pub state: Option<String>,
    pub grid_id: Option<String>,
}

const CASE_COLUMNS: &str =
    "c.id, c.report_id, c.grid_id, c.state, r.category, c.deadline_ms, c.dispatched, c.closed_ms,
     c.created_ms, c.updated_ms";

fn summary(r: &crate::db::Row) -> Result<CaseSummary> {
    let state = CaseState::from_code(&r.text(3)?).ok_or_else(|| ApiError::internal("case state"))?;
    Ok(CaseSummary {
        id: r.text(0)?,
        report_id: r.text(1)?,
        grid_id: r.text(2)?,
        state_label: state.label(),
        state,
        category: r.opt_text(4)?.and_then(|c| ReportCategory::from_code(&c)),
        deadline: r.opt_i64(5)?.map(local_time),
        dispatched: r.bool(6)?,
        closed_at: r.opt_i64(7)?.map(local_time),
        created_at: local_time(r.i64(8)?),
        updated_at: local_time(r.i64(9)?),
    })
}

/// Which cases a list shows; every filter optional.
#[derive(Debug, Default, Clone)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    pub grid_id: Option<String>,
    pub category: Option<ReportCategory>,
    pub community_id: Option<String>,
    /// Only cases past their deadline at this time and not yet finished.
    pub overdue_at: Option<i64>,
}

/// The cases in `scope` that pass `f`, newest first: `limit` of them from `offset` (all when
/// `limit` is None), and how many pass. Filters, order and paging are the database's, so a
/// page of a year's cases costs one page's rows.
pub fn find_cases(
    tx: &mut dyn crate::db::Tx,
    scope: &auth::Scope,
    f: &CaseFilter,
    offset: usize,
    limit: Option<usize>,
) -> Result<(Vec<CaseSummary>, usize)> {
    let mut cond: Vec<String> = Vec::new();
    let mut params: Vec<crate::db::Value> = Vec::new();
    if let Some(grids) = &scope.grids {
        if grids.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut grids: Vec<&String> = grids.iter().collect();
        grids.sort();
        cond.push(format!("c.grid_id IN ({})", vec!["?"; grids.len()].join(", ")));
        params.extend(grids.into_iter().map(crate::db::Value::from));
    }
    if let Some(st) = f.state {
        cond.push("c.state = ?".into());
        params.push(st.code().into());
    }
    if let Some(g) = &f.grid_id {
        cond.push("c.grid_id = ?".into());
        params.push(g.into());
    }
    if let Some(cat) = f.category {
        cond.push("r.category = ?".into());
        params.push(cat.code().into());
    }
    if let Some(cid) = &f.community_id {
        cond.push("c.grid_id IN (SELECT id FROM grid WHERE community_id = ?)".into());
        params.push(cid.into());
    }
    if let Some(at) = f.overdue_at {
        cond.push(
            "c.deadline_ms IS NOT NULL AND c.deadline_ms < ? AND c.state NOT IN ('closed', 'followed_up', 'archived', 'rejected')"
                .into(),
        );
        params.push(at.into());
    }
    let filter = if cond.is_empty() { String::new() } else { format!(" WHERE {}", cond.join(" AND ")) };
    let from = format!("FROM case_file c LEFT JOIN report r ON r.id = c.report_id{filter}");
    let total = tx.query_i64(&format!("SELECT COUNT(*) {from}"), &params)?;
    let page = match limit {
        Some(n) => format!(" LIMIT {n} OFFSET {offset}"),
        None => String::new(),
    };
    let rows = tx.query(&format!("SELECT {CASE_COLUMNS} {from} ORDER BY c.created_ms DESC, c.id{page}"), &params)?;
    let cases = rows.iter().skip(if limit.is_none() { offset } else { 0 }).map(summary).collect::<Result<_>>()?;
    Ok((cases, usize::try_from(total).unwrap_or(0)))
}

pub async fn list_cases(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> Result<Json<Vec<CaseSummary>>> {
    let state = q.state.as_deref().map(|st| CaseState::parse("state", st)).transpose()?;
    let filter = CaseFilter { state, grid_id: q.grid_id, ..Default::default() };
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            Ok::<_, ApiError>(find_cases(tx, &scope, &filter, 0, None)?.0)
        })
        .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportOut {
    pub id: String,
    pub worker_id: String,
    pub category: String,
    pub urgency: String,
    pub lat: f64,
    pub lng: f64,
    pub place_name: Option<String>,
    pub description: String,
    pub people_involved: i64,
    pub photos: Vec<String>,
    pub occurred_at: String,
    pub received_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub clear: ClearItems,
    pub report: Option<ReportOut>,
    pub events: Vec<CaseEvent>,
}

pub async fn get_case(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseDetail>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let r = tx
                .query_opt(
                    &format!("SELECT {CASE_COLUMNS}, c.clear FROM case_file c LEFT JOIN report r ON r.id = c.report_id WHERE c.id = ?"),
                    p![&id],
                )?
                .ok_or_else(|| ApiError::not_found("case"))?;
            let summary = summary(&r)?;
            op.require_grid(tx, &summary.grid_id)?;
            let clear = r.json(10)?;
            let report = tx
                .query_opt(
                    "SELECT id, worker_id, category, urgency, lat, lng, place_name, description, people_involved,
                            effective_ms, received_ms FROM report WHERE id = ?",
                    p![&summary.report_id],
                )?
                .map(|r| -> Result<ReportOut> {
                    Ok(ReportOut {
                        id: r.text(0)?,
                        worker_id: r.text(1)?,
                        category: r.text(2)?,
                        urgency: r.text(3)?,
                        lat: r.f64(4)?,
                        lng: r.f64(5)?,
                        place_name: r.opt_text(6)?,
                        description: r.text(7)?,
                        people_involved: r.i64(8)?,
                        photos: Vec::new(),
                        occurred_at: local_time(r.i64(9)?),
                        received_at: local_time(r.i64(10)?),
                    })
                })
                .transpose()?;
            let report = match report {
                Some(mut rep) => {
                    rep.photos = tx
                        .query("SELECT sha256 FROM report_photo WHERE report_id = ? ORDER BY sha256", p![&rep.id])?
                        .iter()
                        .map(|r| r.text(0))
                        .collect::<crate::db::DbResult<_>>()?;
                    Some(rep)
                }
                None => None,
            };
            let events = case_events(tx, &id)?;
            Ok(CaseDetail { summary, clear, report, events })
        })
        .await?,
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseAction {
    Accept,
    Reject,
    Open,
    Dispatch,
    Verify,
    Close,
    Reopen,
    /// 归档: files a closed case; the ledger reference (台账) goes with it if not given yet.
    Archive,
}

impl CaseAction {
    /// The action that moves a case from `from` to `to`, when an operator can take that step.
    pub fn to(from: CaseState, to: CaseState) -> Option<CaseAction> {
        Some(match to {
            CaseState::Accepted => CaseAction::Accept,
            CaseState::Rejected => CaseAction::Reject,
            CaseState::Opened if from == CaseState::Closed => CaseAction::Reopen,
            CaseState::Opened => CaseAction::Open,
            CaseState::Dispatched => CaseAction::Dispatch,
            CaseState::Verified => CaseAction::Verify,
            CaseState::Closed => CaseAction::Close,
            CaseState::Archived => CaseAction::Archive,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            CaseAction::Accept => "accept",
            CaseAction::Reject => "reject",
            CaseAction::Open => "open",
            CaseAction::Dispatch => "dispatch",
            CaseAction::Verify => "verify",
            CaseAction::Close => "close",
            CaseAction::Reopen => "reopen",
            CaseAction::Archive => "archive",
        }
    }

    pub fn target(self) -> CaseState {
        match self {
            CaseAction::Accept => CaseState::Accepted,
            CaseAction::Reject => CaseState::Rejected,
            CaseAction::Open | CaseAction::Reopen => CaseState::Opened,
            CaseAction::Dispatch => CaseState::Dispatched,
            CaseAction::Verify => CaseState::Verified,
            CaseAction::Close => CaseState::Closed,
            CaseAction::Archive => CaseState::Archived,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    pub action: CaseAction,
    #[serde(default)]
    pub note: Option<String>,
    /// With `dispatch`: when the responsible unit must be done (starts the deadline clock).
    #[serde(default)]
    pub deadline: Option<DateTime<Utc>>,
    /// With `dispatch`: the responsible unit.
    #[serde(default)]
    pub responsible_unit: Option<String>,
    /// Any of the six clear items this step establishes.
    #[serde(default)]
    pub clear: ClearItems,
    #[serde(default)]
    pub photos: Vec<String>,
}

pub async fn act(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(i): JsonBody<ActionInput>,
) -> Result<Json<CaseSnapshot>> {
    let note = validate::optional_text("note", i.note.as_deref(), rules::MAX_NOTE_CHARS)?;
    let mut clear = i.clear.clone();
    if i.deadline.is_some() {
        clear.deadline = i.deadline;
    }
    if i.responsible_unit.is_some() {
        clear.responsible_unit = i.responsible_unit.clone();
    }
    let patch = rules::clear_items(&clear)?;
    rules::photos("photos", &i.photos)?;
    let to = i.action.target();
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let case = casework::lock_case(tx, &id)?.ok_or_else(|| ApiError::not_found("case"))?;
            op.require_grid(tx, &case.grid_id)?;
            let legal = case_flow::is_legal(case.state, to)
                && (i.action != CaseAction::Reopen || case.state == CaseState::Closed);
            if !legal {
                return Err(ApiError::conflict(format!(
                    "a case that is {} cannot go to {}",
                    case.state.label(),
                    to.label()
                )));
            }
            let (merged, patch) = match casework::step_requirements(tx, op.role.actor(), &case, to, &patch, &i.photos)?
            {
                Ok(v) => v,
                Err((codes::ROLE_NOT_ALLOWED, reason)) => {
                    return Err(ApiError::new(StatusCode::FORBIDDEN, codes::ROLE_NOT_ALLOWED, reason))
                }
                Err((_, reason)) => return Err(ApiError::bad_request(reason)),
            };
            let now = now_ms();
            let n = casework::next_case_n(tx, &id)?;
            let event = CaseEventRow {
                id: new_id(),
                case_id: &id,
                n,
                from: Some(case.state),
                to,
                actor_id: &op.id,
                actor_kind: "operator",
                at_ms: now,
                note,
                clear: serde_json::to_string(&patch).unwrap_or_default(),
                photos: serde_json::to_string(&i.photos).unwrap_or_default(),
                received_ms: now,
                effective_ms: now,
            };
            casework::move_case(tx, &id, &case, to, &merged, event)?;
            let mut changes = Changes::default();
            changes.case(&id, &case.grid_id);
            changes.flush(tx, now)?;
            audit(tx, &op.id, "case.act", &id)?;
            load_case(tx, &id)
        })
        .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConflictOut {
    pub id: String,
    pub kind: String,
    pub entity_id: String,
    pub grid_id: Option<String>,
    pub device_id: String,
    pub worker_id: String,
    pub mutation_id: String,
    pub reason: String,
    pub hq_state: String,
    pub resolution: String,
    pub payload: serde_json::Value,
    pub created_at: String,
}

pub async fn list_conflicts(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<ConflictOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let rows = tx.query(
                "SELECT id, kind, entity_id, grid_id, device_id, worker_id, mutation_id, reason, hq_state, resolution, payload,
                        created_ms FROM conflict ORDER BY created_ms DESC, id",
                p![],
            )?;
            let mut out = Vec::new();
            for r in rows {
                let grid_id = r.opt_text(3)?;
                let worker_id = r.text(5)?;
                let visible = match &grid_id {
                    Some(g) => scope.grid(g),
                    None => scope.any_grid(auth::worker_grids(tx, &worker_id)?.iter()),
                };
                if visible {
                    out.push(ConflictOut {
                        id: r.text(0)?,
                        kind: r.text(1)?,
                        entity_id: r.text(2)?,
                        grid_id,
                        device_id: r.text(4)?,
                        worker_id,
                        mutation_id: r.text(6)?,
                        reason: r.text(7)?,
                        hq_state: r.text(8)?,
                        resolution: r.text(9)?,
                        payload: serde_json::from_str(&r.text(10)?).unwrap_or(serde_json::Value::Null),
                        created_at: local_time(r.i64(11)?),
                    });
                }
            }
            Ok(out)
        })
        .await?,
    ))
}

/// A photo, for an operator whose scope covers a report or case step that references it.
pub async fn get_attachment(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(sha): ApiPath<String>,
) -> Result<Response> {
    rules::sha256("sha256", &sha)?;
    let target = sha.clone();
    let (op_id, bytes) =
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let mut grids: Vec<String> = tx
                .query(
                    "SELECT r.grid_id FROM report_photo rp JOIN report r ON r.id = rp.report_id WHERE rp.sha256 = ?",
                    p![&sha],
                )?
                .iter()
                .map(|r| r.text(0))
                .collect::<crate::db::DbResult<_>>()?;
            for r in tx.query(
                "SELECT c.grid_id FROM case_event e JOIN case_file c ON c.id = e.case_id WHERE e.photos LIKE ?",
                p![format!("%{sha}%")],
            )? {
                grids.push(r.text(0)?);
            }
            if grids.is_empty() {
                return Err(ApiError::not_found("photo"));
            }
            if !scope.any_grid(grids.iter()) {
                return Err(ApiError::forbidden("outside your area"));
            }
            let bytes = crate::model::photos::read_complete(tx, &sha)?
                .ok_or_else(|| ApiError::not_found("photo (not uploaded yet)"))?;
            Ok((op.id, bytes))
        })
        .await?;
    // Who saw which photo is in the trail, as exports are.
    s.db.write(move |tx| audit(tx, &op_id, "photo.view", &target)).await?;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, crate::model::photos::content_type(&bytes))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(bytes))
        .map_err(|e| ApiError::internal(format!("response: {e}")))
}
