//! The rules a record must meet, written once: the phone applies them when a worker records,
//! HQ when a push arrives. Each names the field it refuses; neither side keeps its own copy
//! (`tests/tests/rules.rs` feeds the same table of inputs to both and expects one verdict).

use crate::case_flow::{self, ClearItems};
use crate::domain::{
    Actor, CaseState, ClearItem, Datum, GeoPoint, PatrolOutcome, PatrolPart, TaskAction, TaskStatus, VisitOutcome,
    VisitType,
};
use crate::records::TrackPoint;
use crate::roles;
use crate::wire::codes;
use crate::{validate, InvalidValue, Result};

/// Notes: a visit's, a check-in answer's, a case or patrol step's, a resident's feedback.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Long texts: a report's description, a task's result, a case's facts and outcome.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// A place name.
pub const MAX_PLACE_CHARS: usize = 200;
/// Short references: the responsible unit, the ledger reference.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// Track points in one recording call (one outbox row).
pub const MAX_TRACK_POINTS: usize = 1000;
/// Photos on one record or step.
pub const MAX_PHOTOS: usize = 9;
/// People involved in one report.
pub const MAX_PEOPLE_INVOLVED: u32 = 10_000;
/// The name of a street, community or grid.
pub const MAX_AREA_NAME_CHARS: usize = 100;
/// A person's name: a worker's, an operator's, a household's contact.
pub const MAX_PERSON_NAME_CHARS: usize = 50;
/// A household's door label (building, unit, room).
pub const MAX_LABEL_CHARS: usize = 100;
/// A GPS fix's accuracy, in metres.
pub const MAX_ACCURACY_M: f64 = 100_000.0;

/// A location fix's accuracy: 0..100000 metres when given.
pub fn accuracy(field: &str, a: Option<f64>) -> Result<()> {
    match a {
        Some(a) if !a.is_finite() || !(0.0..=MAX_ACCURACY_M).contains(&a) => {
            Err(InvalidValue::new(field, "must be 0..100000 metres"))
        }
        _ => Ok(()),
    }
}

/// A photo's SHA-256, in its one canonical form: 64 lowercase hex digits.
pub fn sha256(field: &str, h: &str) -> Result<()> {
    if h.len() == 64 && h.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        Ok(())
    } else {
        Err(InvalidValue::new(field, "must be a lowercase SHA-256 hex digest"))
    }
}

/// The photos of one step: at most `MAX_PHOTOS`, each a canonical SHA-256.
pub fn photos(field: &str, photos: &[String]) -> Result<()> {
    if photos.len() > MAX_PHOTOS {
        return Err(InvalidValue::new(field, format!("at most {MAX_PHOTOS} photos")));
    }
    for (i, h) in photos.iter().enumerate() {
        sha256(&format!("{field}[{i}]"), h)?;
    }
    Ok(())
}

/// A resident's satisfaction: 1..5 when given.
pub fn satisfaction(field: &str, s: Option<u8>) -> Result<()> {
    match s {
        Some(s) if !(1..=5).contains(&s) => Err(InvalidValue::new(field, "must be 1..5")),
        _ => Ok(()),
    }
}

/// A visit's satisfaction and case: recorded only on a follow-up visit (诉求回访), which names
/// the case it follows up and, when it reached the resident, how satisfied they were (1..5).
pub fn visit_follow_up(
    visit_type: VisitType,
    outcome: VisitOutcome,
    satisfaction: Option<u8>,
    case_id: Option<&str>,
) -> Result<()> {
    let follow_up = visit_type == VisitType::FollowUp;
    match (follow_up, satisfaction) {
        (false, Some(_)) => return Err(InvalidValue::new("satisfaction", "is recorded only on follow-up visits")),
        (true, None) if outcome != VisitOutcome::NotHome => {
            return Err(InvalidValue::new(
                "satisfaction",
                "a follow-up visit that reached the resident needs satisfaction 1..5",
            ))
        }
        _ => {}
    }
    self::satisfaction("satisfaction", satisfaction)?;
    if follow_up && case_id.is_none() {
        return Err(InvalidValue::new("case_id", "a follow-up visit names the case it follows up"));
    }
    Ok(())
}

/// The task state machine: where `action` takes a task in `from`, if it may. Acknowledge →
/// on the way → arrived (with a GPS fix) → done (with its result); an open task may be sent
/// back with a reason instead.
pub fn task_transition(from: TaskStatus, action: TaskAction) -> Option<TaskStatus> {
    use TaskStatus::*;
    match (from, action) {
        (Dispatched, TaskAction::Acknowledge) => Some(Acknowledged),
        (Acknowledged, TaskAction::OnTheWay) => Some(OnTheWay),
        (Acknowledged | OnTheWay, TaskAction::Arrive) => Some(Arrived),
        (Acknowledged | OnTheWay | Arrived, TaskAction::Complete) => Some(Done),
        (Dispatched | Acknowledged | OnTheWay | Arrived, TaskAction::SendBack) => Some(SentBack),
        _ => None,
    }
}

/// What a task step carries: completing needs its result and sending back its reason (both in
/// `result`); arriving needs the GPS fix that shows it; photos go with completing only.
pub fn task_step(action: TaskAction, result: Option<&str>, photos: usize, location: Option<GeoPoint>) -> Result<()> {
    match action {
        TaskAction::Complete if result.is_none() => {
            return Err(InvalidValue::new("result", "completing a task needs its result"))
        }
        TaskAction::SendBack if result.is_none() => {
            return Err(InvalidValue::new("result", "sending a task back needs the reason"))
        }
        TaskAction::Arrive if location.is_none() => {
            return Err(InvalidValue::new("location", "arriving needs the GPS fix that shows it"))
        }
        _ => {}
    }
    if !matches!(action, TaskAction::Complete | TaskAction::SendBack) && result.is_some() {
        return Err(InvalidValue::new("result", "a result goes with completing or sending back the task"));
    }
    if action != TaskAction::Complete && photos > 0 {
        return Err(InvalidValue::new("photos", "photos go with completing the task"));
    }
    if let Some(l) = location {
        l.validate("location")?;
    }
    Ok(())
}

pub fn people_involved(field: &str, n: u32) -> Result<()> {
    if n > MAX_PEOPLE_INVOLVED {
        return Err(InvalidValue::new(field, format!("must be 0..{MAX_PEOPLE_INVOLVED}")));
    }
    Ok(())
}

/// One call's track points: 1..`MAX_TRACK_POINTS`, each a valid coordinate and accuracy.
pub fn track_points(field: &str, points: &[TrackPoint]) -> Result<()> {
    if points.is_empty() || points.len() > MAX_TRACK_POINTS {
        return Err(InvalidValue::new(field, format!("must hold 1..{MAX_TRACK_POINTS} points")));
    }
    for (i, pt) in points.iter().enumerate() {
        crate::domain::GeoPoint { lat: pt.lat, lng: pt.lng }.validate(&format!("{field}[{i}]"))?;
        accuracy(&format!("{field}[{i}].accuracy_m"), pt.accuracy_m)?;
    }
    Ok(())
}

/// The six clear items as a step gives them: texts bounded and trimmed, the deadline
/// plausible, the after-photo a canonical hash, the satisfaction 1..5.
pub fn clear_items(c: &ClearItems) -> Result<ClearItems> {
    if let Some(h) = &c.outcome_photo {
        sha256("clear.outcome_photo", h)?;
    }
    satisfaction("clear.satisfaction", c.satisfaction)?;
    if let Some(d) = c.deadline {
        validate::plausible_time("clear.deadline", d)?;
    }
    Ok(ClearItems {
        facts: validate::optional_text("clear.facts", c.facts.as_deref(), MAX_DESCRIPTION_CHARS)?,
        responsible_unit: validate::optional_text(
            "clear.responsible_unit",
            c.responsible_unit.as_deref(),
            MAX_REFERENCE_CHARS,
        )?,
        deadline: c.deadline,
        outcome: validate::optional_text("clear.outcome", c.outcome.as_deref(), MAX_DESCRIPTION_CHARS)?,
        outcome_photo: c.outcome_photo.clone(),
        feedback: validate::optional_text("clear.feedback", c.feedback.as_deref(), MAX_NOTE_CHARS)?,
        satisfaction: c.satisfaction,
        ledger_ref: validate::optional_text("clear.ledger_ref", c.ledger_ref.as_deref(), MAX_REFERENCE_CHARS)?,
    })
}

/// 巡查三到 for one patrol, the same on the phone and at HQ: 人到 — at least `min_checkins`
/// trusted check-ins; 眼到 — every checklist item answered; 记到 — a report filed from the
/// patrol, or the patrol finished with "nothing found" (`outcome`; `None` while it runs).
pub fn patrol_parts(
    trusted_checkins: u32,
    min_checkins: u32,
    answered: usize,
    checklist_items: usize,
    reports: u32,
    outcome: Option<PatrolOutcome>,
) -> [(PatrolPart, bool); 3] {
    [
        (PatrolPart::PersonOnSite, trusted_checkins >= min_checkins),
        (PatrolPart::EyesOn, answered == checklist_items),
        (PatrolPart::Recorded, reports > 0 || outcome == Some(PatrolOutcome::NothingFound)),
    ]
}

/// Does a check-in count for 人到 (person on site)? Inside the grid, not from a mock-location
/// provider, and with a known accuracy no worse than the template's `max_accuracy_m`. A fix
/// that fails any of these is still recorded, and flagged (a 5 km fix shows nothing).
pub fn trusted_fix(inside_grid: bool, accuracy_m: Option<f64>, mock_location: bool, max_accuracy_m: f64) -> bool {
    inside_grid && !mock_location && accuracy_m.is_some_and(|a| a <= max_accuracy_m)
}

/// A position as given (in `datum`, WGS-84 when none), checked and moved onto WGS-84: what
/// is stored and judged against grid boundaries.
pub fn location(field: &str, p: GeoPoint, datum: Option<Datum>) -> Result<GeoPoint> {
    p.validate(field)?;
    Ok(crate::datum::to_wgs84(p, datum.unwrap_or(Datum::Wgs84)))
}

/// Why a legal case step cannot be taken as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRefused {
    /// The role table (`roles.rs`) gives this step to others.
    NotYourStep { actor: Actor, from: CaseState, to: CaseState },
    /// Only the community or street office writes the ledger reference (台账清).
    LedgerByOffice { actor: Actor },
    /// The resident's satisfaction is recorded by a follow-up visit (诉求回访), not in a step.
    SatisfactionFromFollowUp,
    /// 即知即办 (上报 → 结案 at once) needs photo evidence.
    OnTheSpotNeedsPhotos,
    /// Dispatching starts the deadline clock.
    DeadlineNeeded,
    /// Closing needs every required clear item.
    ClearItemsMissing(Vec<ClearItem>),
}

impl StepRefused {
    /// The input field at fault (`ClearItemsMissing`: the clear items as a whole).
    pub fn field(&self) -> &'static str {
        match self {
            StepRefused::NotYourStep { .. } => "to",
            StepRefused::LedgerByOffice { .. } => "clear.ledger_ref",
            StepRefused::SatisfactionFromFollowUp => "clear.satisfaction",
            StepRefused::OnTheSpotNeedsPhotos => "photos",
            StepRefused::DeadlineNeeded => "clear.deadline",
            StepRefused::ClearItemsMissing(_) => "clear",
        }
    }

    /// The stable error code both sides give (`wire::codes`).
    pub fn code(&self) -> &'static str {
        match self {
            StepRefused::NotYourStep { .. } | StepRefused::LedgerByOffice { .. } => codes::ROLE_NOT_ALLOWED,
            _ => codes::INVALID_INPUT,
        }
    }

    pub fn reason(&self) -> String {
        match self {
            StepRefused::NotYourStep { actor, from, to } => {
                let who: Vec<String> = roles::who_may(*from, *to).iter().map(|a| a.label()).collect();
                format!(
                    "a {} may not move a case from {} to {}; that step is for: {}",
                    actor.label(),
                    from.label(),
                    to.label(),
                    who.join(", ")
                )
            }
            StepRefused::LedgerByOffice { actor } => {
                format!(
                    "a {} may not write the ledger reference (台账); the community or street office keeps it",
                    actor.label()
                )
            }
            StepRefused::SatisfactionFromFollowUp => {
                "the resident's satisfaction is recorded by a follow-up visit (诉求回访), not in a case step".into()
            }
            StepRefused::OnTheSpotNeedsPhotos => "solving on the spot (即知即办) needs photo evidence".into(),
            StepRefused::DeadlineNeeded => "dispatching starts the deadline clock; give a deadline".into(),
            StepRefused::ClearItemsMissing(missing) => {
                let names: Vec<String> = missing.iter().map(|m| m.label()).collect();
                format!("closing needs the six clear items; missing: {}", names.join(", "))
            }
        }
    }
}

/// What a legal case step `from → to` needs beyond the transition: the role table gives it to
/// `actor`, only an office writes the ledger, no step carries a satisfaction score, 即知即办
/// has photos, the step that states the outcome (or verifies or closes) makes its first photo
/// the after-photo unless the case has one, a dispatch has a deadline, a close has every item
/// `required_to_close` names. Returns the case's clear items after the step and the step's own
/// patch (after-photo filled).
pub fn case_step(
    actor: Actor,
    from: CaseState,
    to: CaseState,
    current: &ClearItems,
    patch: &ClearItems,
    photos: &[String],
    required: &[ClearItem],
) -> std::result::Result<(ClearItems, ClearItems), StepRefused> {
    if !roles::may_take(actor, from, to) {
        return Err(StepRefused::NotYourStep { actor, from, to });
    }
    if patch.ledger_ref.is_some() && !roles::keeps_ledger(actor) {
        return Err(StepRefused::LedgerByOffice { actor });
    }
    if patch.satisfaction.is_some() {
        return Err(StepRefused::SatisfactionFromFollowUp);
    }
    if case_flow::is_solved_on_spot(from, to) && photos.is_empty() {
        return Err(StepRefused::OnTheSpotNeedsPhotos);
    }
    let mut patch = patch.clone();
    let gives_outcome = patch.outcome.is_some() || matches!(to, CaseState::Verified | CaseState::Closed);
    if patch.outcome_photo.is_none() && current.outcome_photo.is_none() && gives_outcome {
        patch.outcome_photo = photos.first().cloned();
    }
    let mut clear = current.clone();
    clear.merge(&patch);
    if to == CaseState::Dispatched && clear.deadline.is_none() {
        return Err(StepRefused::DeadlineNeeded);
    }
    let missing = clear.missing(&required_to_close(from, to, required));
    if !missing.is_empty() {
        return Err(StepRefused::ClearItemsMissing(missing));
    }
    Ok((clear, patch))
}

/// The clear items a step needs: a close needs the template's `required`, except that 即知即办
/// closes on the spot before the office has written the ledger — the ledger is then needed to
/// archive. Any other step needs none.
pub fn required_to_close(from: CaseState, to: CaseState, required: &[ClearItem]) -> Vec<ClearItem> {
    match to {
        CaseState::Closed if case_flow::is_solved_on_spot(from, to) => {
            required.iter().copied().filter(|i| *i != ClearItem::Ledger).collect()
        }
        CaseState::Closed => required.to_vec(),
        CaseState::Archived if matches!(from, CaseState::Closed | CaseState::FollowedUp) => {
            required.iter().copied().filter(|i| *i == ClearItem::Ledger).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_canonical_hash() {
        let lower = "ab".repeat(32);
        assert!(sha256("h", &lower).is_ok());
        assert!(sha256("h", &lower.to_uppercase()).is_err());
        assert!(sha256("h", &lower[..62]).is_err());
        let c = ClearItems { outcome_photo: Some(lower.to_uppercase()), ..ClearItems::default() };
        assert_eq!(clear_items(&c).unwrap_err().field, "clear.outcome_photo");
    }

    #[test]
    fn bounds() {
        assert!(accuracy("a", Some(MAX_ACCURACY_M)).is_ok());
        assert!(accuracy("a", Some(-0.5)).is_err());
        assert!(accuracy("a", Some(f64::NAN)).is_err());
        assert!(satisfaction("s", Some(0)).is_err());
        assert!(people_involved("p", MAX_PEOPLE_INVOLVED + 1).is_err());
        assert!(photos("p", &vec!["0".repeat(64); MAX_PHOTOS + 1]).is_err());
        assert!(track_points("points", &[]).is_err());
    }

    #[test]
    fn on_the_spot_needs_photos_and_closing_needs_the_items() {
        let none = ClearItems::default();
        let all = [ClearItem::Facts];
        assert_eq!(
            case_step(Actor::Volunteer, CaseState::Reported, CaseState::Closed, &none, &none, &[], &all).unwrap_err(),
            StepRefused::OnTheSpotNeedsPhotos
        );
        let photo = "c".repeat(64);
        let refused = case_step(
            Actor::Volunteer,
            CaseState::Reported,
            CaseState::Closed,
            &none,
            &none,
            std::slice::from_ref(&photo),
            &all,
        );
        assert_eq!(refused.unwrap_err(), StepRefused::ClearItemsMissing(vec![ClearItem::Facts]));
        let facts = ClearItems { facts: Some("f".into()), ..ClearItems::default() };
        let (clear, patch) = case_step(
            Actor::Volunteer,
            CaseState::Reported,
            CaseState::Closed,
            &none,
            &facts,
            std::slice::from_ref(&photo),
            &all,
        )
        .unwrap();
        assert_eq!((clear.outcome_photo.as_ref(), patch.outcome_photo.as_ref()), (Some(&photo), Some(&photo)));
        assert_eq!(
            case_step(Actor::Community, CaseState::Opened, CaseState::Dispatched, &none, &none, &[], &all).unwrap_err(),
            StepRefused::DeadlineNeeded
        );
    }
}
