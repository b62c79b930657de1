//! Rows of people and places (the console's XLSX and CSV imports) saved in one transaction with
//! the API's own rules (`org::save_*`, `teams::save_*`, `units::save_unit`, each creating or
//! updating by id): every bad row is reported with its sheet and row, and one bad row keeps
//! every row out.

use std::sync::{Arc, Mutex};

use gridpatrol_protocol::config::{Building, Community, Household, Team};

use super::org::{self, GridInput, WorkerInput};
use super::units::{self, UnitInput};
use super::{audit, teams, Save};
use crate::auth;
use crate::error::ApiError;
use crate::http::{AppState, Bearer};

/// One row, as the API's create takes it.
#[derive(Debug)]
pub enum OrgRow {
    Community(Community),
    Grid(GridInput),
    Building(Building),
    Worker(WorkerInput),
    Unit(UnitInput),
    Team(Team),
    /// `keep_phone`: no number given (or a masked one, as the console exports it) keeps the
    /// stored one.
    Household {
        household: Household,
        keep_phone: bool,
    },
}

/// A row and where it came from (the spreadsheet's own row number; 1 is the heading).
#[derive(Debug)]
pub struct Located {
    pub sheet: String,
    pub row: usize,
    pub item: OrgRow,
}

#[derive(Debug)]
pub struct RowFailure {
    pub sheet: String,
    pub row: usize,
    pub error: ApiError,
}

#[derive(Debug)]
pub enum ImportError {
    /// The whole import was refused (not signed in, a server error).
    Refused(ApiError),
    /// These rows are wrong; nothing was saved.
    Rows(Vec<RowFailure>),
}

/// Save `rows` in order (put communities before their grids, grids before their workers) in
/// one transaction; returns how many were saved, or every row's error and nothing saved.
/// `check_only`: apply every rule and roll back whatever the outcome (the file had bad rows of
/// its own, so nothing is kept, but each of the others' errors is still worth naming).
pub async fn save_rows(
    s: &AppState,
    bearer: Bearer,
    rows: Vec<Located>,
    check_only: bool,
) -> Result<usize, ImportError> {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let found = failures.clone();
    let n = rows.len();
    let result =
        s.db.write(move |tx| {
            // Each row is authorised by its own rule (a grid leader may add households in
            // their grids, only offices change grids and workers…).
            let op = auth::operator(tx, bearer.as_deref())?;
            let mut bad = Vec::new();
            for Located { sheet, row, item } in rows {
                let saved = match item {
                    OrgRow::Community(c) => org::save_community(tx, &op, c, Save::Upsert).map(drop),
                    OrgRow::Grid(g) => org::save_grid(tx, &op, g, Save::Upsert).map(drop),
                    OrgRow::Building(b) => teams::save_building(tx, &op, b).map(drop),
                    OrgRow::Worker(w) => org::save_worker(tx, &op, w, Save::Upsert).map(drop),
                    OrgRow::Unit(u) => units::save_unit(tx, &op, u, Save::Upsert).map(drop),
                    OrgRow::Team(t) => teams::save_team(tx, &op, t).map(drop),
                    OrgRow::Household { household, keep_phone } => {
                        org::save_household(tx, &op, household, Save::Upsert, keep_phone).map(drop)
                    }
                };
                match saved {
                    Ok(()) => {}
                    // The database failing is not a row's fault: stop, roll back, say so.
                    Err(e) if e.status.is_server_error() => return Err(e),
                    Err(error) => bad.push(RowFailure { sheet, row, error }),
                }
            }
            if !bad.is_empty() || check_only {
                let count = bad.len();
                *found.lock().unwrap_or_else(|p| p.into_inner()) = bad;
                // Rolls the rows already written back.
                return Err(ApiError::invalid("rows", format!("{count} rows have errors; nothing was imported")));
            }
            audit(tx, &op.id, "import.rows", &format!("{n} rows"))?;
            Ok(n)
        })
        .await;
    match result {
        Ok(n) => Ok(n),
        Err(e) => {
            let rows = std::mem::take(&mut *failures.lock().unwrap_or_else(|p| p.into_inner()));
            if rows.is_empty() && check_only && e.field.as_deref() == Some("rows") {
                Ok(0)
            } else if rows.is_empty() {
                Err(ImportError::Refused(e))
            } else {
                Err(ImportError::Rows(rows))
            }
        }
    }
}
