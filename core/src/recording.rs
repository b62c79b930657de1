//! The recording operations: 巡查 patrols, 走访 visits, 上报 reports, case steps and task
//! actions. Each validates everything first, then writes its rows and returns its command;
//! `Store::record` appends the outbox row and commits, all in one transaction.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension};

use crate::attachments;
use crate::case_flow::{self, ClearItems};
use crate::clock::to_time;
use crate::domain::*;
use crate::geo;
use crate::inputs::*;
use crate::records::*;
use crate::rows::{case_state, insert_case_event_row, load_patrol, load_task};
use crate::store::{Store, WriteCtx};
use crate::validate;
use crate::{new_id, CoreError, Result};

use gridpatrol_protocol::rules::{self, MAX_DESCRIPTION_CHARS, MAX_NOTE_CHARS, MAX_PLACE_CHARS};

impl Store {
    /// Start a patrol (巡查) in one of the worker's grids. One patrol at a time.
    pub fn start_patrol(&self, grid_id: &str, shift: PatrolShift) -> Result<Patrol> {
        self.record(|cx| {
            cx.refdata.own_grid("grid_id", grid_id)?;
            let open: Option<String> = cx
                .tx
                .prepare_cached("SELECT id FROM patrol WHERE worker_id = ?1 AND in_progress = 1")?
                .query_row([&cx.device.worker_id], |r| r.get(0))
                .optional()?;
            if let Some(id) = open {
                return Err(CoreError::PatrolState { id, reason: "is still in progress; finish it first".into() });
            }
            let t = &cx.refdata.active_template;
            let p = Patrol {
                id: new_id(),
                worker_id: cx.device.worker_id.clone(),
                grid_id: grid_id.to_string(),
                shift,
                template_id: t.id.clone(),
                template_version: t.version,
                started_at: to_time(cx.now_ms),
                finished_at: None,
                outcome: None,
                note: None,
            };
            cx.tx.prepare_cached(
                "INSERT INTO patrol (id, worker_id, grid_id, shift, template_id, template_version, started_ms, in_progress)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
            )?
            .execute(params![p.id, p.worker_id, p.grid_id, shift.code(), p.template_id, p.template_version, cx.now_ms])?;
            Ok((p.clone(), Command::StartPatrol { patrol: p }))
        })
    }

    /// Append GPS track points to a patrol in progress. Returns the patrol's point count.
    pub fn add_track_points(&self, patrol_id: &str, points: &[TrackPoint]) -> Result<u32> {
        rules::track_points("points", points)?;
        self.record(|cx| {
            own_patrol_in_progress(cx, patrol_id)?;
            let first: u32 = cx
                .tx
                .prepare_cached("SELECT COUNT(*) FROM patrol_track WHERE patrol_id = ?1")?
                .query_row([patrol_id], |r| r.get(0))?;
            let mut stmt = cx.tx.prepare_cached(
                "INSERT INTO patrol_track (patrol_id, n, lat, lng, accuracy_m, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (i, p) in points.iter().enumerate() {
                stmt.execute(params![
                    patrol_id,
                    first + i as u32,
                    p.lat,
                    p.lng,
                    p.accuracy_m,
                    p.at.timestamp_millis()
                ])?;
            }
            let total = first + points.len() as u32;
            Ok((
                total,
                Command::AddTrackPoints { patrol_id: patrol_id.to_string(), first_n: first, points: points.to_vec() },
            ))
        })
    }

    /// Check in at a checkpoint with the template's checklist answers (人到 + 眼到).
    /// A check-in outside the grid, with a weak fix or from a mock-location provider is
    /// recorded and flagged (`trusted = false`: it does not count for 人到), never refused.
    pub fn check_in(&self, patrol_id: &str, input: CheckInInput) -> Result<Checkpoint> {
        let location = rules::location("location", input.location, input.datum)?;
        rules::accuracy("accuracy_m", input.accuracy_m)?;
        let place_name = validate::optional_text("place_name", input.place_name.as_deref(), MAX_PLACE_CHARS)?;
        let mut answers = Vec::with_capacity(input.answers.len());
        for (i, a) in input.answers.iter().enumerate() {
            let note = validate::optional_text(&format!("answers[{i}].note"), a.note.as_deref(), MAX_NOTE_CHARS)?;
            answers.push(ChecklistAnswer { item_id: a.item_id.clone(), answer: a.answer, note });
        }
        self.record(|cx| {
            let patrol = own_patrol_in_progress(cx, patrol_id)?;
            let template = cx.refdata.template(&patrol.template_id, patrol.template_version)?;
            let mut seen = HashSet::new();
            for (i, a) in answers.iter().enumerate() {
                if template.checklist_item(&a.item_id).is_none() {
                    return Err(CoreError::invalid(
                        format!("answers[{i}].item_id"),
                        format!("not an item of checklist {} v{}", template.id, template.version),
                    ));
                }
                if !seen.insert(a.item_id.as_str()) {
                    return Err(CoreError::invalid(format!("answers[{i}].item_id"), "answered twice"));
                }
            }
            let inside = cx.refdata.grids.get(&patrol.grid_id).is_some_and(|g| geo::contains(&g.boundary, location));
            let cp = Checkpoint {
                id: new_id(),
                patrol_id: patrol_id.to_string(),
                at: to_time(cx.now_ms),
                location,
                accuracy_m: input.accuracy_m,
                inside_grid: inside,
                place_name: place_name.clone(),
                answers: answers.clone(),
                mock_location: input.mock_location,
                trusted: rules::trusted_fix(
                    inside,
                    input.accuracy_m,
                    input.mock_location,
                    template.patrol.max_accuracy_m,
                ),
            };
            cx.tx.prepare_cached(
                "INSERT INTO checkpoint (id, patrol_id, at_ms, lat, lng, accuracy_m, inside_grid, place_name, answers,
                                         mock_location, trusted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                cp.id,
                cp.patrol_id,
                cx.now_ms,
                cp.location.lat,
                cp.location.lng,
                cp.accuracy_m,
                inside,
                cp.place_name,
                serde_json::to_string(&cp.answers)?,
                cp.mock_location,
                cp.trusted
            ])?;
            Ok((cp.clone(), Command::CheckIn { checkpoint: cp }))
        })
    }

    /// Finish a patrol. "Nothing found" is a valid outcome (记到); "findings" needs at least
    /// one report filed from this patrol.
    pub fn finish_patrol(&self, patrol_id: &str, outcome: PatrolOutcome, note: Option<&str>) -> Result<Patrol> {
        let note = validate::optional_text("note", note, MAX_NOTE_CHARS)?;
        self.record(|cx| {
            let mut p = own_patrol_in_progress(cx, patrol_id)?;
            let reports: i64 = cx
                .tx
                .prepare_cached("SELECT COUNT(*) FROM report WHERE patrol_id = ?1")?
                .query_row([patrol_id], |r| r.get(0))?;
            match outcome {
                PatrolOutcome::Findings if reports == 0 => {
                    return Err(CoreError::invalid(
                        "outcome",
                        "findings need at least one report filed from this patrol",
                    ))
                }
                PatrolOutcome::NothingFound if reports > 0 => {
                    return Err(CoreError::invalid(
                        "outcome",
                        "reports were filed on this patrol; the outcome is findings",
                    ))
                }
                _ => {}
            }
            cx.tx
                .prepare_cached(
                    "UPDATE patrol SET finished_ms = ?2, outcome = ?3, note = ?4, in_progress = 0 WHERE id = ?1",
                )?
                .execute(params![patrol_id, cx.now_ms, outcome.code(), note])?;
            p.finished_at = Some(to_time(cx.now_ms));
            p.outcome = Some(outcome);
            p.note = note.clone();
            let cmd = Command::FinishPatrol {
                patrol_id: p.id.clone(),
                outcome,
                note: note.clone(),
                finished_at: to_time(cx.now_ms),
            };
            Ok((p, cmd))
        })
    }

    /// Record a visit (居民四访) to a household in one of the worker's grids.
    pub fn record_visit(&self, input: VisitInput) -> Result<Visit> {
        let household_id = validate::id("household_id", &input.household_id)?;
        let note = validate::optional_text("note", input.note.as_deref(), MAX_NOTE_CHARS)?;
        let location = input.location.map(|l| rules::location("location", l, input.datum)).transpose()?;
        let occurred_ms = input.occurred_at.map(|t| validate::plausible_time("occurred_at", t)).transpose()?;
        let mut needs = Vec::new();
        for n in &input.needs {
            if !needs.contains(n) {
                needs.push(*n);
            }
        }
        rules::visit_follow_up(input.visit_type, input.outcome, input.satisfaction, input.case_id.as_deref())?;
        self.record(|cx| {
            let grid_id: String = cx
                .tx
                .prepare_cached("SELECT grid_id FROM household WHERE id = ?1")?
                .query_row([&household_id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| CoreError::not_found("household", &household_id))?;
            cx.refdata.own_grid("household_id", &grid_id)?;
            if let Some(case_id) = &input.case_id {
                let (_, _, case_grid) = case_state(cx.tx, case_id)?;
                if !cx.refdata.is_own_grid(&case_grid) {
                    return Err(CoreError::not_found("case", case_id));
                }
            }
            let v = Visit {
                id: new_id(),
                worker_id: cx.device.worker_id.clone(),
                household_id: household_id.clone(),
                grid_id,
                visit_type: input.visit_type,
                outcome: input.outcome,
                needs: needs.clone(),
                note: note.clone(),
                satisfaction: input.satisfaction,
                case_id: input.case_id.clone(),
                location,
                occurred_at: to_time(occurred_ms.unwrap_or(cx.now_ms)),
            };
            let needs_codes: Vec<&str> = v.needs.iter().map(|n| n.code()).collect();
            cx.tx.prepare_cached(
                "INSERT INTO visit (id, worker_id, household_id, grid_id, visit_type, outcome, needs, note, satisfaction,
                                    case_id, occurred_ms, lat, lng)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                v.id,
                v.worker_id,
                v.household_id,
                v.grid_id,
                v.visit_type.code(),
                v.outcome.code(),
                serde_json::to_string(&needs_codes)?,
                v.note,
                v.satisfaction,
                v.case_id,
                v.occurred_at.timestamp_millis(),
                v.location.map(|l| l.lat),
                v.location.map(|l| l.lng)
            ])?;
            // 反馈清 comes from the follow-up visit (诉求回访): its satisfaction becomes the case's,
            // as HQ records it when the visit arrives.
            if let (VisitType::FollowUp, Some(score), Some(case_id)) = (v.visit_type, v.satisfaction, &v.case_id) {
                let (_, mut clear, _) = case_state(cx.tx, case_id)?;
                clear.satisfaction = Some(score);
                cx.tx
                    .prepare_cached("UPDATE case_file SET clear = ?2, updated_ms = ?3 WHERE id = ?1")?
                    .execute(params![case_id, serde_json::to_string(&clear)?, cx.now_ms])?;
            }
            Ok((v.clone(), Command::RecordVisit { visit: v }))
        })
    }

    /// File a report (情况五报). Every report opens a case in state 上报 (reported).
    pub fn file_report(&self, input: ReportInput) -> Result<Report> {
        let grid_id = validate::id("grid_id", &input.grid_id)?;
        let location = rules::location("location", input.location, input.datum)?;
        let description = validate::required_text("description", &input.description, MAX_DESCRIPTION_CHARS)?;
        let place_name = validate::optional_text("place_name", input.place_name.as_deref(), MAX_PLACE_CHARS)?;
        rules::people_involved("people_involved", input.people_involved)?;
        let urgency = report_urgency(input.category, input.urgency)?;
        report_source_refs(&input)?;
        // Photos are copied (durably) before the transaction: the row never points at nothing.
        let staged = self.stage_photos(&input.photos)?;
        self.record(|cx| {
            cx.refdata.own_grid("grid_id", &grid_id)?;
            if let Some(pid) = &input.patrol_id {
                let owner: Option<String> = cx
                    .tx
                    .prepare_cached("SELECT worker_id FROM patrol WHERE id = ?1")?
                    .query_row([pid], |r| r.get(0))
                    .optional()?;
                if owner.as_deref() != Some(cx.device.worker_id.as_str()) {
                    return Err(CoreError::not_found("patrol", pid));
                }
            }
            if let Some(vid) = &input.visit_id {
                let exists: bool = cx
                    .tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM visit WHERE id = ?1)")?
                    .query_row([vid], |r| r.get(0))?;
                if !exists {
                    return Err(CoreError::not_found("visit", vid));
                }
            }
            let photos = attachments::insert(cx.tx, &staged, cx.now_ms)?;
            let r = Report {
                id: new_id(),
                worker_id: cx.device.worker_id.clone(),
                grid_id: grid_id.clone(),
                category: input.category,
                urgency,
                location,
                place_name: place_name.clone(),
                description: description.clone(),
                people_involved: input.people_involved,
                source: input.source,
                patrol_id: input.patrol_id.clone(),
                visit_id: input.visit_id.clone(),
                occurred_at: to_time(cx.now_ms),
                photos: photos.clone(),
                case_id: new_id(),
            };
            cx.tx
                .prepare_cached(
                    "INSERT INTO report (id, worker_id, grid_id, category, urgency, lat, lng, place_name, description,
                                     people_involved, source, patrol_id, visit_id, occurred_ms, case_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )?
                .execute(params![
                    r.id,
                    r.worker_id,
                    r.grid_id,
                    r.category.code(),
                    r.urgency.code(),
                    r.location.lat,
                    r.location.lng,
                    r.place_name,
                    r.description,
                    r.people_involved,
                    r.source.code(),
                    r.patrol_id,
                    r.visit_id,
                    cx.now_ms,
                    r.case_id
                ])?;
            let mut stmt =
                cx.tx.prepare_cached("INSERT OR IGNORE INTO report_photo (report_id, sha256) VALUES (?1, ?2)")?;
            for p in &photos {
                stmt.execute(params![r.id, p])?;
            }
            cx.tx
                .prepare_cached(
                    "INSERT INTO case_file (id, report_id, grid_id, state, deadline_ms, clear, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, NULL, '{}', ?5, ?5)",
                )?
                .execute(params![r.case_id, r.id, r.grid_id, CaseState::Reported.code(), cx.now_ms])?;
            let first = CaseEvent {
                id: new_id(),
                case_id: r.case_id.clone(),
                n: 1,
                from: None,
                to: CaseState::Reported,
                actor_id: cx.device.worker_id.clone(),
                at: to_time(cx.now_ms),
                note: None,
                clear: ClearItems::default(),
                photos: photos.clone(),
            };
            insert_case_event(cx, &first)?;
            Ok((r.clone(), Command::FileReport { report: r }))
        })
    }

    /// Move a case one step along its lifecycle (append-only). Closing needs the six clear
    /// items; closing straight from 上报 is 即知即办 and also needs photo evidence.
    pub fn move_case(&self, input: CaseStepInput) -> Result<CaseEvent> {
        let case_id = validate::id("case_id", &input.case_id)?;
        let note = validate::optional_text("note", input.note.as_deref(), MAX_NOTE_CHARS)?;
        let patch = rules::clear_items(&input.clear)?;
        let staged = self.stage_photos(&input.photos)?;
        self.record(|cx| {
            let (from, current, grid_id) = case_state(cx.tx, &case_id)?;
            cx.refdata.own_grid("case_id", &grid_id).map_err(|_| CoreError::not_found("case", &case_id))?;
            let to = input.to;
            if !case_flow::is_legal(from, to) {
                return Err(CoreError::IllegalTransition { from, to });
            }
            let actor = Actor::from(cx.refdata.worker_role);
            if let Some(sha) = &patch.outcome_photo {
                let known: bool = cx
                    .tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM attachment WHERE sha256 = ?1)")?
                    .query_row([sha], |r| r.get(0))?;
                if !known {
                    return Err(CoreError::invalid("clear.outcome_photo", "is not a photo in this store"));
                }
            }
            let photos = attachments::insert(cx.tx, &staged, cx.now_ms)?;
            let required = &cx.refdata.active_template.resolution.required;
            let (clear, patch) =
                rules::case_step(actor, from, to, &current, &patch, &photos, required).map_err(step_refused)?;
            let n: u32 = cx
                .tx
                .prepare_cached("SELECT COALESCE(MAX(n), 0) + 1 FROM case_event WHERE case_id = ?1")?
                .query_row([&case_id], |r| r.get(0))?;
            let ev = CaseEvent {
                id: new_id(),
                case_id: case_id.clone(),
                n,
                from: Some(from),
                to,
                actor_id: cx.device.worker_id.clone(),
                at: to_time(cx.now_ms),
                note: note.clone(),
                clear: patch.clone(),
                photos,
            };
            insert_case_event(cx, &ev)?;
            cx.tx
                .prepare_cached(
                    "UPDATE case_file SET state = ?2, clear = ?3, deadline_ms = ?4, updated_ms = ?5 WHERE id = ?1",
                )?
                .execute(params![
                    case_id,
                    to.code(),
                    serde_json::to_string(&clear)?,
                    clear.deadline.map(|d| d.timestamp_millis()),
                    cx.now_ms
                ])?;
            Ok((ev.clone(), Command::CaseStep { event: ev }))
        })
    }

    /// Acknowledge, set off for, or complete a task dispatched by HQ.
    pub fn act_on_task(&self, input: TaskActionInput) -> Result<Task> {
        let task_id = validate::id("task_id", &input.task_id)?;
        let result = validate::optional_text("result", input.result.as_deref(), MAX_DESCRIPTION_CHARS)?;
        let location = input.location.map(|l| rules::location("location", l, input.datum)).transpose()?;
        rules::task_step(input.action, result.as_deref(), input.photos.len(), location)?;
        let staged = self.stage_photos(&input.photos)?;
        self.record(|cx| {
            let mut task = load_task(cx.tx, &task_id)?.ok_or_else(|| CoreError::not_found("task", &task_id))?;
            if task.assignee_id != cx.device.worker_id {
                return Err(CoreError::not_found("task", &task_id));
            }
            let to = rules::task_transition(task.status, input.action)
                .ok_or_else(|| CoreError::IllegalTaskAction { status: task.status, action: input.action.label() })?;
            let photos = attachments::insert(cx.tx, &staged, cx.now_ms)?;
            let ev = TaskEvent {
                id: new_id(),
                task_id: task_id.clone(),
                action: input.action,
                from: task.status,
                to,
                at: to_time(cx.now_ms),
                result: result.clone(),
                photos,
                location,
            };
            cx.tx
                .prepare_cached(
                    "INSERT INTO task_event (id, task_id, action, from_status, to_status, at_ms, result, photos, lat, lng)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    ev.id,
                    ev.task_id,
                    ev.action.code(),
                    ev.from.code(),
                    ev.to.code(),
                    cx.now_ms,
                    ev.result,
                    serde_json::to_string(&ev.photos)?,
                    ev.location.map(|l| l.lat),
                    ev.location.map(|l| l.lng)
                ])?;
            cx.tx
                .prepare_cached(
                    "UPDATE task SET status = ?2, result = COALESCE(?3, result), updated_ms = ?4 WHERE id = ?1",
                )?
                .execute(params![task_id, to.code(), result, cx.now_ms])?;
            task.status = to;
            if result.is_some() {
                task.result = result.clone();
            }
            Ok((task, Command::TaskStep { event: ev }))
        })
    }
}

/// A case step the shared rules refuse, as the phone's error.
fn step_refused(r: rules::StepRefused) -> CoreError {
    match r {
        rules::StepRefused::ClearItemsMissing(missing) => CoreError::ClearItemsMissing { missing },
        r @ (rules::StepRefused::NotYourStep { .. } | rules::StepRefused::LedgerByOffice { .. }) => {
            CoreError::RoleNotAllowed { field: r.field().into(), reason: r.reason() }
        }
        other => CoreError::invalid(other.field(), other.reason()),
    }
}

fn own_patrol_in_progress(cx: &WriteCtx<'_>, patrol_id: &str) -> Result<Patrol> {
    let p = load_patrol(cx.tx, patrol_id)?.ok_or_else(|| CoreError::not_found("patrol", patrol_id))?;
    if p.worker_id != cx.device.worker_id {
        return Err(CoreError::not_found("patrol", patrol_id));
    }
    if p.finished_at.is_some() {
        return Err(CoreError::PatrolState { id: patrol_id.to_string(), reason: "is already finished".into() });
    }
    Ok(p)
}

fn insert_case_event(cx: &WriteCtx<'_>, ev: &CaseEvent) -> Result<()> {
    insert_case_event_row(cx.tx, ev, &cx.hlc.to_string())
}

/// A report's urgency: hazards and emergencies are reported at once (即报); the default is
/// normal for the rest. Also the report form's check (`screens::forms`).
pub(crate) fn report_urgency(category: ReportCategory, urgency: Option<Urgency>) -> Result<Urgency> {
    match (urgency, category.report_at_once()) {
        (None, true) | (Some(Urgency::Immediate), _) => Ok(Urgency::Immediate),
        (Some(Urgency::Normal), true) => {
            Err(CoreError::invalid("urgency", "safety hazards and emergencies are reported at once"))
        }
        (None, false) | (Some(Urgency::Normal), false) => Ok(Urgency::Normal),
    }
}

/// A report found on a patrol names the patrol; one found on a visit names the visit.
pub(crate) fn report_source_refs(input: &ReportInput) -> Result<()> {
    match input.source {
        ReportSource::Patrol if input.patrol_id.is_none() => {
            Err(CoreError::invalid("patrol_id", "a report found on patrol names the patrol"))
        }
        ReportSource::Visit if input.visit_id.is_none() => {
            Err(CoreError::invalid("visit_id", "a report found on a visit names the visit"))
        }
        _ => Ok(()),
    }
}

impl Store {
    /// Photos of one recording call, processed for the store (`attachments::stage`)
    /// with the store's photo settings; originals are kept when the active template says so.
    fn stage_photos(&self, photos: &[std::path::PathBuf]) -> Result<Vec<attachments::Staged>> {
        let keep = self.refdata().active_template.keep_original_photos;
        attachments::stage("photos", photos, &self.opts.photos, keep)
    }
}
