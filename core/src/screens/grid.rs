//! The grid screen: boundary, buildings, households (searchable, must-visit due first), recent
//! patrols and the grid's cases.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::cases::{case_rows, CaseFilter, CaseRow};
use super::home::{care_tag_labels, grid_summary, todays_patrols, GridSummary};
use super::patrol::PatrolRow;
use super::{t, Action, ActionOption};
use crate::clock::to_time;
use crate::domain::*;
use crate::store::Store;
use crate::{CoreError, Result};

/// Which households the grid screen lists.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HouseholdQuery {
    /// Part of a name or an address (label), e.g. "陈" or "3栋". Empty: all.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub text: Option<String>,
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub care_tag: Option<CareTag>,
    /// Only this building (as `BuildingRow.name`).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub building: Option<String>,
    /// At most this many rows (1..500; 0 means 50).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GridScreen {
    pub grid: GridSummary,
    pub buildings: Vec<BuildingRow>,
    /// Households matching the query: must-visit ones due first, then by address.
    pub households: Vec<HouseholdRow>,
    /// How many households match (the list may be cut at the query's limit).
    pub households_matching: u32,
    pub recent_patrols: Vec<PatrolRow>,
    /// The grid's cases, open first.
    pub cases: Vec<CaseRow>,
    pub actions: Vec<ActionOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BuildingRow {
    /// The building part of an address ("3栋"), or the whole address when it names none.
    pub name: String,
    pub households: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HouseholdRow {
    pub id: String,
    pub grid_id: String,
    /// The address, e.g. "3栋2单元301".
    pub label: String,
    pub name: String,
    /// Masked: "138****5678".
    pub phone: Option<String>,
    pub care_tags: Vec<String>,
    pub must_visit: bool,
    /// A must-visit household not visited within the template's interval.
    pub due: bool,
    pub last_visit_at: Option<DateTime<Utc>>,
    pub actions: Vec<ActionOption>,
}

/// "3栋2单元301" → "3栋": the building an address is in.
pub(crate) fn building_of(label: &str) -> &str {
    match label.find('栋') {
        Some(i) => &label[..i + '栋'.len_utf8()],
        None => label,
    }
}

const HOUSEHOLD_COLS: &str = "h.id, h.grid_id, h.label, h.name, h.phone, h.care_tags, h.must_visit,
    (SELECT v.occurred_ms FROM visit v WHERE v.household_id = h.id AND v.outcome != 'not_home'
     ORDER BY v.occurred_ms DESC LIMIT 1)";

/// A household row as read: id, grid, address, name, phone, care tags (JSON), must-visit,
/// last visit.
type Raw = (String, String, String, String, Option<String>, String, bool, Option<i64>);

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

fn to_household(raw: Raw, now_ms: i64, interval_days: u32, lang: Lang) -> Result<HouseholdRow> {
    let (id, grid_id, label, name, phone, tags, must_visit, last) = raw;
    let interval_ms = interval_days as i64 * 86_400_000;
    Ok(HouseholdRow {
        actions: vec![ActionOption::new(
            Action::RecordVisit { household_id: id.clone() },
            t(lang, "记录走访", "record a visit"),
        )],
        id,
        grid_id,
        label,
        name,
        phone: phone.as_deref().map(mask_phone),
        care_tags: care_tag_labels(&tags, lang)?,
        due: must_visit && last.is_none_or(|l| now_ms - l >= interval_ms),
        must_visit,
        last_visit_at: last.map(to_time),
    })
}

pub(crate) fn household_row(
    c: &Connection,
    id: &str,
    now_ms: i64,
    interval_days: u32,
    lang: Lang,
) -> Result<Option<HouseholdRow>> {
    let raw = c
        .prepare_cached(&format!("SELECT {HOUSEHOLD_COLS} FROM household h WHERE h.id = ?1"))?
        .query_row([id], row_of)
        .optional()?;
    raw.map(|r| to_household(r, now_ms, interval_days, lang)).transpose()
}

impl Store {
    /// One of this worker's grids, with its households filtered by `query`.
    pub fn grid_screen(&self, grid_id: &str, query: &HouseholdQuery) -> Result<GridScreen> {
        let lang = self.language();
        let refdata = self.refdata();
        let now_ms = self.now_ms();
        let g = refdata.own_grid("grid_id", grid_id)?;
        let limit = match query.limit {
            0 => 50,
            n => n.min(500),
        };
        let text = query.text.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if text.is_some_and(|s| s.chars().count() > 50) {
            return Err(CoreError::invalid("text", "at most 50 characters"));
        }
        let interval = refdata.active_template.visits.must_visit_interval_days;
        let (_, start_of_day_ms, _) = super::home::local_day_bounds(now_ms, self.opts.tz_offset_minutes);
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let mut all = Vec::new();
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {HOUSEHOLD_COLS} FROM household h WHERE h.grid_id = ?1
                   AND (?2 IS NULL OR instr(h.name, ?2) > 0 OR instr(h.label, ?2) > 0)
                   AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(h.care_tags) WHERE value = ?3))"
            ))?;
            let mut buildings: Vec<BuildingRow> = Vec::new();
            for raw in stmt.query_map(params![grid_id, text, query.care_tag.map(|t| t.code())], row_of)? {
                let row = to_household(raw?, now_ms, interval, lang)?;
                let b = building_of(&row.label);
                match buildings.iter_mut().find(|x| x.name == b) {
                    Some(x) => x.households += 1,
                    None => buildings.push(BuildingRow { name: b.to_string(), households: 1 }),
                }
                if query.building.as_deref().is_none_or(|q| q == b) {
                    all.push(row);
                }
            }
            drop(stmt);
            buildings.sort_by(|a, b| a.name.cmp(&b.name));
            all.sort_by(|a, b| b.due.cmp(&a.due).then_with(|| a.label.cmp(&b.label)));
            let matching = all.len() as u32;
            all.truncate(limit as usize);

            let (day, night) = todays_patrols(&tx, &self.device().worker_id, grid_id, start_of_day_ms)?;
            let recent_patrols = self.recent_patrols(&tx, grid_id, 10, lang)?;
            let filter = CaseFilter { grid_id: Some(grid_id.to_string()), limit: 50, ..CaseFilter::default() };
            let cases = case_rows(&tx, &refdata, &filter, now_ms, lang)?;
            Ok(GridScreen {
                grid: grid_summary(grid_id, g, day, night, lang),
                buildings,
                households: all,
                households_matching: matching,
                recent_patrols,
                cases,
                actions: vec![ActionOption::new(
                    Action::FileReport { grid_id: grid_id.to_string() },
                    t(lang, "上报情况", "file a report"),
                )],
            })
        })
    }
}
