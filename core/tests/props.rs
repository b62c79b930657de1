//! Property tests over random sequences of operations (valid and invalid, with the device
//! clock jumping around): the outbox stays gap-free and strictly increasing, every domain
//! change has exactly one outbox row, failed calls change nothing, only legal case
//! transitions are ever stored, and the views agree with the stored records.

mod common;

use common::*;
use gridpatrol_core::case_flow;
use gridpatrol_core::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    StartPatrol { own_grid: bool, night: bool },
    Track { points: u8, bad: bool },
    CheckIn { inside: bool, answers: u8, bad_item: bool },
    Finish { findings: bool },
    Visit { household: u8, kind: u8, outcome: u8, satisfaction: Option<u8>, with_case: bool },
    Report { own_grid: bool, category: u8, from_patrol: bool, photo: bool },
    CaseStep { case: u8, to: u8, clear: bool, photo: bool },
    Task { action: u8, result: bool },
    Clock { jump: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), any::<bool>()).prop_map(|(g, n)| Op::StartPatrol { own_grid: g || n, night: n }),
        (0u8..4, prop::bool::weighted(0.2)).prop_map(|(points, bad)| Op::Track { points, bad }),
        (prop::bool::weighted(0.8), 0u8..6, prop::bool::weighted(0.1))
            .prop_map(|(inside, answers, bad_item)| Op::CheckIn { inside, answers, bad_item }),
        any::<bool>().prop_map(|findings| Op::Finish { findings }),
        (0u8..5, 0u8..4, 0u8..3, prop::option::of(0u8..7), any::<bool>()).prop_map(
            |(household, kind, outcome, satisfaction, with_case)| Op::Visit {
                household,
                kind,
                outcome,
                satisfaction,
                with_case
            }
        ),
        (prop::bool::weighted(0.9), 0u8..5, any::<bool>(), prop::bool::weighted(0.15))
            .prop_map(|(own_grid, category, from_patrol, photo)| Op::Report { own_grid, category, from_patrol, photo }),
        (0u8..4, 0u8..13, prop::bool::weighted(0.5), prop::bool::weighted(0.2))
            .prop_map(|(case, to, clear, photo)| Op::CaseStep { case, to, clear, photo }),
        (0u8..3, any::<bool>()).prop_map(|(action, result)| Op::Task { action, result }),
        (0u8..5).prop_map(|jump| Op::Clock { jump }),
    ]
}

struct World {
    f: Fixture,
    patrol: Option<String>,
    cases: Vec<String>,
    photos: u8,
}

impl World {
    fn apply(&mut self, op: &Op) -> Result<()> {
        let s = &self.f.store;
        let t = s.active_template();
        let pid = self.patrol.clone().unwrap_or_else(|| "no-patrol".into());
        match op.clone() {
            Op::StartPatrol { own_grid, night } => {
                let grid = if own_grid { "g-0101" } else { "g-0102" };
                let p = s.start_patrol(grid, if night { PatrolShift::Night } else { PatrolShift::Day })?;
                self.patrol = Some(p.id);
            }
            Op::Track { points, bad } => {
                let at = chrono::DateTime::from_timestamp_millis(NOW_MS).unwrap();
                let lat = if bad { 100.0 } else { 31.232 };
                let pts: Vec<TrackPoint> = (0..points)
                    .map(|i| TrackPoint { lat, lng: 121.47 + i as f64 * 1e-4, accuracy_m: None, at })
                    .collect();
                s.add_track_points(&pid, &pts)?;
            }
            Op::CheckIn { inside: is_inside, answers, bad_item } => {
                let mut a: Vec<ChecklistAnswer> = all_ok_answers(&t).into_iter().take(answers as usize).collect();
                if bad_item {
                    a.push(ChecklistAnswer { item_id: "not-an-item".into(), answer: Answer::Issue, note: None });
                }
                s.check_in(&pid, check_in_at(if is_inside { inside() } else { outside() }, a))?;
            }
            Op::Finish { findings } => {
                let outcome = if findings { PatrolOutcome::Findings } else { PatrolOutcome::NothingFound };
                s.finish_patrol(&pid, outcome, None)?;
                self.patrol = None;
            }
            Op::Visit { household, kind, outcome, satisfaction, with_case } => {
                let hh = ["h-0001", "h-0002", "h-0003", "h-0004", "h-none"][household as usize];
                let mut v = visit_input(hh, VisitType::ALL[kind as usize]);
                v.outcome = VisitOutcome::ALL[outcome as usize];
                v.satisfaction = satisfaction;
                v.case_id = if with_case { self.cases.first().cloned().or(Some("no-case".into())) } else { None };
                s.record_visit(v)?;
            }
            Op::Report { own_grid, category, from_patrol, photo } => {
                let photos = if photo {
                    self.photos = self.photos.wrapping_add(1);
                    vec![self.f.photo(&format!("p{}.jpg", self.photos), self.photos)]
                } else {
                    vec![]
                };
                let mut r = report_input(if own_grid { "g-0101" } else { "g-0102" }, photos);
                r.category = ReportCategory::ALL[category as usize];
                if from_patrol {
                    r.source = ReportSource::Patrol;
                    r.patrol_id = self.patrol.clone();
                }
                let rep = s.file_report(r)?;
                self.cases.push(rep.case_id);
            }
            Op::CaseStep { case, to, clear, photo } => {
                let id = self.cases.get(case as usize).cloned().unwrap_or_else(|| "no-case".into());
                let mut st = step(&id, CaseState::ALL[to as usize]);
                if clear {
                    st.clear = all_clear();
                }
                if photo {
                    self.photos = self.photos.wrapping_add(1);
                    st.photos = vec![self.f.photo(&format!("c{}.jpg", self.photos), self.photos)];
                }
                s.move_case(st)?;
            }
            Op::Task { action, result } => {
                let action = TaskAction::ALL[action as usize];
                let result = result.then(|| "已处理 (handled)".to_string());
                s.act_on_task(TaskActionInput {
                    task_id: "t-110-0001".into(),
                    action,
                    result,
                    photos: vec![],
                    location: None,
                    datum: None,
                })?;
            }
            Op::Clock { jump } => match jump {
                0 => self.f.clock.set(0),
                1 => self.f.clock.set(4_070_908_800_000), // 2099
                2 => self.f.clock.advance(-86_400_000),
                3 => self.f.clock.advance(3_600_000),
                _ => self.f.clock.set(NOW_MS),
            },
        }
        Ok(())
    }
}

fn check_invariants(w: &World, successes: usize) {
    let s = &w.f.store;
    let ob = s.outbox(0, 100_000).unwrap();
    // Gap-free, strictly increasing, one row per successful operation.
    assert_eq!(ob.len(), successes);
    assert!(ob.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1));
    assert!(ob.windows(2).all(|p| p[0].hlc < p[1].hlc));
    // Every domain change has exactly one outbox row of its kind.
    let kind = |k: &str| ob.iter().filter(|e| e.op == k).count() as i64;
    assert_eq!(w.f.count("patrol"), kind("start_patrol"));
    assert_eq!(w.f.count("checkpoint"), kind("check_in"));
    assert_eq!(w.f.count("visit"), kind("record_visit"));
    assert_eq!(w.f.count("report"), kind("file_report"));
    assert_eq!(w.f.count("case_file"), kind("file_report"));
    assert_eq!(w.f.count("case_event"), kind("case_step") + kind("file_report"));
    assert_eq!(w.f.count("task_event"), kind("task_step"));
    let points: usize = ob
        .iter()
        .filter_map(|e| match &e.command {
            Command::AddTrackPoints { points, .. } => Some(points.len()),
            _ => None,
        })
        .sum();
    assert_eq!(w.f.count("patrol_track"), points as i64);
    let ids: std::collections::HashSet<&str> = ob.iter().map(|e| e.entity_id.as_str()).collect();
    assert!(ob.iter().all(|e| !matches!(
        e.command,
        Command::CheckIn { .. } | Command::RecordVisit { .. } | Command::FileReport { .. } | Command::CaseStep { .. }
    ) || ids.contains(e.entity_id.as_str())));

    // Only legal transitions; each case's state is its last event.
    let mut open_cases = 0;
    for case in &w.cases {
        let tl = s.case_timeline(case).unwrap();
        let mut prev: Option<CaseState> = None;
        for e in &tl.events {
            if let Some(p) = prev {
                assert!(case_flow::is_legal(p, e.to), "{p:?} -> {:?}", e.to);
                assert!(roles::may_take(Actor::FullTime, p, e.to), "a full-time worker took {p:?} -> {:?}", e.to);
            }
            prev = Some(e.to);
        }
        assert_eq!(prev, Some(tl.state));
        if tl.state == CaseState::Closed {
            // A phone closes only on the spot, before the office writes the ledger.
            assert!(tl.clear.iter().all(|c| c.done || c.item == ClearItem::Ledger), "closed without the clear items");
        }
        if !matches!(tl.state, CaseState::Closed | CaseState::FollowedUp | CaseState::Archived | CaseState::Rejected) {
            open_cases += 1;
        }
    }

    // The views agree with the records.
    let today = s.today().unwrap();
    assert_eq!(today.unsent.records, ob.len() as u64);
    assert_eq!(today.unsent.photos, w.f.count("attachment") as u64);
    assert_eq!(today.open_cases.len() as u32, open_cases);
    match (&today.patrol, &w.patrol) {
        (Some(p), Some(id)) => {
            assert_eq!(&p.patrol_id, id);
            let n = ob
                .iter()
                .filter(|e| matches!(&e.command, Command::CheckIn { checkpoint } if &checkpoint.patrol_id == id))
                .count();
            assert_eq!(p.checkins as usize, n);
        }
        (None, None) => {}
        other => panic!("patrol in progress disagrees: {other:?}"),
    }
    let pending = s.pending_uploads(1000).unwrap();
    assert_eq!(pending.items.len(), ob.len() + w.f.count("attachment") as usize);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_outbox_and_views_consistent(ops in prop::collection::vec(op(), 1..60)) {
        let mut w = World { f: fixture(), patrol: None, cases: vec![], photos: 0 };
        let mut successes = 0;
        for op in &ops {
            let before = w.f.all_counts();
            match w.apply(op) {
                Ok(()) => if !matches!(op, Op::Clock { .. }) { successes += 1 },
                Err(e) => {
                    prop_assert_ne!(e.code(), "storage", "{}", e);
                    prop_assert_eq!(&before, &w.f.all_counts(), "failed {:?} changed something: {}", op, e);
                }
            }
        }
        check_invariants(&w, successes);
        // And the same after a restart.
        w.f = w.f.reopen();
        check_invariants(&w, successes);
    }
}
