//! The case lifecycle as data: which step may follow which, and what "six clear" means.
//! Cases change only by appending events; the current state is the last event's `to`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{CaseState, ClearItem};

use CaseState::*;

/// Legal next states. 即知即办 (solved on the spot) is `Reported -> Closed` with evidence.
pub fn next_states(from: CaseState) -> &'static [CaseState] {
    match from {
        Reported => &[Accepted, Rejected, Closed],
        Accepted => &[Opened, SentBack],
        Opened => &[Dispatched],
        Dispatched => &[Handling, SentBack, ExtensionRequested, Backlog],
        Handling => &[Verified, SentBack, ExtensionRequested, Backlog],
        ExtensionRequested => &[Handling, Backlog],
        Backlog => &[Handling, Verified],
        SentBack => &[Opened, Dispatched, Handling],
        Verified => &[Closed, SentBack],
        // Reopen goes back to Opened; otherwise a closed case is followed up and archived.
        Closed => &[FollowedUp, Archived, Opened],
        FollowedUp => &[Archived],
        Rejected => &[Archived],
        Archived => &[],
    }
}

pub fn is_legal(from: CaseState, to: CaseState) -> bool {
    next_states(from).contains(&to)
}

/// Is `Reported -> Closed` the on-the-spot shortcut?
pub fn is_solved_on_spot(from: CaseState, to: CaseState) -> bool {
    from == Reported && to == Closed
}

/// The six "clear" items as recorded so far. A case step may fill any of them; later values
/// replace earlier ones (the events keep the history).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClearItems {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub facts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub responsible_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub deadline: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub outcome: Option<String>,
    /// SHA-256 of the after-photo; set from the photos attached to the step that gives the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub outcome_photo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub feedback: Option<String>,
    /// Resident satisfaction, 1 (very unsatisfied) .. 5 (very satisfied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub satisfaction: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub ledger_ref: Option<String>,
}

impl ClearItems {
    pub fn merge(&mut self, patch: &ClearItems) {
        fn take<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
            if src.is_some() {
                *dst = src.clone();
            }
        }
        take(&mut self.facts, &patch.facts);
        take(&mut self.responsible_unit, &patch.responsible_unit);
        take(&mut self.deadline, &patch.deadline);
        take(&mut self.outcome, &patch.outcome);
        take(&mut self.outcome_photo, &patch.outcome_photo);
        take(&mut self.feedback, &patch.feedback);
        take(&mut self.satisfaction, &patch.satisfaction);
        take(&mut self.ledger_ref, &patch.ledger_ref);
    }

    pub fn is_clear(&self, item: ClearItem) -> bool {
        match item {
            ClearItem::Facts => self.facts.is_some(),
            ClearItem::Responsibility => self.responsible_unit.is_some(),
            ClearItem::Deadline => self.deadline.is_some(),
            ClearItem::Outcome => self.outcome.is_some() && self.outcome_photo.is_some(),
            ClearItem::Feedback => self.feedback.is_some() || self.satisfaction.is_some(),
            ClearItem::Ledger => self.ledger_ref.is_some(),
        }
    }

    pub fn missing(&self, required: &[ClearItem]) -> Vec<ClearItem> {
        required.iter().copied().filter(|i| !self.is_clear(*i)).collect()
    }

    pub fn is_empty(&self) -> bool {
        *self == ClearItems::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_but_archived_has_a_way_forward() {
        for s in CaseState::ALL {
            assert_eq!(next_states(*s).is_empty(), *s == Archived, "{s:?}");
        }
        assert!(!is_legal(Reported, Dispatched));
        assert!(is_legal(Verified, Closed));
    }

    #[test]
    fn outcome_needs_photo_and_feedback_accepts_satisfaction() {
        let mut c = ClearItems { outcome: Some("fixed".into()), ..Default::default() };
        assert!(!c.is_clear(ClearItem::Outcome));
        c.merge(&ClearItems { outcome_photo: Some("ab".into()), satisfaction: Some(5), ..Default::default() });
        assert!(c.is_clear(ClearItem::Outcome) && c.is_clear(ClearItem::Feedback));
        assert_eq!(
            c.missing(ClearItem::ALL),
            vec![ClearItem::Facts, ClearItem::Responsibility, ClearItem::Deadline, ClearItem::Ledger]
        );
    }
}
