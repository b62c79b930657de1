//! The figures' running counts (tables `record_day` and `patrol_figure`), kept in the same
//! transaction that writes a visit, a report, a patrol or a check-in, so they are never stale,
//! survive restarts and are shared by every HQ instance on one PostgreSQL. `admin::figures`
//! sums them instead of recounting a year of records on every request.
//!
//! - `record_day`: visits and reports per grid, worker, street-local day and report category.
//!   Both are append-only, so a count only ever grows.
//! - `patrol_figure`: each patrol's 三到 verdict (`records::patrol_parts`), recomputed whenever
//!   the patrol starts or finishes, or a check-in or a report of it arrives (in any order).
//!
//! The days are the street's local days; the time zone they were counted in is kept in the
//! setting `figure_rollups`, and start-up rebuilds both tables from the records when it is
//! missing (a database from before schema 11) or differs (the street's zone was changed).

use std::collections::BTreeMap;

use chrono::TimeZone;

use super::records::{patrol_parts, Templates};
use crate::db::Tx;
use crate::error::Result;
use crate::p;

/// Visits in `record_day.kind`.
pub const VISIT: &str = "visit";
/// Reports in `record_day.kind` (with their category).
pub const REPORT: &str = "report";
/// Which time zone the rollups' days were counted in.
const BUILT_KEY: &str = "figure_rollups";
/// Any fixed number: the advisory lock under which one HQ instance rebuilds at start-up.
const REBUILD_LOCK: i64 = 0x6770_6672; // "gpfr"

/// The street-local day of a time, `YYYY-MM-DD` (sorts as text in date order).
pub fn day_of(ms: i64) -> String {
    super::street_tz()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.date_naive().format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Count records in: (grid, worker, effective time, category — "" for visits).
pub fn add_records<'a>(
    tx: &mut dyn Tx,
    kind: &'static str,
    rows: impl IntoIterator<Item = (&'a str, &'a str, i64, &'a str)>,
) -> Result<()> {
    // In key order, so that concurrent transactions (PostgreSQL) lock rows in one order.
    let mut counts: BTreeMap<(String, &str, &str, &str), i64> = BTreeMap::new();
    for (grid, worker, ms, category) in rows {
        *counts.entry((day_of(ms), grid, worker, category)).or_default() += 1;
    }
    for ((day, grid, worker, category), n) in counts {
        tx.exec(
            "INSERT INTO record_day (day, grid_id, worker_id, kind, category, n) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (day, grid_id, worker_id, kind, category) DO UPDATE SET n = record_day.n + excluded.n",
            p![day, grid, worker, kind, category, n],
        )?;
    }
    Ok(())
}

/// Recompute one patrol's verdict (nothing when HQ does not know the patrol yet: a report of
/// it that arrives first is counted when the patrol arrives).
pub fn refresh_patrol(tx: &mut dyn Tx, templates: &mut Templates, patrol_id: &str) -> Result<()> {
    let Some(r) = tx.query_opt(
        "SELECT grid_id, worker_id, shift, effective_ms, template_id, template_version, finished_ms, outcome
         FROM patrol WHERE id = ?",
        p![patrol_id],
    )?
    else {
        return Ok(());
    };
    let finished = r.opt_i64(6)?.is_some();
    let parts = patrol_parts(tx, templates, patrol_id, (&r.text(4)?, r.i64(5)?), finished, r.opt_text(7)?.as_deref())?;
    tx.exec(
        "INSERT INTO patrol_figure (patrol_id, grid_id, worker_id, shift, effective_ms, finished, complete, trusted)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (patrol_id) DO UPDATE SET finished = excluded.finished, complete = excluded.complete,
             trusted = excluded.trusted",
        p![patrol_id, r.text(0)?, r.text(1)?, r.text(2)?, r.i64(3)?, finished, parts.complete, parts.trusted],
    )?;
    Ok(())
}

/// At start-up: build the rollups from the records unless they were built in this time zone.
/// Returns whether it rebuilt.
pub fn ensure_built(tx: &mut dyn Tx) -> Result<bool> {
    let zone = super::street_tz().name().to_string();
    if crate::reference::setting(tx, BUILT_KEY)?.as_deref() == Some(zone.as_str()) {
        return Ok(false);
    }
    if tx.backend() == crate::db::Backend::Postgres {
        // Instances starting together: one rebuilds, the others then find it done.
        tx.query("SELECT pg_advisory_xact_lock(?)", p![REBUILD_LOCK])?;
        if crate::reference::setting(tx, BUILT_KEY)?.as_deref() == Some(zone.as_str()) {
            return Ok(false);
        }
    }
    rebuild(tx)?;
    crate::reference::set_setting(tx, BUILT_KEY, &zone)?;
    Ok(true)
}

/// Count everything again from the records, grid by grid (bounded memory).
pub fn rebuild(tx: &mut dyn Tx) -> Result<()> {
    tx.exec("DELETE FROM record_day", p![])?;
    tx.exec("DELETE FROM patrol_figure", p![])?;
    // Every grid a record names, known to HQ's street or not.
    let mut grids: Vec<String> = Vec::new();
    for table in ["visit", "report", "patrol"] {
        for r in tx.query(&format!("SELECT DISTINCT grid_id FROM {table}"), p![])? {
            grids.push(r.text(0)?);
        }
    }
    grids.sort();
    grids.dedup();
    let mut templates = Templates::new();
    for g in &grids {
        let visits: Vec<(String, i64)> = tx
            .query("SELECT worker_id, effective_ms FROM visit WHERE grid_id = ?", p![g])?
            .iter()
            .map(|r| Ok((r.text(0)?, r.i64(1)?)))
            .collect::<Result<_>>()?;
        add_records(tx, VISIT, visits.iter().map(|(w, ms)| (g.as_str(), w.as_str(), *ms, "")))?;
        let reports: Vec<(String, i64, String)> = tx
            .query("SELECT worker_id, effective_ms, category FROM report WHERE grid_id = ?", p![g])?
            .iter()
            .map(|r| Ok((r.text(0)?, r.i64(1)?, r.text(2)?)))
            .collect::<Result<_>>()?;
        add_records(tx, REPORT, reports.iter().map(|(w, ms, c)| (g.as_str(), w.as_str(), *ms, c.as_str())))?;
        let patrols: Vec<String> = tx
            .query("SELECT id FROM patrol WHERE grid_id = ?", p![g])?
            .iter()
            .map(|r| Ok(r.text(0)?))
            .collect::<Result<_>>()?;
        for id in patrols {
            refresh_patrol(tx, &mut templates, &id)?;
        }
    }
    Ok(())
}
