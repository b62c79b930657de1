//! The case inbox and the case page: timeline, the six clear items, photos, and the steps this
//! worker's role may take now (the role table).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{excerpt, t, Action, ActionOption};
use crate::clock::to_time;
use crate::domain::*;
use crate::roles;
use crate::rows::{case_events, case_state};
use crate::store::{RefData, Store};
use crate::{CoreError, Result};

/// Which cases the inbox lists.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaseFilter {
    /// Only cases not yet closed, followed up, archived or rejected.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub open_only: bool,
    /// Only open cases past their deadline.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub overdue_only: bool,
    /// Only this grid (one of mine).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub grid_id: Option<String>,
    /// At most this many rows (1..500; 0 means 100).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaseRow {
    pub case_id: String,
    pub grid_id: String,
    pub grid_name: String,
    pub category_label: String,
    /// The report's description, cut to 60 characters.
    pub summary: String,
    pub state: CaseState,
    pub state_label: String,
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaseInbox {
    /// Overdue first, then by deadline (none last), then newest.
    pub rows: Vec<CaseRow>,
    pub open: u32,
    pub overdue: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CaseTimeline {
    pub case_id: String,
    pub report_id: String,
    pub category_label: String,
    pub description: String,
    pub place_name: Option<String>,
    pub state: CaseState,
    pub state_label: String,
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub clear: Vec<ClearStatus>,
    pub events: Vec<TimelineEntry>,
    /// The report's photos (bytes: `attachment_photo` / `attachment_thumbnail`).
    pub photos: Vec<PhotoRef>,
    /// Steps the lifecycle and this worker's role allow next, with labels.
    pub next_steps: Vec<StepOption>,
    /// The same steps as actions (`move_case`).
    pub actions: Vec<ActionOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoRef {
    pub sha256: String,
    pub mime: String,
    /// Already at HQ.
    pub uploaded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClearStatus {
    pub item: ClearItem,
    pub label: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimelineEntry {
    pub n: u32,
    pub from_label: Option<String>,
    pub to: CaseState,
    pub to_label: String,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StepOption {
    pub to: CaseState,
    pub label: String,
}

const OPEN_STATES: &str = "('reported', 'accepted', 'opened', 'dispatched', 'handling', 'verified', 'sent_back',
    'extension_requested', 'backlog')";

fn finished(state: CaseState) -> bool {
    matches!(state, CaseState::Closed | CaseState::FollowedUp | CaseState::Archived | CaseState::Rejected)
}

/// The cases of this worker's grids that `filter` selects, most pressing first.
pub(crate) fn case_rows(
    c: &Connection,
    refdata: &RefData,
    filter: &CaseFilter,
    now_ms: i64,
    lang: Lang,
) -> Result<Vec<CaseRow>> {
    if let Some(g) = &filter.grid_id {
        refdata.own_grid("grid_id", g)?;
    }
    let limit = match filter.limit {
        0 => 100,
        n => n.min(500),
    };
    // Most pressing first, read in that order from indexes and cut at the limit (a phone may
    // hold thousands of cases): open ones by deadline (overdue ones come first by nature), open
    // ones without a deadline by last change, then the finished ones by last change.
    // (Indexes named: the planner would otherwise pick the state index and sort them all.)
    let segments: &[(&str, &str)] = &[
        ("case_file_open_due", "state IN OPEN AND deadline_ms IS NOT NULL ORDER BY deadline_ms"),
        ("case_file_updated", "state IN OPEN AND deadline_ms IS NULL ORDER BY updated_ms DESC"),
        ("case_file_updated", "state NOT IN OPEN ORDER BY updated_ms DESC"),
    ];
    let take = if filter.overdue_only {
        1
    } else if filter.open_only {
        2
    } else {
        3
    };
    let mut picked = Vec::new();
    for (index, segment) in &segments[..take] {
        let left = limit as usize - picked.len();
        if left == 0 {
            break;
        }
        let mut stmt = c.prepare_cached(&format!(
            "SELECT id, grid_id, report_id, state, deadline_ms, updated_ms FROM case_file INDEXED BY {index}
             WHERE (?1 IS NULL OR grid_id = ?1) AND (?2 = 0 OR deadline_ms < ?3) AND {}
             LIMIT ?4",
            segment.replace("OPEN", OPEN_STATES)
        ))?;
        let rows = stmt.query_map(params![filter.grid_id, filter.overdue_only, now_ms, left as i64 * 2 + 16], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        for row in rows {
            let row = row?;
            // Cases of grids that are no longer mine stay on the phone as history, unlisted.
            if refdata.is_own_grid(&row.1) && picked.len() < limit as usize {
                picked.push(row);
            }
        }
    }
    let mut report = c.prepare_cached("SELECT category, substr(description, 1, 61) FROM report WHERE id = ?1")?;
    let mut out = Vec::with_capacity(picked.len());
    for (id, grid_id, report_id, state, deadline, updated) in picked {
        let (category, description): (String, String) =
            report.query_row([&report_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?.unwrap_or_default();
        let state = CaseState::from_code(&state).ok_or_else(|| CoreError::Corrupt(format!("case state {state}")))?;
        out.push(CaseRow {
            case_id: id,
            grid_name: refdata.grids.get(&grid_id).map(|g| g.name.clone()).unwrap_or_default(),
            grid_id,
            category_label: ReportCategory::from_code(&category).map(|c| c.label_in(lang)).unwrap_or(category),
            summary: excerpt(&description, 60),
            state,
            state_label: state.label_in(lang),
            deadline: deadline.map(to_time),
            overdue: !finished(state) && deadline.is_some_and(|d| d < now_ms),
            updated_at: to_time(updated),
        });
    }
    Ok(out)
}

impl Store {
    /// The case inbox: this worker's grids' cases as `filter` selects them.
    pub fn case_inbox(&self, filter: &CaseFilter) -> Result<CaseInbox> {
        let lang = self.language();
        let refdata = self.refdata();
        let now_ms = self.now_ms();
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let rows = case_rows(&tx, &refdata, filter, now_ms, lang)?;
            let mut open = 0;
            let mut overdue = 0;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT grid_id, COUNT(*), SUM(deadline_ms IS NOT NULL AND deadline_ms < ?1) FROM case_file
                 WHERE state IN {OPEN_STATES} GROUP BY grid_id"
            ))?;
            for row in
                stmt.query_map([now_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?)))?
            {
                let (grid, n, late) = row?;
                if refdata.is_own_grid(&grid) {
                    open += n;
                    overdue += late;
                }
            }
            Ok(CaseInbox { rows, open, overdue })
        })
    }

    /// A case's append-only history, its six clear items, photos and the steps allowed next.
    pub fn case_timeline(&self, case_id: &str) -> Result<CaseTimeline> {
        let now_ms = self.now_ms();
        let lang = self.language();
        let refdata = self.refdata();
        let required = refdata.active_template.resolution.required.clone();
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let (state, clear, grid) = case_state(&tx, case_id)?;
            if !refdata.is_own_grid(&grid) {
                return Err(CoreError::not_found("case", case_id));
            }
            let (report_id, category, description, place, deadline): (
                String,
                String,
                String,
                Option<String>,
                Option<i64>,
            ) = tx
                .query_row(
                    "SELECT r.id, r.category, r.description, r.place_name, c.deadline_ms
                     FROM case_file c JOIN report r ON r.id = c.report_id WHERE c.id = ?1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?
                .ok_or_else(|| CoreError::not_found("case", case_id))?;
            let events = case_events(&tx, case_id)?
                .into_iter()
                .map(|e| TimelineEntry {
                    n: e.n,
                    from_label: e.from.map(|s| s.label_in(lang)),
                    to: e.to,
                    to_label: e.to.label_in(lang),
                    at: e.at,
                    actor_id: e.actor_id,
                    note: e.note,
                    photos: e.photos,
                })
                .collect();
            let mut photos = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT p.sha256, COALESCE(a.mime, 'image/jpeg'), COALESCE(a.upload_state = 'uploaded', 0)
                 FROM report_photo p LEFT JOIN attachment a ON a.sha256 = p.sha256 WHERE p.report_id = ?1
                 ORDER BY p.sha256",
            )?;
            for row in stmt
                .query_map([&report_id], |r| Ok(PhotoRef { sha256: r.get(0)?, mime: r.get(1)?, uploaded: r.get(2)? }))?
            {
                photos.push(row?);
            }
            drop(stmt);
            // Only the steps this worker's role may take (the role table).
            let steps: Vec<StepOption> = roles::next_states_for(Actor::from(refdata.worker_role), state)
                .into_iter()
                .map(|s| StepOption { to: s, label: s.label_in(lang) })
                .collect();
            let actions = steps
                .iter()
                .map(|s| {
                    ActionOption::new(
                        Action::CaseStep { case_id: case_id.to_string(), to: s.to },
                        format!("{} → {}", t(lang, "办理", "move"), s.label),
                    )
                })
                .collect();
            Ok(CaseTimeline {
                case_id: case_id.to_string(),
                report_id,
                category_label: ReportCategory::from_code(&category).map(|c| c.label_in(lang)).unwrap_or(category),
                description,
                place_name: place,
                state,
                state_label: state.label_in(lang),
                deadline: deadline.map(to_time),
                overdue: !finished(state) && deadline.is_some_and(|d| d < now_ms),
                clear: required
                    .iter()
                    .map(|i| ClearStatus { item: *i, label: i.label_in(lang), done: clear.is_clear(*i) })
                    .collect(),
                events,
                photos,
                next_steps: steps,
                actions,
            })
        })
    }
}
