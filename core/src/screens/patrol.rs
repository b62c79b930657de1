//! The patrol screen, in progress or past: checkpoints with their flags, the template's
//! checklist as a form, the three parts (巡查三到) with why each is or is not done, the track.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use super::forms::{answer_choices, AnswerChoice};
use super::home::PartStatus;
use super::{colon, t, Action, ActionOption};
use crate::clock::to_time;
use crate::domain::*;
use crate::records::ChecklistAnswer;
use crate::rows::load_patrol;
use crate::store::Store;
use crate::template::Template;
use crate::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PatrolScreen {
    pub patrol_id: String,
    pub grid_id: String,
    pub grid_name: String,
    pub shift: PatrolShift,
    pub shift_label: String,
    pub in_progress: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome_label: Option<String>,
    pub checkpoints: Vec<CheckpointRow>,
    /// The checklist of the template this patrol runs under, as a form: answer each item at a
    /// check-in (`CheckInInput.answers`).
    pub checklist: Vec<FormItem>,
    pub parts: Vec<PartStatus>,
    pub track_points: u32,
    /// Length of the recorded track, metres.
    pub track_length_m: f64,
    /// From start to finish (or to now while it runs), minutes.
    pub duration_minutes: i64,
    /// Plain-language flags: check-ins outside the grid, weak or mock fixes.
    pub flags: Vec<String>,
    /// Check in and finish while it runs; nothing once finished.
    pub actions: Vec<ActionOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckpointRow {
    pub id: String,
    pub at: DateTime<Utc>,
    pub location: GeoPoint,
    pub place_name: Option<String>,
    pub accuracy_m: Option<f64>,
    pub inside_grid: bool,
    pub mock_location: bool,
    /// Counts for 人到.
    pub trusted: bool,
    /// Why it does not count, in plain words; `None` when it does.
    pub flag: Option<String>,
}

/// One checklist item as a form field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FormItem {
    pub item_id: String,
    pub label: String,
    /// The answers the item takes.
    pub choices: Vec<AnswerChoice>,
    /// Every item needs an answer during the patrol for 眼到 (eyes on).
    pub required: bool,
    pub hint: String,
    /// The latest answer given on this patrol, if any.
    pub answered: Option<Answer>,
}

/// A past or running patrol in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PatrolRow {
    pub patrol_id: String,
    pub grid_id: String,
    pub shift: PatrolShift,
    pub shift_label: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub in_progress: bool,
    pub outcome_label: Option<String>,
}

/// What a patrol's check-ins and reports add up to so far.
pub(crate) struct PatrolTally {
    pub checkins: u32,
    pub outside: u32,
    pub trusted: u32,
    pub answered: u32,
    pub reports: u32,
    /// Latest answer per checklist item.
    pub answers: HashMap<String, Answer>,
}

impl PatrolTally {
    pub fn read(c: &Connection, patrol_id: &str, template: &Template) -> Result<PatrolTally> {
        let mut stmt = c.prepare_cached(
            "SELECT inside_grid, answers, trusted FROM checkpoint WHERE patrol_id = ?1 ORDER BY at_ms",
        )?;
        let mut tally =
            PatrolTally { checkins: 0, outside: 0, trusted: 0, answered: 0, reports: 0, answers: HashMap::new() };
        for row in
            stmt.query_map([patrol_id], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))?
        {
            let (inside, answers, trusted) = row?;
            tally.checkins += 1;
            tally.outside += u32::from(!inside);
            tally.trusted += u32::from(trusted);
            for a in serde_json::from_str::<Vec<ChecklistAnswer>>(&answers)? {
                tally.answers.insert(a.item_id, a.answer);
            }
        }
        tally.answered = template.patrol.checklist.iter().filter(|i| tally.answers.contains_key(&i.id)).count() as u32;
        tally.reports = c
            .prepare_cached("SELECT COUNT(*) FROM report WHERE patrol_id = ?1")?
            .query_row([patrol_id], |r| r.get(0))?;
        Ok(tally)
    }
}

/// 巡查三到 by the shared rule (`rules::patrol_parts`), each with why.
pub(crate) fn parts_of(
    tally: &PatrolTally,
    template: &Template,
    outcome: Option<PatrolOutcome>,
    lang: Lang,
) -> Vec<PartStatus> {
    let min = template.patrol.min_checkins;
    let total = template.patrol.checklist.len();
    gridpatrol_protocol::rules::patrol_parts(tally.trusted, min, tally.answered as usize, total, tally.reports, outcome)
        .into_iter()
        .map(|(part, done)| {
            let why = match part {
                PatrolPart::PersonOnSite => t(
                    lang,
                    &format!("{}/{} 次有效打卡", tally.trusted, min),
                    &format!("{} of {} trusted check-ins", tally.trusted, min),
                ),
                PatrolPart::EyesOn => t(
                    lang,
                    &format!("检查项已答 {}/{}", tally.answered, total),
                    &format!("{} of {} checklist items answered", tally.answered, total),
                ),
                PatrolPart::Recorded if tally.reports > 0 => {
                    t(lang, &format!("已上报 {} 条", tally.reports), &format!("{} reports filed", tally.reports))
                }
                PatrolPart::Recorded if done => t(lang, "结束时记“未发现问题”", "finished with “nothing found”"),
                PatrolPart::Recorded => {
                    t(lang, "上报发现，或结束时记“未发现问题”", "report a finding, or finish with “nothing found”")
                }
            };
            PartStatus { part, label: part.label_in(lang), done, why }
        })
        .collect()
}

/// Great-circle distance in metres (the track is short: haversine is plenty).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

pub(crate) fn patrol_row(p: &crate::records::Patrol, lang: Lang) -> PatrolRow {
    PatrolRow {
        patrol_id: p.id.clone(),
        grid_id: p.grid_id.clone(),
        shift: p.shift,
        shift_label: p.shift.label_in(lang),
        started_at: p.started_at,
        finished_at: p.finished_at,
        in_progress: p.finished_at.is_none(),
        outcome_label: p.outcome.map(|o| o.label_in(lang)),
    }
}

impl Store {
    /// One patrol of this worker's, running or past.
    pub fn patrol_screen(&self, patrol_id: &str) -> Result<PatrolScreen> {
        let now_ms = self.now_ms();
        let lang = self.language();
        let refdata = self.refdata();
        let worker_id = self.device().worker_id;
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let p = load_patrol(&tx, patrol_id)?
                .filter(|p| p.worker_id == worker_id)
                .ok_or_else(|| CoreError::not_found("patrol", patrol_id))?;
            let template = refdata.template(&p.template_id, p.template_version)?;
            let tally = PatrolTally::read(&tx, patrol_id, template)?;
            let max_accuracy = template.patrol.max_accuracy_m;
            let mut checkpoints = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT id, at_ms, lat, lng, place_name, accuracy_m, inside_grid, mock_location, trusted
                 FROM checkpoint WHERE patrol_id = ?1 ORDER BY at_ms",
            )?;
            let rows = stmt.query_map([patrol_id], |r| {
                Ok(CheckpointRow {
                    id: r.get(0)?,
                    at: to_time(r.get(1)?),
                    location: GeoPoint { lat: r.get(2)?, lng: r.get(3)? },
                    place_name: r.get(4)?,
                    accuracy_m: r.get(5)?,
                    inside_grid: r.get(6)?,
                    mock_location: r.get(7)?,
                    trusted: r.get(8)?,
                    flag: None,
                })
            })?;
            for row in rows {
                let mut cp = row?;
                cp.flag = checkpoint_flag(&cp, max_accuracy, lang);
                checkpoints.push(cp);
            }
            drop(stmt);
            let mut flags: Vec<String> = Vec::new();
            if tally.outside > 0 {
                flags.push(t(
                    lang,
                    &format!("{} 次打卡在网格外", tally.outside),
                    &format!("{} check-ins outside the grid", tally.outside),
                ));
            }
            let weak = tally.checkins - tally.outside - tally.trusted;
            if weak > 0 {
                flags.push(t(
                    lang,
                    &format!("{weak} 次打卡定位弱或为模拟位置"),
                    &format!("{weak} check-ins with a weak or mock fix"),
                ));
            }
            let mut track: Vec<(f64, f64)> = Vec::new();
            let mut stmt = tx.prepare_cached("SELECT lat, lng FROM patrol_track WHERE patrol_id = ?1 ORDER BY n")?;
            for row in stmt.query_map([patrol_id], |r| Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?)))? {
                track.push(row?);
            }
            drop(stmt);
            let track_length_m = track.windows(2).map(|w| metres(w[0], w[1])).sum::<f64>().round();
            let in_progress = p.finished_at.is_none();
            let end_ms = p.finished_at.map(|f| f.timestamp_millis()).unwrap_or(now_ms);
            let mut actions = Vec::new();
            if in_progress {
                actions
                    .push(ActionOption::new(Action::CheckIn { patrol_id: p.id.clone() }, t(lang, "打卡", "check in")));
                for outcome in PatrolOutcome::ALL {
                    actions.push(ActionOption::new(
                        Action::FinishPatrol { patrol_id: p.id.clone(), outcome: *outcome },
                        format!("{}{}{}", t(lang, "结束巡查", "finish patrol"), colon(lang), outcome.label_in(lang)),
                    ));
                }
                actions.push(ActionOption::new(
                    Action::FileReport { grid_id: p.grid_id.clone() },
                    t(lang, "上报发现", "report a finding"),
                ));
            }
            let hint = t(lang, "在打卡时作答", "answer at a check-in");
            Ok(PatrolScreen {
                patrol_id: p.id.clone(),
                grid_name: refdata.grids.get(&p.grid_id).map(|g| g.name.clone()).unwrap_or_default(),
                grid_id: p.grid_id.clone(),
                shift: p.shift,
                shift_label: p.shift.label_in(lang),
                in_progress,
                started_at: p.started_at,
                finished_at: p.finished_at,
                outcome_label: p.outcome.map(|o| o.label_in(lang)),
                checkpoints,
                checklist: template
                    .patrol
                    .checklist
                    .iter()
                    .map(|i| FormItem {
                        item_id: i.id.clone(),
                        label: i.label_in(lang),
                        choices: answer_choices(lang),
                        required: true,
                        hint: hint.clone(),
                        answered: tally.answers.get(&i.id).copied(),
                    })
                    .collect(),
                parts: parts_of(&tally, template, p.outcome, lang),
                track_points: track.len() as u32,
                track_length_m,
                duration_minutes: (end_ms - p.started_at.timestamp_millis()).max(0) / 60_000,
                flags,
                actions,
            })
        })
    }

    /// This worker's patrols in one grid, newest first.
    pub(crate) fn recent_patrols(
        &self,
        c: &Connection,
        grid_id: &str,
        limit: u32,
        lang: Lang,
    ) -> Result<Vec<PatrolRow>> {
        let worker_id = self.device().worker_id;
        let mut stmt = c.prepare_cached(
            "SELECT id FROM patrol WHERE worker_id = ?1 AND grid_id = ?2 ORDER BY started_ms DESC LIMIT ?3",
        )?;
        let ids: Vec<String> = stmt
            .query_map(rusqlite::params![worker_id, grid_id, limit], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(p) = load_patrol(c, &id)? {
                out.push(patrol_row(&p, lang));
            }
        }
        Ok(out)
    }
}

fn checkpoint_flag(cp: &CheckpointRow, max_accuracy_m: f64, lang: Lang) -> Option<String> {
    if cp.trusted {
        return None;
    }
    Some(if !cp.inside_grid {
        t(lang, "在网格外", "outside the grid")
    } else if cp.mock_location {
        t(lang, "模拟位置", "mock location")
    } else {
        match cp.accuracy_m {
            None => t(lang, "定位精度未知", "fix accuracy unknown"),
            Some(a) => t(
                lang,
                &format!("定位弱（±{a:.0} 米，需 ±{max_accuracy_m:.0} 米内）"),
                &format!("weak fix (±{a:.0} m, needs ±{max_accuracy_m:.0} m)"),
            ),
        }
    })
}
