//! The street's organisation: street, communities, grids (GeoJSON boundaries), workers and
//! their grids, households, checklist templates, and a bulk import of a whole `GridConfig`.
//! Every change that a phone's reference snapshot shows bumps the affected workers' version.

use std::collections::HashSet;

use axum::extract::State;
use axum::Json;
use gridpatrol_protocol::config::{Community, GridConfig, Household, Street};
use gridpatrol_protocol::domain::{mask_phone, CareTag, WorkerRole};
use gridpatrol_protocol::geo::{self, Ring};
use gridpatrol_protocol::template::Template;
use gridpatrol_protocol::{rules, validate, InvalidValue};
use serde::{Deserialize, Serialize};

use super::{audit, Created, Save};
use crate::auth::{self, Operator};
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{ApiPath, ApiQuery, AppState, Bearer, JsonBody};
use crate::reference::{self, ACTIVE_TEMPLATE_KEY, HOUSEHOLD_COLUMNS, STREET_KEY};
use crate::{now_ms, p};

// ---------- street ----------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreetInput {
    pub code: String,
    pub name: String,
}

pub async fn get_street(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Street>> {
    Ok(Json(
        s.db.read(move |tx| {
            auth::operator(tx, bearer.as_deref())?;
            reference::street(tx)
        })
        .await?,
    ))
}

pub async fn put_street(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(input): JsonBody<StreetInput>,
) -> Result<Json<Street>> {
    let street = Street {
        code: validate::area_code("code", &input.code, 9)?,
        name: validate::required_text("name", &input.name, rules::MAX_AREA_NAME_CHARS)?,
    };
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            op.require_admin()?;
            set_street(tx, &street)?;
            audit(tx, &op.id, "street.update", &street.code)?;
            Ok(street)
        })
        .await?,
    ))
}

fn set_street(tx: &mut dyn Tx, street: &Street) -> Result<()> {
    let current = reference::street(tx)?;
    if current.code != street.code {
        let clash =
            tx.query_i64("SELECT COUNT(*) FROM community WHERE code NOT LIKE ?", p![format!("{}%", street.code)])?;
        if clash > 0 {
            return Err(ApiError::conflict(
                "communities exist under the old street code; their codes must start with the street's",
            ));
        }
    }
    reference::set_setting(tx, STREET_KEY, &serde_json::to_string(street).unwrap_or_default())?;
    reference::bump_all(tx)
}

// ---------- communities ----------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityInput {
    pub id: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityUpdate {
    pub code: String,
    pub name: String,
}

fn check_community(tx: &mut dyn Tx, c: &Community) -> Result<()> {
    validate::id("id", &c.id)?;
    validate::area_code("code", &c.code, 12)?;
    validate::required_text("name", &c.name, rules::MAX_AREA_NAME_CHARS)?;
    let street = reference::street(tx)?;
    if !c.code.starts_with(&street.code) {
        return Err(ApiError::invalid("code", "must start with the street's code"));
    }
    Ok(())
}

pub async fn list_communities(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<Community>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let all = tx
                .query("SELECT id, code, name FROM community ORDER BY code", p![])?
                .iter()
                .map(|r| Ok(Community { id: r.text(0)?, code: r.text(1)?, name: r.text(2)? }))
                .collect::<Result<Vec<_>>>()?;
            Ok(all.into_iter().filter(|c| scope.community(&c.id)).collect())
        })
        .await?,
    ))
}

pub async fn create_community(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(input): JsonBody<CommunityInput>,
) -> Result<Created<Community>> {
    let c = Community { id: input.id, code: input.code, name: input.name };
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_community(tx, &op, c, Save::Create)
        })
        .await?,
    ))
}

/// Add or change a community (street admin): the rules of create and update, shared by the
/// console's import.
pub fn save_community(tx: &mut dyn Tx, op: &Operator, c: Community, mode: Save) -> Result<Community> {
    let c = Community { name: c.name.trim().to_string(), ..c };
    op.require_admin()?;
    let exists = tx.query_opt("SELECT 1 FROM community WHERE id = ?", p![&c.id])?.is_some();
    if mode == Save::Update && !exists {
        return Err(ApiError::not_found("community"));
    }
    check_community(tx, &c)?;
    let update = mode.resolve(exists, "community")?;
    upsert_community(tx, &c, update)?;
    audit(tx, &op.id, if update { "community.update" } else { "community.create" }, &c.id)?;
    Ok(c)
}

pub async fn update_community(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(input): JsonBody<CommunityUpdate>,
) -> Result<Json<Community>> {
    let c = Community { id, code: input.code, name: input.name };
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_community(tx, &op, c, Save::Update)
        })
        .await?,
    ))
}

fn code_taken(tx: &mut dyn Tx, table: &str, code: &str, id: &str) -> Result<()> {
    let other = tx.query_opt(&format!("SELECT id FROM {table} WHERE code = ? AND id <> ?"), p![code, id])?;
    if other.is_some() {
        return Err(ApiError::conflict("another record already has this area code"));
    }
    Ok(())
}

fn upsert_community(tx: &mut dyn Tx, c: &Community, update: bool) -> Result<()> {
    code_taken(tx, "community", &c.code, &c.id)?;
    let now = now_ms();
    if update {
        tx.exec(
            "UPDATE community SET code = ?, name = ?, updated_ms = ? WHERE id = ?",
            p![&c.code, &c.name, now, &c.id],
        )?;
    } else {
        let n = tx.exec(
            "INSERT INTO community (id, code, name, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
            p![&c.id, &c.code, &c.name, now, now],
        )?;
        if n == 0 {
            return Err(ApiError::conflict("a community with this id already exists"));
        }
    }
    // Every phone lists the street's communities.
    reference::bump_all(tx)
}

// ---------- grids ----------

/// A GeoJSON Polygon; its outer ring becomes the grid boundary.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoJsonPolygon {
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: Vec<Vec<[f64; 2]>>,
}

impl GeoJsonPolygon {
    pub fn to_ring(&self) -> Result<Ring> {
        if self.kind != "Polygon" {
            return Err(ApiError::invalid("boundary.type", "must be \"Polygon\""));
        }
        let mut ring = self
            .coordinates
            .first()
            .cloned()
            .ok_or_else(|| ApiError::invalid("boundary.coordinates", "needs an outer ring"))?;
        // GeoJSON closes rings by repeating the first point; grid rings are stored open.
        if ring.len() > 3 && ring.first() == ring.last() {
            ring.pop();
        }
        geo::validate_ring("boundary", &ring)?;
        Ok(ring)
    }

    pub fn from_ring(ring: &Ring) -> GeoJsonPolygon {
        let mut closed = ring.clone();
        if let Some(first) = ring.first() {
            closed.push(*first);
        }
        GeoJsonPolygon { kind: "Polygon".into(), coordinates: vec![closed] }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridInput {
    pub id: String,
    pub code: String,
    pub community_id: String,
    pub name: String,
    pub boundary: GeoJsonPolygon,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridUpdate {
    pub code: String,
    pub community_id: String,
    pub name: String,
    pub boundary: GeoJsonPolygon,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GridOut {
    pub id: String,
    pub code: String,
    pub community_id: String,
    pub name: String,
    pub boundary: GeoJsonPolygon,
}

struct GridRow {
    id: String,
    code: String,
    community_id: String,
    name: String,
    ring: Ring,
}

impl From<GridRow> for GridOut {
    fn from(g: GridRow) -> GridOut {
        GridOut {
            boundary: GeoJsonPolygon::from_ring(&g.ring),
            id: g.id,
            code: g.code,
            community_id: g.community_id,
            name: g.name,
        }
    }
}

fn check_grid(tx: &mut dyn Tx, g: &GridRow) -> Result<()> {
    validate::id("id", &g.id)?;
    validate::area_code("code", &g.code, 15)?;
    validate::required_text("name", &g.name, rules::MAX_AREA_NAME_CHARS)?;
    let community = tx
        .query_opt("SELECT code FROM community WHERE id = ?", p![&g.community_id])?
        .ok_or_else(|| ApiError::invalid("community_id", "no such community"))?
        .text(0)?;
    if !g.code.starts_with(&community) {
        return Err(ApiError::invalid("code", "must start with the community's code"));
    }
    Ok(())
}

fn write_grid(tx: &mut dyn Tx, g: &GridRow, update: bool) -> Result<()> {
    code_taken(tx, "grid", &g.code, &g.id)?;
    let now = now_ms();
    let boundary = serde_json::to_string(&g.ring).unwrap_or_default();
    if update {
        tx.exec(
            "UPDATE grid SET code = ?, community_id = ?, name = ?, boundary = ?, updated_ms = ? WHERE id = ?",
            p![&g.code, &g.community_id, &g.name, boundary, now, &g.id],
        )?;
    } else {
        let n = tx.exec(
            "INSERT INTO grid (id, code, community_id, name, boundary, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
            p![&g.id, &g.code, &g.community_id, &g.name, boundary, now, now],
        )?;
        if n == 0 {
            return Err(ApiError::conflict("a grid with this id already exists"));
        }
    }
    // Every phone lists the street's grids (and checks boundaries of its own).
    reference::bump_all(tx)
}

pub async fn list_grids(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<GridOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let rows = tx.query("SELECT id, code, community_id, name, boundary FROM grid ORDER BY code", p![])?;
            let mut out = Vec::new();
            for r in rows {
                let g = reference::load_grid(&r)?;
                if scope.grid(&g.id) {
                    out.push(GridOut {
                        boundary: GeoJsonPolygon::from_ring(&g.boundary),
                        id: g.id,
                        code: g.code,
                        community_id: g.community_id,
                        name: g.name,
                    });
                }
            }
            Ok(out)
        })
        .await?,
    ))
}

pub async fn create_grid(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(input): JsonBody<GridInput>,
) -> Result<Created<GridOut>> {
    input.boundary.to_ring()?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_grid(tx, &op, input, Save::Create)
        })
        .await?,
    ))
}

/// Add or change a grid (its community's office or the street admin; a grid moves only between
/// communities the operator has): shared by the API and the console's import.
pub fn save_grid(tx: &mut dyn Tx, op: &Operator, input: GridInput, mode: Save) -> Result<GridOut> {
    let ring = input.boundary.to_ring()?;
    let g = GridRow {
        id: input.id,
        code: input.code,
        community_id: input.community_id,
        name: input.name.trim().into(),
        ring,
    };
    let old = match tx.query_opt("SELECT community_id FROM grid WHERE id = ?", p![&g.id])? {
        Some(r) => Some(r.text(0)?),
        None => None,
    };
    if mode == Save::Update && old.is_none() {
        return Err(ApiError::not_found("grid"));
    }
    if let Some(old) = old.as_ref().filter(|_| mode != Save::Create) {
        op.require_community(old)?;
    }
    op.require_community(&g.community_id)?;
    check_grid(tx, &g)?;
    let update = mode.resolve(old.is_some(), "grid")?;
    write_grid(tx, &g, update)?;
    audit(tx, &op.id, if update { "grid.update" } else { "grid.create" }, &g.id)?;
    Ok(GridOut::from(g))
}

pub async fn update_grid(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(input): JsonBody<GridUpdate>,
) -> Result<Json<GridOut>> {
    input.boundary.to_ring()?;
    let g = GridInput {
        id,
        code: input.code,
        community_id: input.community_id,
        name: input.name,
        boundary: input.boundary,
    };
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_grid(tx, &op, g, Save::Update)
        })
        .await?,
    ))
}

// ---------- workers ----------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerInput {
    pub id: String,
    pub name: String,
    pub role: WorkerRole,
    #[serde(default)]
    pub grid_ids: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerUpdate {
    pub name: String,
    pub role: WorkerRole,
    pub grid_ids: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerOut {
    pub id: String,
    pub name: String,
    pub role: WorkerRole,
    pub role_label: String,
    pub grid_ids: Vec<String>,
    pub reference_version: i64,
}

fn load_worker(tx: &mut dyn Tx, id: &str) -> Result<Option<WorkerOut>> {
    let Some(r) = tx.query_opt("SELECT id, name, role, ref_version FROM worker WHERE id = ?", p![id])? else {
        return Ok(None);
    };
    let role = WorkerRole::from_code(&r.text(2)?).ok_or_else(|| ApiError::internal("worker role"))?;
    Ok(Some(WorkerOut {
        grid_ids: auth::worker_grids(tx, id)?,
        id: r.text(0)?,
        name: r.text(1)?,
        role_label: role.label(),
        role,
        reference_version: r.i64(3)?,
    }))
}

fn check_worker_grids(tx: &mut dyn Tx, grid_ids: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, g) in grid_ids.iter().enumerate() {
        if tx.query_opt("SELECT 1 FROM grid WHERE id = ?", p![g])?.is_none() {
            return Err(ApiError::invalid(format!("grid_ids[{i}]"), "no such grid"));
        }
        if !out.contains(g) {
            out.push(g.clone());
        }
    }
    Ok(out)
}

/// Non-admins may add or remove only grids inside their own scope.
fn check_grid_change(tx: &mut dyn Tx, op: &Operator, old: &[String], new: &[String]) -> Result<()> {
    op.require_manager()?;
    if op.role == auth::Role::StreetAdmin {
        return Ok(());
    }
    let scope = op.scope(tx)?;
    let changed = old.iter().filter(|g| !new.contains(g)).chain(new.iter().filter(|g| !old.contains(g)));
    for g in changed {
        if !scope.grid(g) {
            return Err(ApiError::forbidden("outside your area"));
        }
    }
    if new.is_empty() && old.is_empty() {
        return Err(ApiError::forbidden("only the street admin may keep workers without a grid"));
    }
    Ok(())
}

fn set_worker_grids(tx: &mut dyn Tx, worker_id: &str, grids: &[String]) -> Result<()> {
    tx.exec("DELETE FROM worker_grid WHERE worker_id = ?", p![worker_id])?;
    for g in grids {
        tx.exec("INSERT INTO worker_grid (worker_id, grid_id) VALUES (?, ?)", p![worker_id, g])?;
    }
    Ok(())
}

pub async fn list_workers(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<WorkerOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let ids = tx.query("SELECT id FROM worker ORDER BY id", p![])?;
            let mut out = Vec::new();
            for r in ids {
                if let Some(w) = load_worker(tx, &r.text(0)?)? {
                    if scope.any_grid(w.grid_ids.iter()) {
                        out.push(w);
                    }
                }
            }
            Ok(out)
        })
        .await?,
    ))
}

pub async fn create_worker(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(input): JsonBody<WorkerInput>,
) -> Result<Created<WorkerOut>> {
    validate::id("id", &input.id)?;
    validate::required_text("name", &input.name, rules::MAX_PERSON_NAME_CHARS)?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_worker(tx, &op, input, Save::Create)
        })
        .await?,
    ))
}

pub async fn update_worker(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(input): JsonBody<WorkerUpdate>,
) -> Result<Json<WorkerOut>> {
    validate::required_text("name", &input.name, rules::MAX_PERSON_NAME_CHARS)?;
    let w = WorkerInput { id, name: input.name, role: input.role, grid_ids: input.grid_ids };
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_worker(tx, &op, w, Save::Update)
        })
        .await?,
    ))
}

/// Add or change a grid worker and their grids (a manager, for grids in their area): shared by
/// the API and the console's import.
pub fn save_worker(tx: &mut dyn Tx, op: &Operator, input: WorkerInput, mode: Save) -> Result<WorkerOut> {
    validate::id("id", &input.id)?;
    let name = validate::required_text("name", &input.name, rules::MAX_PERSON_NAME_CHARS)?;
    let id = input.id;
    let old = load_worker(tx, &id)?;
    if mode == Save::Update && old.is_none() {
        return Err(ApiError::not_found("worker"));
    }
    let old_grids = match old.as_ref().filter(|_| mode != Save::Create) {
        Some(o) => {
            op.require_worker(tx, &id)?;
            o.grid_ids.clone()
        }
        None => Vec::new(),
    };
    let grids = check_worker_grids(tx, &input.grid_ids)?;
    check_grid_change(tx, op, &old_grids, &grids)?;
    let update = mode.resolve(old.is_some(), "worker")?;
    let now = now_ms();
    if update {
        tx.exec(
            "UPDATE worker SET name = ?, role = ?, updated_ms = ? WHERE id = ?",
            p![name, input.role.code(), now, &id],
        )?;
    } else {
        let n = tx.exec(
            "INSERT INTO worker (id, name, role, ref_version, created_ms, updated_ms) VALUES (?, ?, ?, 0, ?, ?)
             ON CONFLICT (id) DO NOTHING",
            p![&id, name, input.role.code(), now, now],
        )?;
        if n == 0 {
            return Err(ApiError::conflict("a worker with this id already exists"));
        }
    }
    set_worker_grids(tx, &id, &grids)?;
    // This worker's phone gets a new snapshot (and purges grids it lost).
    reference::bump_workers(tx, std::slice::from_ref(&id))?;
    audit(tx, &op.id, if update { "worker.update" } else { "worker.create" }, &id)?;
    load_worker(tx, &id)?.ok_or_else(|| ApiError::internal("worker vanished"))
}

// ---------- households ----------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdInput {
    pub id: String,
    pub grid_id: String,
    pub label: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub care_tags: Vec<CareTag>,
    #[serde(default)]
    pub must_visit: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdUpdate {
    pub grid_id: String,
    pub label: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub care_tags: Vec<CareTag>,
    #[serde(default)]
    pub must_visit: Option<bool>,
}

/// A household as the street office lists it: the phone masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdOut {
    pub id: String,
    pub grid_id: String,
    pub label: String,
    pub name: String,
    pub phone_masked: Option<String>,
    pub care_tags: Vec<CareTag>,
    pub must_visit: bool,
}

fn check_household(h: &Household) -> Result<(), InvalidValue> {
    validate::id("id", &h.id)?;
    validate::id("grid_id", &h.grid_id)?;
    validate::required_text("label", &h.label, rules::MAX_LABEL_CHARS)?;
    validate::required_text("name", &h.name, rules::MAX_PERSON_NAME_CHARS)?;
    if let Some(p) = &h.phone {
        if p.len() < 5 || p.len() > 20 || !p.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-') {
            return Err(InvalidValue::new("phone", "must be 5..20 digits"));
        }
    }
    Ok(())
}

fn write_household(tx: &mut dyn Tx, h: &Household, old_grid: Option<&str>) -> Result<()> {
    if tx.query_opt("SELECT 1 FROM grid WHERE id = ?", p![&h.grid_id])?.is_none() {
        return Err(ApiError::invalid("grid_id", "no such grid"));
    }
    let tags: Vec<&str> = h.care_tags.iter().map(|t| t.code()).collect();
    let tags = serde_json::to_string(&tags).unwrap_or_default();
    let now = now_ms();
    if old_grid.is_some() {
        tx.exec(
            "UPDATE household SET grid_id = ?, label = ?, name = ?, phone = ?, care_tags = ?, must_visit = ?, updated_ms = ?
             WHERE id = ?",
            p![&h.grid_id, h.label.trim(), h.name.trim(), &h.phone, tags, h.is_must_visit(), now, &h.id],
        )?;
    } else {
        let n = tx.exec(
            "INSERT INTO household (id, grid_id, label, name, phone, care_tags, must_visit, created_ms, updated_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            p![&h.id, &h.grid_id, h.label.trim(), h.name.trim(), &h.phone, tags, h.is_must_visit(), now, now],
        )?;
        if n == 0 {
            return Err(ApiError::conflict("a household with this id already exists"));
        }
    }
    let mut grids = vec![h.grid_id.as_str()];
    if let Some(g) = old_grid.filter(|g| *g != h.grid_id) {
        grids.push(g);
    }
    reference::bump_grids(tx, &grids)
}

fn household_out(h: Household) -> HouseholdOut {
    HouseholdOut {
        must_visit: h.is_must_visit(),
        phone_masked: h.phone.as_deref().map(mask_phone),
        id: h.id,
        grid_id: h.grid_id,
        label: h.label,
        name: h.name,
        care_tags: h.care_tags,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HouseholdQuery {
    pub grid_id: Option<String>,
}

pub async fn list_households(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<HouseholdQuery>,
) -> Result<Json<Vec<HouseholdOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let rows =
                tx.query(&format!("SELECT {HOUSEHOLD_COLUMNS} FROM household h ORDER BY h.grid_id, h.id"), p![])?;
            let mut out = Vec::new();
            for r in rows {
                let h = reference::load_household(&r)?;
                if scope.grid(&h.grid_id) && q.grid_id.as_ref().is_none_or(|g| *g == h.grid_id) {
                    out.push(household_out(h));
                }
            }
            Ok(out)
        })
        .await?,
    ))
}

pub async fn create_household(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(i): JsonBody<HouseholdInput>,
) -> Result<Created<HouseholdOut>> {
    let h = Household {
        id: i.id,
        grid_id: i.grid_id,
        label: i.label,
        name: i.name,
        phone: i.phone,
        care_tags: i.care_tags,
        must_visit: i.must_visit,
    };
    check_household(&h)?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_household(tx, &op, h, Save::Create, false)
        })
        .await?,
    ))
}

pub async fn update_household(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
    JsonBody(i): JsonBody<HouseholdUpdate>,
) -> Result<Json<HouseholdOut>> {
    let h = Household {
        id,
        grid_id: i.grid_id,
        label: i.label,
        name: i.name,
        phone: i.phone,
        care_tags: i.care_tags,
        must_visit: i.must_visit,
    };
    check_household(&h)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_household(tx, &op, h, Save::Update, false)
        })
        .await?,
    ))
}

/// Add or change a household (for grids in the operator's area): shared by the API and the
/// console. `keep_phone`: an update without a number keeps the stored one (the console shows
/// phones masked, so its forms and exports never carry the full number back).
pub fn save_household(
    tx: &mut dyn Tx,
    op: &Operator,
    mut h: Household,
    mode: Save,
    keep_phone: bool,
) -> Result<HouseholdOut> {
    check_household(&h)?;
    let old = match tx.query_opt("SELECT grid_id, phone FROM household WHERE id = ?", p![&h.id])? {
        Some(r) => Some((r.text(0)?, r.opt_text(1)?)),
        None => None,
    };
    if mode == Save::Update && old.is_none() {
        return Err(ApiError::not_found("household"));
    }
    if let Some((g, _)) = old.as_ref().filter(|_| mode != Save::Create) {
        op.require_grid(tx, g)?;
    }
    op.require_grid(tx, &h.grid_id)?;
    let update = mode.resolve(old.is_some(), "household")?;
    let old_grid = match old {
        Some((g, phone)) if update => {
            if keep_phone && h.phone.is_none() {
                h.phone = phone;
            }
            Some(g)
        }
        _ => None,
    };
    write_household(tx, &h, old_grid.as_deref())?;
    audit(tx, &op.id, if update { "household.update" } else { "household.create" }, &h.id)?;
    Ok(household_out(h))
}

// ---------- templates ----------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateOut {
    pub id: String,
    pub version: u32,
    pub name: String,
    pub is_default: bool,
    pub active: bool,
    pub published_at: String,
    pub template: Template,
}

pub async fn list_templates(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<TemplateOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            auth::operator(tx, bearer.as_deref())?;
            let active = reference::active_template(tx)?;
            tx.query("SELECT body, published_ms FROM template ORDER BY id, version", p![])?
                .iter()
                .map(|r| {
                    let t: Template = r.json(0)?;
                    Ok(TemplateOut {
                        id: t.id.clone(),
                        version: t.version,
                        name: t.name.clone(),
                        is_default: t.is_default,
                        active: t.id == active.id && t.version == active.version,
                        published_at: super::local_time(r.i64(1)?),
                        template: t,
                    })
                })
                .collect()
        })
        .await?,
    ))
}

pub async fn publish_template(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(t): JsonBody<Template>,
) -> Result<Created<Template>> {
    t.validate()?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            op.require_admin()?;
            publish(tx, &t, &op.id)?;
            Ok(t)
        })
        .await?,
    ))
}

fn publish(tx: &mut dyn Tx, t: &Template, by: &str) -> Result<()> {
    let max = tx
        .query_opt("SELECT MAX(version) FROM template WHERE id = ?", p![&t.id])?
        .and_then(|r| r.opt_i64(0).ok().flatten());
    if max.is_some_and(|m| i64::from(t.version) <= m) {
        return Err(ApiError::conflict("publish a higher version: earlier versions stay as they were"));
    }
    tx.exec(
        "INSERT INTO template (id, version, body, published_ms, published_by) VALUES (?, ?, ?, ?, ?)",
        p![&t.id, t.version, serde_json::to_string(t).unwrap_or_default(), now_ms(), by],
    )?;
    reference::set_setting(tx, ACTIVE_TEMPLATE_KEY, &serde_json::to_string(&(&t.id, t.version)).unwrap_or_default())?;
    reference::bump_all(tx)?;
    audit(tx, by, "template.publish", &format!("{}:{}", t.id, t.version))
}

// ---------- import ----------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub communities: usize,
    pub grids: usize,
    pub workers: usize,
    pub households: usize,
    pub teams: usize,
    pub buildings: usize,
    /// Tasks in the file dispatched now; ones already at HQ (same id) are left as they are.
    pub tasks: usize,
    pub tasks_already_dispatched: usize,
    pub template: bool,
}

/// Set up (or update) the whole street from one `GridConfig` in one transaction: street,
/// communities, grids, workers with their grids, households, the template if newer, and the
/// tasks in the file (dispatched to their assignees). Nothing in the file is dropped: what
/// cannot be kept refuses the whole import, naming the field.
pub async fn import(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(c): JsonBody<GridConfig>,
) -> Result<Json<ImportSummary>> {
    c.validate()?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            op.require_admin()?;
            let now = now_ms();
            set_street(tx, &c.street)?;
            for x in &c.communities {
                code_taken(tx, "community", &x.code, &x.id)?;
                tx.exec(
                    "INSERT INTO community (id, code, name, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (id) DO UPDATE SET code = excluded.code, name = excluded.name, updated_ms = excluded.updated_ms",
                    p![&x.id, &x.code, &x.name, now, now],
                )?;
            }
            for g in &c.grids {
                code_taken(tx, "grid", &g.code, &g.id)?;
                tx.exec(
                    "INSERT INTO grid (id, code, community_id, name, boundary, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (id) DO UPDATE SET code = excluded.code, community_id = excluded.community_id,
                         name = excluded.name, boundary = excluded.boundary, updated_ms = excluded.updated_ms",
                    p![&g.id, &g.code, &g.community_id, &g.name, serde_json::to_string(&g.boundary).unwrap_or_default(), now, now],
                )?;
            }
            let known: HashSet<String> =
                tx.query("SELECT id FROM grid", p![])?.iter().map(|r| r.text(0)).collect::<crate::db::DbResult<_>>()?;
            for w in &c.workers {
                if let Some(g) = w.grid_ids.iter().find(|g| !known.contains(*g)) {
                    return Err(ApiError::invalid("workers.grid_ids", format!("no such grid {g}")));
                }
                tx.exec(
                    "INSERT INTO worker (id, name, role, ref_version, created_ms, updated_ms) VALUES (?, ?, ?, 0, ?, ?)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, updated_ms = excluded.updated_ms",
                    p![&w.id, &w.name, w.role.code(), now, now],
                )?;
                set_worker_grids(tx, &w.id, &w.grid_ids)?;
            }
            for h in &c.households {
                let tags: Vec<&str> = h.care_tags.iter().map(|t| t.code()).collect();
                tx.exec(
                    "INSERT INTO household (id, grid_id, label, name, phone, care_tags, must_visit, created_ms, updated_ms)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (id) DO UPDATE SET grid_id = excluded.grid_id, label = excluded.label, name = excluded.name,
                         phone = excluded.phone, care_tags = excluded.care_tags, must_visit = excluded.must_visit,
                         updated_ms = excluded.updated_ms",
                    p![&h.id, &h.grid_id, &h.label, &h.name, &h.phone, serde_json::to_string(&tags).unwrap_or_default(),
                       h.is_must_visit(), now, now],
                )?;
            }
            for t in &c.teams {
                tx.exec(
                    "INSERT INTO team (id, name, community_id, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, community_id = excluded.community_id,
                         updated_ms = excluded.updated_ms",
                    p![&t.id, &t.name, &t.community_id, now, now],
                )?;
                super::teams::set_team_members(tx, &t.id, &t.member_ids)?;
            }
            for b in &c.buildings {
                tx.exec(
                    "INSERT INTO building (id, grid_id, name, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (id) DO UPDATE SET grid_id = excluded.grid_id, name = excluded.name,
                         updated_ms = excluded.updated_ms",
                    p![&b.id, &b.grid_id, &b.name, now, now],
                )?;
            }
            let (mut tasks, mut tasks_already) = (0, 0);
            for (i, t) in c.tasks.iter().enumerate() {
                if let Some(a) = &t.assignee_id {
                    super::tasks::check_assignee(tx, a, t.grid_id.as_deref())
                        .map_err(|e| e.within(&format!("tasks[{i}]")))?;
                }
                if super::tasks::insert_task(tx, t, &op.id, now).map_err(|e| e.within(&format!("tasks[{i}]")))? {
                    tasks += 1;
                } else {
                    tasks_already += 1;
                }
            }
            let mut template = false;
            if let Some(t) = &c.template {
                let have = tx.query_opt("SELECT MAX(version) FROM template WHERE id = ?", p![&t.id])?.and_then(|r| r.opt_i64(0).ok().flatten());
                if have.is_none_or(|v| i64::from(t.version) > v) {
                    publish(tx, t, &op.id)?;
                    template = true;
                }
            }
            reference::bump_all(tx)?;
            audit(tx, &op.id, "import", &c.street.code)?;
            Ok(ImportSummary {
                communities: c.communities.len(),
                grids: c.grids.len(),
                workers: c.workers.len(),
                households: c.households.len(),
                teams: c.teams.len(),
                buildings: c.buildings.len(),
                tasks,
                tasks_already_dispatched: tasks_already,
                template,
            })
        })
        .await?,
    ))
}
