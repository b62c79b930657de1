//! Reference data as a phone receives it: a `GridConfig` snapshot for one worker (the whole
//! street's organisation, but households only of the worker's grids, the active template and
//! the worker's open tasks) and a per-worker version that changes whenever any of that does.
//! Each version remembers the worker's grids then, so a pull can name the grids to purge.

use gridpatrol_protocol::config::{Community, Grid, GridConfig, Household, Street, Worker};
use gridpatrol_protocol::domain::{CareTag, TaskSource, WorkerRole};
use gridpatrol_protocol::records::TaskInput;
use gridpatrol_protocol::template::Template;

use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::{p, to_time};

pub const STREET_KEY: &str = "street";
pub const ACTIVE_TEMPLATE_KEY: &str = "active_template";

pub fn setting(tx: &mut dyn Tx, key: &str) -> Result<Option<String>> {
    Ok(tx.query_opt("SELECT value FROM setting WHERE key = ?", p![key])?.map(|r| r.text(0)).transpose()?)
}

pub fn set_setting(tx: &mut dyn Tx, key: &str, value: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        p![key, value],
    )?;
    Ok(())
}

pub fn street(tx: &mut dyn Tx) -> Result<Street> {
    let json = setting(tx, STREET_KEY)?.ok_or_else(|| ApiError::internal("street not set"))?;
    serde_json::from_str(&json).map_err(|_| ApiError::internal("street setting"))
}

pub fn active_template(tx: &mut dyn Tx) -> Result<Template> {
    let json = setting(tx, ACTIVE_TEMPLATE_KEY)?.ok_or_else(|| ApiError::internal("no active template"))?;
    let (id, version): (String, i64) = serde_json::from_str(&json).map_err(|_| ApiError::internal("template key"))?;
    template(tx, &id, version)?.ok_or_else(|| ApiError::internal("active template missing"))
}

pub fn template(tx: &mut dyn Tx, id: &str, version: i64) -> Result<Option<Template>> {
    Ok(tx
        .query_opt("SELECT body FROM template WHERE id = ? AND version = ?", p![id, version])?
        .map(|r| r.json(0))
        .transpose()?)
}

/// Every worker whose phone must fetch a new snapshot gets a new version (one counter for all,
/// so versions only grow), recorded with the grids the worker has at that version.
pub fn bump_workers(tx: &mut dyn Tx, worker_ids: &[String]) -> Result<()> {
    if worker_ids.is_empty() {
        return Ok(());
    }
    let v = tx.query_i64("UPDATE counter SET value = value + 1 WHERE name = 'reference' RETURNING value", p![])?;
    for w in worker_ids {
        tx.exec("UPDATE worker SET ref_version = ? WHERE id = ?", p![v, w])?;
        let grids = crate::auth::worker_grids(tx, w)?;
        tx.exec(
            "INSERT INTO worker_ref_history (worker_id, version, grid_ids) VALUES (?, ?, ?)",
            p![w, v, serde_json::to_string(&grids).unwrap_or_default()],
        )?;
    }
    Ok(())
}

pub fn bump_all(tx: &mut dyn Tx) -> Result<()> {
    let ids = tx
        .query("SELECT id FROM worker ORDER BY id", p![])?
        .iter()
        .map(|r| r.text(0))
        .collect::<crate::db::DbResult<Vec<_>>>()?;
    bump_workers(tx, &ids)
}

/// Workers of these grids (a household or a boundary changed there).
pub fn bump_grids(tx: &mut dyn Tx, grid_ids: &[&str]) -> Result<()> {
    let mut ids = Vec::new();
    for g in grid_ids {
        for r in tx.query("SELECT worker_id FROM worker_grid WHERE grid_id = ?", p![*g])? {
            let w = r.text(0)?;
            if !ids.contains(&w) {
                ids.push(w);
            }
        }
    }
    bump_workers(tx, &ids)
}

/// The worker's grids as of reference `version` (what a phone holding that version has).
pub fn grids_at(tx: &mut dyn Tx, worker_id: &str, version: i64) -> Result<Option<Vec<String>>> {
    Ok(tx
        .query_opt(
            "SELECT grid_ids FROM worker_ref_history WHERE worker_id = ? AND version <= ? ORDER BY version DESC LIMIT 1",
            p![worker_id, version],
        )?
        .map(|r| r.json(0))
        .transpose()?)
}

pub fn worker_version(tx: &mut dyn Tx, worker_id: &str) -> Result<i64> {
    Ok(tx
        .query_opt("SELECT ref_version FROM worker WHERE id = ?", p![worker_id])?
        .ok_or_else(|| ApiError::not_found("worker"))?
        .i64(0)?)
}

pub fn load_grid(r: &crate::db::Row) -> Result<Grid> {
    Ok(Grid { id: r.text(0)?, code: r.text(1)?, community_id: r.text(2)?, name: r.text(3)?, boundary: r.json(4)? })
}

pub fn load_household(r: &crate::db::Row) -> Result<Household> {
    let tags: Vec<String> = r.json(5)?;
    Ok(Household {
        id: r.text(0)?,
        grid_id: r.text(1)?,
        label: r.text(2)?,
        name: r.text(3)?,
        phone: r.opt_text(4)?,
        care_tags: tags.iter().filter_map(|t| CareTag::from_code(t)).collect(),
        must_visit: Some(r.bool(6)?),
    })
}

pub const HOUSEHOLD_COLUMNS: &str = "h.id, h.grid_id, h.label, h.name, h.phone, h.care_tags, h.must_visit";

pub fn workers(tx: &mut dyn Tx) -> Result<Vec<Worker>> {
    let mut grids: std::collections::HashMap<String, Vec<String>> = Default::default();
    for r in tx.query("SELECT worker_id, grid_id FROM worker_grid ORDER BY worker_id, grid_id", p![])? {
        grids.entry(r.text(0)?).or_default().push(r.text(1)?);
    }
    tx.query("SELECT id, name, role FROM worker ORDER BY id", p![])?
        .iter()
        .map(|r| {
            let id = r.text(0)?;
            Ok(Worker {
                grid_ids: grids.remove(&id).unwrap_or_default(),
                id,
                name: r.text(1)?,
                role: WorkerRole::from_code(&r.text(2)?).ok_or_else(|| ApiError::internal("worker role"))?,
            })
        })
        .collect()
}

/// The worker's reference snapshot and its version.
pub fn snapshot(tx: &mut dyn Tx, worker_id: &str) -> Result<(GridConfig, i64)> {
    let version = worker_version(tx, worker_id)?;
    let street = street(tx)?;
    let communities = tx
        .query("SELECT id, code, name FROM community ORDER BY id", p![])?
        .iter()
        .map(|r| Ok(Community { id: r.text(0)?, code: r.text(1)?, name: r.text(2)? }))
        .collect::<crate::db::DbResult<Vec<_>>>()?;
    let grids = tx
        .query("SELECT id, code, community_id, name, boundary FROM grid ORDER BY id", p![])?
        .iter()
        .map(load_grid)
        .collect::<Result<Vec<_>>>()?;
    let workers = workers(tx)?;
    // Minimum necessary (PIPL art. 6): households of this worker's grids only.
    let households = tx
        .query(
            &format!(
                "SELECT {HOUSEHOLD_COLUMNS} FROM household h JOIN worker_grid wg ON wg.grid_id = h.grid_id
                 WHERE wg.worker_id = ? ORDER BY h.id"
            ),
            p![worker_id],
        )?
        .iter()
        .map(load_household)
        .collect::<Result<Vec<_>>>()?;
    let tasks = tx
        .query(
            "SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, dispatched_ms
             FROM task WHERE assignee_id = ? AND status NOT IN ('done', 'cancelled') ORDER BY dispatched_ms, id",
            p![worker_id],
        )?
        .iter()
        .map(|r| {
            Ok(TaskInput {
                id: r.text(0)?,
                source: TaskSource::from_code(&r.text(1)?).ok_or_else(|| ApiError::internal("task source"))?,
                title: r.text(2)?,
                description: r.text(3)?,
                target_unit: r.text(4)?,
                assignee_id: Some(r.text(5)?),
                grid_id: r.opt_text(6)?,
                deadline: to_time(r.i64(7)?),
                dispatched_at: to_time(r.i64(8)?),
                details: Default::default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let template = Some(active_template(tx)?);
    // A phone needs neither the street's teams nor its buildings.
    let (teams, buildings) = (Vec::new(), Vec::new());
    Ok((GridConfig { street, communities, grids, workers, households, tasks, template, teams, buildings }, version))
}
