//! Visits, the bulk of what phones push, settled in two halves. SQLite has one writer, so
//! what can be done before it is time it can write:
//! - on the request's own task (`VisitRows::prepare`, no database needed): each visit is
//!   checked and turned into its `visit` row, every row of the push in one buffer that the
//!   writer only reads (and that is freed back on the request's task);
//! - on the writer (`VisitBatch`): only what needs HQ's data — the worker's grids, the
//!   household, whether HQ has the visit id already — and then the rows of the visits
//!   accepted go in together, each carrying its mutation id (no `mutation` row for it).

use std::collections::HashMap;
use std::ops::Range;

use gridpatrol_protocol::domain::VisitType;
use gridpatrol_protocol::records::Visit;
use gridpatrol_protocol::rules::{self, MAX_NOTE_CHARS};
use gridpatrol_protocol::validate;
use gridpatrol_protocol::wire::codes;

use super::apply::{not_found, own_grid, own_worker, within, Ctx, Outcome, Refusal, Step};
use crate::db::{Col, Found, Tx, Value};
use crate::error::ApiError;

/// The `visit` table's columns, in the order of a prepared row.
const VISIT_COLS: &[Col] = &[
    Col::Text, // id
    Col::Text, // worker_id
    Col::Text, // household_id
    Col::Text, // grid_id
    Col::Text, // visit_type
    Col::Text, // outcome
    Col::Text, // needs
    Col::Text, // note
    Col::Int,  // satisfaction
    Col::Text, // case_id
    Col::Real, // lat
    Col::Real, // lng
    Col::Int,  // occurred_ms
    Col::Int,  // device_ms
    Col::Int,  // received_ms
    Col::Int,  // effective_ms
    Col::Text, // mutation_id
];
const WIDTH: usize = VISIT_COLS.len();
const ID: usize = 0;
const WORKER: usize = 1;
const HOUSEHOLD: usize = 2;
const GRID: usize = 3;
const VISIT_TYPE: usize = 4;
const SATISFACTION: usize = 8;
const CASE: usize = 9;
const OCCURRED: usize = 12;
const EFFECTIVE: usize = 15;
const MUTATION: usize = 16;

/// Why a visit is refused: a stable code and a reason for the worker.
pub type Refused = (&'static str, String);

/// A visit as the writer gets it: its row in `VisitRows`, or why it was refused already.
pub type Prepared = Result<usize, Refused>;

/// The rows of one push's visits, `WIDTH` values each, in operation order.
#[derive(Default)]
pub struct VisitRows {
    rows: Vec<Value>,
    /// Rows with the first occurrence of each household id / visit id (the writer's lookups).
    distinct_households: Vec<usize>,
    distinct_ids: Vec<usize>,
}

/// What a visit's row needs besides the visit: when HQ received it and the push's clock skew
/// (device clock minus HQ's), to place its capture time on HQ's clock.
pub struct Received<'a> {
    pub now: i64,
    pub skew: i64,
    pub device_ms: i64,
    pub mutation_id: &'a str,
}

impl VisitRows {
    /// Check a visit on its own (everything that needs no database) and lay out its row.
    pub fn prepare(&mut self, v: Visit, at: &Received<'_>) -> Prepared {
        validate::check_id("visit.id", &v.id).map_err(invalid)?;
        validate::check_id("visit.household_id", &v.household_id).map_err(invalid)?;
        let note = validate::optional_text("visit.note", v.note.as_deref(), MAX_NOTE_CHARS).map_err(invalid)?;
        if let Some(l) = v.location {
            l.validate("visit.location").map_err(invalid)?;
        }
        rules::visit_follow_up(v.visit_type, v.outcome, v.satisfaction, v.case_id.as_deref())
            .map_err(|e| invalid(within("visit")(e)))?;
        if let Some(c) = &v.case_id {
            validate::check_id("visit.case_id", c).map_err(invalid)?;
        }
        // The needs as a JSON array of codes (codes are plain ASCII words: no escaping).
        let mut needs = String::with_capacity(2 + v.needs.len() * 12);
        needs.push('[');
        for (i, n) in v.needs.iter().enumerate() {
            if i > 0 {
                needs.push(',');
            }
            needs.push('"');
            needs.push_str(n.code());
            needs.push('"');
        }
        needs.push(']');
        let occurred = v.occurred_at.timestamp_millis();
        // A capture time moved onto HQ's clock with this push's skew (never in the future).
        let effective = occurred.saturating_sub(at.skew).min(at.now);
        let at_row = self.rows.len() / WIDTH;
        self.rows.extend([
            Value::from(v.id),
            Value::from(v.worker_id),
            Value::from(v.household_id),
            Value::from(v.grid_id),
            Value::Code(v.visit_type.code()),
            Value::Code(v.outcome.code()),
            Value::Text(needs),
            Value::from(note),
            Value::from(v.satisfaction),
            Value::from(v.case_id),
            Value::from(v.location.map(|l| l.lat)),
            Value::from(v.location.map(|l| l.lng)),
            Value::from(occurred),
            Value::from(at.device_ms),
            Value::from(at.now),
            Value::from(effective),
            Value::from(at.mutation_id),
        ]);
        Ok(at_row)
    }

    /// After the last `prepare`: note which rows the writer's lookups need.
    pub fn finish(&mut self) {
        self.distinct_households = self.first_of_each(HOUSEHOLD);
        self.distinct_ids = self.first_of_each(ID);
    }

    fn first_of_each(&self, col: usize) -> Vec<usize> {
        let mut seen = std::collections::HashSet::new();
        (0..self.rows.len() / WIDTH).filter(|&i| seen.insert(self.text(i, col))).collect()
    }

    fn text(&self, row: usize, col: usize) -> &str {
        match &self.rows[row * WIDTH + col] {
            Value::Text(s) => s,
            _ => "",
        }
    }

    /// Whether two prepared rows hold the same visit (everything the phone sent: id through
    /// capture time; not when or how HQ received it).
    pub fn same_visit(&self, a: usize, b: usize) -> bool {
        self.rows[a * WIDTH..a * WIDTH + OCCURRED + 1] == self.rows[b * WIDTH..b * WIDTH + OCCURRED + 1]
    }

    /// The household ids and visit ids to look up (each once).
    pub fn lookup_keys(&self) -> (Vec<&str>, Vec<&str>) {
        debug_assert!(self.rows.is_empty() || !self.distinct_ids.is_empty(), "`finish` was not called");
        let keys = |rows: &[usize], col| rows.iter().map(|&i| self.text(i, col)).collect();
        (keys(&self.distinct_households, HOUSEHOLD), keys(&self.distinct_ids, ID))
    }
}

/// Values as stored and as prepared compare alike (a prepared row binds fixed codes as `Code`).
fn same_value(a: &Value, b: &Value) -> bool {
    fn text(v: &Value) -> Option<&str> {
        match v {
            Value::Text(s) => Some(s.as_str()),
            Value::Code(s) => Some(s),
            _ => None,
        }
    }
    match (text(a), text(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn invalid(e: gridpatrol_protocol::InvalidValue) -> Refused {
    (codes::INVALID_INPUT, e.to_string())
}

/// Whether HQ has a visit id: not at all, recorded at HQ before (`found_ids[i]`, with the
/// mutation that recorded it, `None` for visits from before HQ kept that in the row: their
/// mutation rows say it), or accepted earlier in this push (its row).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Known {
    Absent,
    AtHq(usize),
    ThisPush(usize),
}

/// The writer's half for one push: what HQ has of the push's households and visit ids (looked
/// up for the whole push before its first operation), and the rows accepted so far. The rows
/// are written (`flush`) after the last visit of a run, before any other command runs; only
/// visits read the `visit` table while a push applies, and they read through here, so they
/// see the rows accepted but not yet written too.
pub struct VisitBatch<'a> {
    rows: &'a VisitRows,
    /// Household id → its grid at HQ (`None`: no such household).
    households: HashMap<&'a str, Option<String>>,
    /// Empty, and not kept, when HQ has none of the push's visit ids and the push names each
    /// once (nearly always): every visit is then new, with no map to fill and probe.
    ids: HashMap<&'a str, Known>,
    track_ids: bool,
    /// HQ's (visit id, mutation id) for the ids it has.
    found_ids: Found,
    /// Accepted rows not written yet, as runs of consecutive rows.
    pending: Vec<Range<usize>>,
    /// What HQ holds of the visits it already has, id through capture time (`load_stored`).
    stored: HashMap<String, Vec<Value>>,
}

impl<'a> VisitBatch<'a> {
    /// From the lookups of `rows.lookup_keys()`: `found_households` (id, grid) and
    /// `found_ids` (visit id, mutation id) are what HQ has of them.
    pub fn new(rows: &'a VisitRows, found_households: Found, found_ids: Found) -> VisitBatch<'a> {
        let (households, ids) = rows.lookup_keys();
        let mut households: HashMap<&str, Option<String>> = households.into_iter().map(|h| (h, None)).collect();
        for (h, grid) in found_households {
            if let Some(slot) = households.get_mut(h.as_str()) {
                *slot = grid;
            }
        }
        let track_ids = !found_ids.is_empty() || ids.len() < rows.rows.len() / WIDTH;
        let mut ids: HashMap<&str, Known> =
            if track_ids { ids.into_iter().map(|v| (v, Known::Absent)).collect() } else { HashMap::new() };
        for (i, (v, _)) in found_ids.iter().enumerate() {
            if let Some(slot) = ids.get_mut(v.as_str()) {
                *slot = Known::AtHq(i);
            }
        }
        VisitBatch { rows, households, ids, track_ids, found_ids, pending: Vec::new(), stored: HashMap::new() }
    }

    /// Read what HQ holds of the push's visits it already has (a resend: rare), so that one
    /// sent again under its mutation id is a duplicate only when it is the same visit.
    pub fn load_stored(&mut self, tx: &mut dyn Tx) -> Result<(), ApiError> {
        if self.found_ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<Value> = self.found_ids.iter().map(|(id, _)| Value::Text(id.clone())).collect();
        let marks = vec!["?"; ids.len()].join(", ");
        let rows = tx.query(
            &format!(
                "SELECT id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction, case_id,
                        lat, lng, occurred_ms
                 FROM visit WHERE id IN ({marks})"
            ),
            &ids,
        )?;
        for r in rows {
            if let Some(Value::Text(id)) = r.0.first() {
                self.stored.insert(id.clone(), r.0);
            }
        }
        Ok(())
    }

    /// Whether a prepared row is the visit HQ holds under its id (content as the phone sent it).
    fn same_as_stored(&self, row: usize) -> bool {
        let Some(stored) = self.stored.get(self.rows.text(row, ID)) else { return false };
        let sent = &self.rows.rows[row * WIDTH..row * WIDTH + OCCURRED + 1];
        stored.len() == sent.len() && stored.iter().zip(sent).all(|(a, b)| same_value(a, b))
    }

    /// Whether HQ has this visit, recorded by the very mutation that carries it now (an
    /// operation at a seq HQ settled before is then the same operation).
    /// `Some(true)` when it is the very visit HQ holds, `Some(false)` when HQ holds other content
    /// under that visit id and mutation id, `None` when HQ does not have it under this mutation.
    pub fn recorded_by_own_mutation(&self, prepared: &Prepared) -> Option<bool> {
        let Ok(row) = prepared else { return None };
        let (id, mutation) = (self.rows.text(*row, ID), self.rows.text(*row, MUTATION));
        match self.ids.get(id) {
            Some(Known::AtHq(i)) if self.found_ids[*i].1.as_deref() == Some(mutation) => {
                Some(self.same_as_stored(*row))
            }
            _ => None,
        }
    }

    /// The writer's checks of a prepared visit, given the worker's own grid check: accepted
    /// (`AppliedInRecord`, written at the next `flush`), recorded by this very mutation before
    /// (`AlreadyApplied`), or refused.
    pub fn settle(&mut self, cx: &Ctx<'_>, prepared: &Prepared) -> Step {
        let row = match prepared {
            Ok(row) => *row,
            Err((code, reason)) => return Err(Refusal::Reject(code, reason.clone())),
        };
        let rows = self.rows;
        own_worker(cx, rows.text(row, WORKER))?;
        own_grid(cx, rows.text(row, GRID))?;
        // Every household and visit id of the push was looked up before its first operation.
        let household = self.households.get(rows.text(row, HOUSEHOLD)).and_then(|g| g.as_deref());
        own_grid(cx, household.ok_or_else(|| not_found("household"))?)?;
        let (id, mutation) = (rows.text(row, ID), rows.text(row, MUTATION));
        let (by, same) = match self.ids.get(id).copied().unwrap_or(Known::Absent) {
            Known::Absent => (None, false),
            Known::AtHq(i) => (Some(self.found_ids[i].1.as_deref()), self.same_as_stored(row)),
            Known::ThisPush(r) => (Some(Some(rows.text(r, MUTATION))), self.rows.same_visit(r, row)),
        };
        match by {
            None => {}
            Some(Some(m)) if m == mutation && same => return Ok(Outcome::AlreadyApplied),
            Some(Some(m)) if m == mutation => return Ok(Outcome::Reused),
            Some(_) => {
                return Err(Refusal::Reject(
                    codes::INVALID_INPUT,
                    "visit.id: a visit with this id already exists".into(),
                ))
            }
        }
        if self.track_ids {
            self.ids.insert(id, Known::ThisPush(row));
        }
        match self.pending.last_mut() {
            Some(run) if run.end == row => run.end += 1,
            _ => self.pending.push(row..row + 1),
        }
        Ok(Outcome::AppliedInRecord)
    }

    /// Write the accepted rows.
    pub fn flush(&mut self, tx: &mut dyn Tx) -> Result<(), ApiError> {
        for run in self.pending.drain(..) {
            tx.insert_rows(
                "visit (id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction, case_id,
                        lat, lng, occurred_ms, device_ms, received_ms, effective_ms, mutation_id)",
                VISIT_COLS,
                &self.rows.rows[run.start * WIDTH..run.end * WIDTH],
                "",
            )?;
            // The figures' counts, in the same transaction as the visits.
            let counted: Vec<(&str, &str, i64, &str)> = run
                .clone()
                .map(|row| {
                    let at = match &self.rows.rows[row * WIDTH + EFFECTIVE] {
                        Value::Int(ms) => *ms,
                        _ => 0,
                    };
                    (self.rows.text(row, GRID), self.rows.text(row, WORKER), at, "")
                })
                .collect();
            crate::admin::rollups::add_records(tx, crate::admin::rollups::VISIT, counted)?;
            // 反馈清 comes from the follow-up visit (诉求回访): its satisfaction becomes the case's.
            for row in run {
                let cell = |col: usize| &self.rows.rows[row * WIDTH + col];
                let follow_up = matches!(cell(VISIT_TYPE), Value::Code(c) if *c == VisitType::FollowUp.code());
                if let (true, Value::Int(score), Value::Text(case_id)) = (follow_up, cell(SATISFACTION), cell(CASE)) {
                    record_satisfaction(tx, case_id, *score)?;
                }
            }
        }
        Ok(())
    }
}

/// A follow-up visit's satisfaction, written into its case's clear items (the case may be of
/// any state; a case HQ does not know is left alone, the visit itself keeps the score).
fn record_satisfaction(tx: &mut dyn Tx, case_id: &str, score: i64) -> Result<(), ApiError> {
    let Some(case) = crate::model::cases::lock_case(tx, case_id)? else { return Ok(()) };
    let mut clear = case.clear;
    clear.satisfaction = u8::try_from(score).ok();
    tx.exec(
        "UPDATE case_file SET clear = ?, updated_ms = ? WHERE id = ?",
        crate::p![serde_json::to_string(&clear).unwrap_or_default(), crate::now_ms(), case_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridpatrol_protocol::domain::{NeedTag, VisitOutcome, VisitType};

    /// A prepared row holds what the `visit` table always held: the needs as a JSON array of
    /// their codes (as serde writes it), the capture time moved by the skew and never later
    /// than HQ's clock.
    #[test]
    fn a_prepared_row_is_the_visit_row() {
        let mut rows = VisitRows::default();
        let visit = |needs: Vec<NeedTag>| Visit {
            id: "v-1".into(),
            worker_id: "w-1".into(),
            household_id: "h-1".into(),
            grid_id: "g-1".into(),
            visit_type: VisitType::MustVisit,
            outcome: VisitOutcome::Met,
            needs,
            note: None,
            satisfaction: None,
            case_id: None,
            location: None,
            occurred_at: chrono::DateTime::from_timestamp_millis(10_000).unwrap(),
        };
        let at = Received { now: 9_000, skew: 500, device_ms: 7, mutation_id: "m-1" };
        for needs in [vec![], vec![NeedTag::Living], NeedTag::ALL.to_vec()] {
            let codes: Vec<&str> = needs.iter().map(|n| n.code()).collect();
            let row = rows.prepare(visit(needs), &at).unwrap();
            let r = &rows.rows[row * WIDTH..(row + 1) * WIDTH];
            assert_eq!(r[6], Value::Text(serde_json::to_string(&codes).unwrap()));
            assert_eq!((&r[4], &r[5]), (&Value::Code("must_visit"), &Value::Code("met")));
            assert_eq!(
                (&r[12], &r[14], &r[15], &r[16]),
                (&Value::Int(10_000), &Value::Int(9_000), &Value::Int(9_000), &Value::from("m-1"))
            );
        }
        let refused = rows.prepare(Visit { satisfaction: Some(9), ..visit(vec![]) }, &at).unwrap_err();
        assert_eq!(refused.0, codes::INVALID_INPUT);
        let follow_up =
            Visit { visit_type: VisitType::FollowUp, satisfaction: Some(4), case_id: None, ..visit(vec![]) };
        let refused = rows.prepare(follow_up, &at).unwrap_err();
        assert!(refused.1.starts_with("invalid visit.case_id"), "{refused:?}");
        assert_eq!(refused.0, codes::INVALID_INPUT);
    }
}
