//! The role table: who may take which case step. Phone and HQ both ask it — the phone before it
//! records a step and when it offers the next steps, HQ when a phone pushes a step and when an
//! operator takes one in the console — so a step one side refuses, the other refuses too.
//!
//! Separation of duties (问题六清 is only worth something if the one who handles a case is not
//! the one who declares it done): grid workers report, handle what is dispatched to them and
//! solve on the spot (即知即办, with evidence); the community and street offices accept, open,
//! dispatch, close and archive; verification (核查) is the grid leader's or an office's. A
//! volunteer reports and solves on the spot, nothing more. The resident's satisfaction comes
//! from a follow-up visit (诉求回访), never typed into a case step, and the ledger reference
//! (台账) is the office's.

use crate::domain::{Actor, CaseState};

use Actor::*;
use CaseState::*;

const WORKERS: &[Actor] = &[FullTime, Volunteer, LawEnforcement, GridLeader];
const HANDLERS: &[Actor] = &[FullTime, LawEnforcement, GridLeader, Unit];
const OFFICES: &[Actor] = &[Community, Street];
const VERIFIERS: &[Actor] = &[GridLeader, Community, Street];
const FOLLOWERS: &[Actor] = &[FullTime, LawEnforcement, GridLeader, Community, Street];

/// Who may take the legal step `from → to` (empty for an illegal one).
pub fn who_may(from: CaseState, to: CaseState) -> &'static [Actor] {
    match (from, to) {
        // 即知即办: solved on the spot by whoever found it.
        (Reported, Closed) => WORKERS,
        // 受理 / 不予立案, 立案, 派遣 and their send-backs: the offices.
        (Reported, Accepted | Rejected) | (Accepted, Opened | SentBack) | (Opened, Dispatched) => OFFICES,
        (SentBack, Opened | Dispatched) => OFFICES,
        // 处置: whoever the case was dispatched to; they may hand it back or ask for more time.
        (Dispatched, Handling | SentBack | ExtensionRequested) => HANDLERS,
        (Handling, SentBack | ExtensionRequested) | (SentBack | Backlog, Handling) => HANDLERS,
        // An extension is granted (back to handling) or refused (挂账) by an office, which also
        // puts overdue cases on the backlog.
        (ExtensionRequested, Handling | Backlog) | (Dispatched | Handling, Backlog) => OFFICES,
        // 核查: not by the handler.
        (Handling | Backlog, Verified) | (Verified, SentBack) => VERIFIERS,
        // 结案, reopening and 归档: the offices.
        (Verified, Closed) | (Closed, Opened | Archived) | (FollowedUp | Rejected, Archived) => OFFICES,
        // 回访: a worker or an office calls on the resident.
        (Closed, FollowedUp) => FOLLOWERS,
        _ => &[],
    }
}

/// May `actor` take the step `from → to`? (False for an illegal step.)
pub fn may_take(actor: Actor, from: CaseState, to: CaseState) -> bool {
    who_may(from, to).contains(&actor)
}

/// The next states `actor` may move a case to from `from`, in the lifecycle's order: what a
/// screen offers as buttons.
pub fn next_states_for(actor: Actor, from: CaseState) -> Vec<CaseState> {
    crate::case_flow::next_states(from).iter().copied().filter(|to| may_take(actor, from, *to)).collect()
}

/// May `actor` take a task's field steps (acknowledge, on the way, arrived, done, send back)?
/// The worker it is assigned to and the unit it is routed to do; the offices dispatch,
/// reassign and cancel instead.
pub fn may_take_task_step(actor: Actor) -> bool {
    !OFFICES.contains(&actor)
}

/// May `actor` write the ledger reference (台账清)?
pub fn keeps_ledger(actor: Actor) -> bool {
    OFFICES.contains(&actor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case_flow::is_legal;

    #[test]
    fn every_legal_step_has_someone_and_no_illegal_step_has_anyone() {
        for from in CaseState::ALL {
            for to in CaseState::ALL {
                assert_eq!(is_legal(*from, *to), !who_may(*from, *to).is_empty(), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn a_volunteer_reports_and_solves_on_the_spot_only() {
        let mut allowed = Vec::new();
        for from in CaseState::ALL {
            for to in next_states_for(Volunteer, *from) {
                allowed.push((*from, to));
            }
        }
        assert_eq!(allowed, vec![(Reported, Closed)]);
    }

    #[test]
    fn the_handler_never_verifies_or_closes_their_own_work() {
        for worker in [FullTime, LawEnforcement, Unit] {
            assert!(may_take(worker, Dispatched, Handling));
            assert!(!may_take(worker, Handling, Verified), "{worker:?}");
            assert!(!may_take(worker, Verified, Closed), "{worker:?}");
            assert!(!may_take(worker, Opened, Dispatched), "{worker:?}");
        }
        assert!(may_take(GridLeader, Handling, Verified));
        assert!(!may_take(GridLeader, Verified, Closed));
        assert!(may_take(Community, Verified, Closed));
        assert!(keeps_ledger(Street) && !keeps_ledger(GridLeader));
    }
}
