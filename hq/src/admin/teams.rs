//! Organisation beyond grids: a community's volunteer teams (志愿服务队; a worker belongs to one
//! at most, and figures can be read per team) and the buildings (楼栋) under each grid.

use axum::extract::State;
use axum::Json;
use gridpatrol_protocol::config::{Building, Team};
use gridpatrol_protocol::{rules, validate};
use serde::Deserialize;

use super::{audit, Created};
use crate::auth::{self, Operator};
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::http::{ApiQuery, AppState, Bearer, JsonBody};
use crate::{now_ms, p};

/// Replace a team's members; a worker named here leaves any other team.
pub fn set_team_members(tx: &mut dyn Tx, team_id: &str, members: &[String]) -> Result<()> {
    tx.exec("DELETE FROM team_member WHERE team_id = ?", p![team_id])?;
    for m in members {
        if tx.query_opt("SELECT 1 FROM worker WHERE id = ?", p![m])?.is_none() {
            return Err(ApiError::invalid("member_ids", format!("no such worker {m}")));
        }
        tx.exec("DELETE FROM team_member WHERE worker_id = ?", p![m])?;
        tx.exec("INSERT INTO team_member (worker_id, team_id) VALUES (?, ?)", p![m, team_id])?;
    }
    Ok(())
}

/// The members of each team: (team id, name, community id, member ids).
pub fn teams(tx: &mut dyn Tx) -> Result<Vec<Team>> {
    let mut out = Vec::new();
    for r in tx.query("SELECT id, name, community_id FROM team ORDER BY community_id, name, id", p![])? {
        let id = r.text(0)?;
        let member_ids = tx
            .query("SELECT worker_id FROM team_member WHERE team_id = ? ORDER BY worker_id", p![&id])?
            .iter()
            .map(|m| m.text(0))
            .collect::<crate::db::DbResult<_>>()?;
        out.push(Team { id, name: r.text(1)?, community_id: r.text(2)?, member_ids });
    }
    Ok(out)
}

pub async fn list_teams(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<Team>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            Ok(teams(tx)?.into_iter().filter(|t| scope.community(&t.community_id)).collect())
        })
        .await?,
    ))
}

/// Add or replace a team of a community (its office or the street admin).
pub async fn put_team(State(s): State<AppState>, bearer: Bearer, JsonBody(t): JsonBody<Team>) -> Result<Created<Team>> {
    check_team(&t)?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_team(tx, &op, t)
        })
        .await?,
    ))
}

fn check_team(t: &Team) -> Result<String> {
    validate::id("id", &t.id)?;
    validate::id("community_id", &t.community_id)?;
    let name = validate::required_text("name", &t.name, rules::MAX_AREA_NAME_CHARS)?;
    if t.member_ids.len() > 1000 {
        return Err(ApiError::invalid("member_ids", "at most 1000 members"));
    }
    Ok(name)
}

/// The rules of `put_team`, shared by the console's import.
pub fn save_team(tx: &mut dyn Tx, op: &Operator, t: Team) -> Result<Team> {
    let name = check_team(&t)?;
    op.require_manager()?;
    if tx.query_opt("SELECT 1 FROM community WHERE id = ?", p![&t.community_id])?.is_none() {
        return Err(ApiError::invalid("community_id", "no such community"));
    }
    op.require_community(&t.community_id)?;
    // An existing team stays with the office that has it; members come from the office's
    // own grids.
    if let Some(r) = tx.query_opt("SELECT community_id FROM team WHERE id = ?", p![&t.id])? {
        op.require_community(&r.text(0)?)?;
    }
    for m in &t.member_ids {
        validate::id("member_ids", m)?;
        op.require_worker(tx, m)?;
    }
    let now = now_ms();
    tx.exec(
        "INSERT INTO team (id, name, community_id, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, community_id = excluded.community_id,
             updated_ms = excluded.updated_ms",
        p![&t.id, &name, &t.community_id, now, now],
    )?;
    set_team_members(tx, &t.id, &t.member_ids)?;
    audit(tx, &op.id, "team.put", &t.id)?;
    Ok(Team { name, ..t })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BuildingQuery {
    #[serde(default)]
    pub grid_id: Option<String>,
}

pub async fn list_buildings(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiQuery(q): ApiQuery<BuildingQuery>,
) -> Result<Json<Vec<Building>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let mut out = Vec::new();
            for r in tx.query("SELECT id, grid_id, name FROM building ORDER BY grid_id, name, id", p![])? {
                let grid_id = r.text(1)?;
                if scope.grid(&grid_id) && q.grid_id.as_ref().is_none_or(|g| *g == grid_id) {
                    out.push(Building { id: r.text(0)?, grid_id, name: r.text(2)? });
                }
            }
            Ok(out)
        })
        .await?,
    ))
}

/// Add or rename a building under a grid (the grid's community office or the street admin).
pub async fn put_building(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(b): JsonBody<Building>,
) -> Result<Created<Building>> {
    check_building(&b)?;
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            save_building(tx, &op, b)
        })
        .await?,
    ))
}

fn check_building(b: &Building) -> Result<String> {
    validate::id("id", &b.id)?;
    validate::id("grid_id", &b.grid_id)?;
    Ok(validate::required_text("name", &b.name, rules::MAX_LABEL_CHARS)?)
}

/// The rules of `put_building`, shared by the console's import.
pub fn save_building(tx: &mut dyn Tx, op: &Operator, b: Building) -> Result<Building> {
    let name = check_building(&b)?;
    op.require_manager()?;
    let community = tx
        .query_opt("SELECT community_id FROM grid WHERE id = ?", p![&b.grid_id])?
        .ok_or_else(|| ApiError::invalid("grid_id", "no such grid"))?
        .text(0)?;
    op.require_community(&community)?;
    // An existing building is moved or renamed only by an office that has it.
    if let Some(r) =
        tx.query_opt("SELECT g.community_id FROM building b JOIN grid g ON g.id = b.grid_id WHERE b.id = ?", p![&b.id])?
    {
        op.require_community(&r.text(0)?)?;
    }
    let now = now_ms();
    tx.exec(
        "INSERT INTO building (id, grid_id, name, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET grid_id = excluded.grid_id, name = excluded.name,
             updated_ms = excluded.updated_ms",
        p![&b.id, &b.grid_id, &name, now, now],
    )?;
    audit(tx, &op.id, "building.put", &b.id)?;
    Ok(Building { name, ..b })
}
