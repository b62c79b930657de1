//! Units a task is routed to — justice office / people's mediation, urban management, market
//! regulation, lawyers, property companies — each serving some communities and with accounts
//! of its own (operators of role `unit`, which see only their unit's tasks).

use axum::extract::State;
use axum::Json;
use gridpatrol_protocol::domain::UnitKind;
use gridpatrol_protocol::{rules, validate};
use serde::{Deserialize, Serialize};

use super::{audit, Created, Save};
use crate::auth::{self, Operator, Role};
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{ApiPath, AppState, Bearer, JsonBody};
use crate::{new_id, now_ms, p};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    /// Optional: HQ makes one when absent.
    #[serde(default)]
    pub id: Option<String>,
    pub kind: UnitKind,
    pub name: String,
    /// A duty phone or contact person, for the offices.
    #[serde(default)]
    pub contact: Option<String>,
    /// The communities the unit serves (at least one).
    pub community_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitOut {
    pub id: String,
    pub kind: UnitKind,
    pub kind_label: String,
    pub name: String,
    pub contact: Option<String>,
    pub community_ids: Vec<String>,
}

/// Add a unit: the street admin, or a community's office for units serving only its communities.
pub async fn create_unit(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(i): JsonBody<UnitInput>,
) -> Result<Created<UnitOut>> {
    check_unit(&i)?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_unit(tx, &op, i, Save::Create)
        })
        .await?,
    ))
}

/// Change a unit's kind, name, contact or communities (the offices that may add it, for the
/// communities it served and serves).
pub async fn update_unit(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(i): JsonBody<UnitInput>,
) -> Result<Json<UnitOut>> {
    if i.id.as_ref().is_some_and(|x| *x != id) {
        return Err(ApiError::invalid("id", "differs from the unit's id in the path"));
    }
    let i = UnitInput { id: Some(id), ..i };
    check_unit(&i)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_unit(tx, &op, i, Save::Update)
        })
        .await?,
    ))
}

fn check_unit(i: &UnitInput) -> Result<(String, Option<String>)> {
    if let Some(id) = &i.id {
        validate::id("id", id)?;
    }
    let name = validate::required_text("name", &i.name, rules::MAX_AREA_NAME_CHARS)?;
    let contact = validate::optional_text("contact", i.contact.as_deref(), rules::MAX_LABEL_CHARS)?;
    if i.community_ids.is_empty() {
        return Err(ApiError::invalid("community_ids", "name the communities the unit serves"));
    }
    for (n, c) in i.community_ids.iter().enumerate() {
        validate::id(&format!("community_ids[{n}]"), c)?;
    }
    Ok((name, contact))
}

/// The rules of adding and changing a unit, shared by the API and the console's import.
pub fn save_unit(tx: &mut dyn Tx, op: &Operator, i: UnitInput, mode: Save) -> Result<UnitOut> {
    let (name, contact) = check_unit(&i)?;
    let id = i.id.clone().unwrap_or_else(new_id);
    op.require_manager()?;
    for (n, c) in i.community_ids.iter().enumerate() {
        if tx.query_opt("SELECT 1 FROM community WHERE id = ?", p![c])?.is_none() {
            return Err(ApiError::invalid(format!("community_ids[{n}]"), "no such community"));
        }
        op.require_community(c)?;
    }
    let old = tx.query_opt("SELECT community_ids FROM unit WHERE id = ?", p![&id])?;
    if mode == Save::Update && old.is_none() {
        return Err(ApiError::not_found("unit"));
    }
    if let Some(r) = old.as_ref().filter(|_| mode != Save::Create) {
        // A unit is changed only by an office that has every community it serves.
        let served: Vec<String> = r.json(0)?;
        for c in &served {
            op.require_community(c)?;
        }
    }
    let update = mode.resolve(old.is_some(), "unit")?;
    let now = now_ms();
    let communities = serde_json::to_string(&i.community_ids).unwrap_or_default();
    if update {
        tx.exec(
            "UPDATE unit SET kind = ?, name = ?, contact = ?, community_ids = ?, updated_ms = ? WHERE id = ?",
            p![i.kind.code(), &name, &contact, communities, now, &id],
        )?;
    } else {
        let n = tx.exec(
            "INSERT INTO unit (id, kind, name, contact, community_ids, created_ms, updated_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            p![&id, i.kind.code(), &name, &contact, communities, now, now],
        )?;
        if n == 0 {
            return Err(ApiError::conflict("a unit with this id already exists"));
        }
    }
    audit(tx, &op.id, if update { "unit.update" } else { "unit.create" }, &id)?;
    Ok(UnitOut { kind_label: i.kind.label(), id, kind: i.kind, name, contact, community_ids: i.community_ids })
}

/// The units an account may see: all (street admin), those serving the operator's
/// communities (community office, grid leader), its own (a unit's account).
pub async fn list_units(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<UnitOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let mut out = Vec::new();
            for r in tx.query("SELECT id, kind, name, contact, community_ids FROM unit ORDER BY name, id", p![])? {
                let id = r.text(0)?;
                let community_ids: Vec<String> = r.json(4)?;
                let visible = match op.role {
                    Role::Unit => op.unit() == Some(id.as_str()),
                    _ => {
                        let scope = op.scope(tx)?;
                        community_ids.iter().any(|c| scope.community(c))
                    }
                };
                if !visible {
                    continue;
                }
                let kind = UnitKind::from_code(&r.text(1)?).ok_or_else(|| ApiError::internal("unit kind"))?;
                out.push(UnitOut {
                    id,
                    kind,
                    kind_label: kind.label(),
                    name: r.text(2)?,
                    contact: r.opt_text(3)?,
                    community_ids,
                });
            }
            Ok(out)
        })
        .await?,
    ))
}
