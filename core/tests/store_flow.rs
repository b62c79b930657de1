//! The 3456 work end to end on one store: every operation, its outbox row, and the views.

mod common;

use common::*;
use gridpatrol_core::*;

#[test]
fn a_day_of_3456_work_is_recorded_with_one_outbox_row_per_action() {
    let f = fixture();
    let s = &f.store;
    let t = s.active_template();

    // 巡查三到
    let p = s.start_patrol("g-0101", PatrolShift::Night).unwrap();
    assert_eq!(p.template_version, t.version);
    assert_eq!(
        s.add_track_points(&p.id, &[TrackPoint { lat: 31.231, lng: 121.471, accuracy_m: None, at: p.started_at }])
            .unwrap(),
        1
    );
    let half = all_ok_answers(&t)[..2].to_vec();
    let cp1 = s.check_in(&p.id, check_in_at(inside(), half)).unwrap();
    assert!(cp1.inside_grid);
    let cp2 = s.check_in(&p.id, check_in_at(outside(), vec![])).unwrap();
    assert!(!cp2.inside_grid, "outside check-in is recorded and flagged");
    let progress = s.today().unwrap().patrol.unwrap();
    assert_eq!((progress.checkins, progress.outside_grid_checkins, progress.checklist_answered), (2, 1, 2));
    assert!(progress.parts.iter().all(|p| !p.done), "one inside check-in of 2, 2 of 5 items, nothing recorded yet");

    let mut r = report_input("g-0101", vec![f.photo("before.jpg", 1)]);
    r.source = ReportSource::Patrol;
    r.patrol_id = Some(p.id.clone());
    let report = s.file_report(r).unwrap();
    assert_eq!(report.urgency, Urgency::Immediate, "hazards are report-at-once");
    assert_eq!(report.photos.len(), 1);
    let stored = stored_photo(f.dir.path(), &report.photos[0]);
    assert!(!String::from_utf8_lossy(&stored).contains("SECRETCAM"), "metadata stripped");

    s.check_in(&p.id, check_in_at(inside(), all_ok_answers(&t))).unwrap();
    let progress = s.today().unwrap().patrol.unwrap();
    assert!(progress.parts.iter().all(|p| p.done), "{progress:?}");
    let finished = s.finish_patrol(&p.id, PatrolOutcome::Findings, Some("夜巡完成")).unwrap();
    assert!(finished.finished_at.is_some());
    assert!(s.today().unwrap().patrol.is_none());

    // 居民四访
    let v = s.record_visit(visit_input("h-0001", VisitType::MustVisit)).unwrap();
    assert_eq!(v.grid_id, "g-0101");

    // 问题六清: the office accepts, opens and dispatches; this full-time worker may only solve
    // on the spot (即知即办), and the timeline offers just that.
    let case = &report.case_id;
    assert_eq!(
        s.case_timeline(case).unwrap().next_steps.iter().map(|o| o.to).collect::<Vec<_>>(),
        vec![CaseState::Closed]
    );
    let before = f.all_counts();
    for to in [CaseState::Accepted, CaseState::Rejected] {
        match s.move_case(step(case, to)) {
            Err(e @ CoreError::RoleNotAllowed { .. }) => assert_eq!(e.code(), "role_not_allowed"),
            other => panic!("expected the role table to refuse {to:?}, got {other:?}"),
        }
    }
    let mut close = step(case, CaseState::Closed);
    close.photos = vec![f.photo("after.jpg", 2)];
    close.clear = all_clear();
    close.clear.deadline = None;
    match s.move_case(close.clone()) {
        Err(CoreError::ClearItemsMissing { missing }) => assert_eq!(missing, vec![ClearItem::Deadline]),
        other => panic!("expected missing clear items, got {other:?}"),
    }
    close.clear = all_clear();
    close.clear.ledger_ref = Some("TZ-2026-001".into());
    assert!(
        matches!(s.move_case(close.clone()), Err(CoreError::RoleNotAllowed { field, .. }) if field == "clear.ledger_ref")
    );
    close.clear = all_clear();
    close.clear.satisfaction = Some(5);
    assert!(
        matches!(s.move_case(close.clone()), Err(CoreError::InvalidInput { field, .. }) if field == "clear.satisfaction")
    );
    assert_eq!(before, f.all_counts(), "refused steps write nothing");
    close.clear = all_clear();
    s.move_case(close).unwrap();
    // The resident's satisfaction comes with the follow-up visit (诉求回访).
    let mut follow = visit_input("h-0001", VisitType::FollowUp);
    follow.case_id = Some(case.clone());
    follow.satisfaction = Some(4);
    s.record_visit(follow).unwrap();
    let db = rusqlite::Connection::open(f.dir.path().join(store::DB_FILE)).unwrap();
    let clear: String = db.query_row("SELECT clear FROM case_file WHERE id = ?1", [case], |r| r.get(0)).unwrap();
    assert_eq!(
        serde_json::from_str::<ClearItems>(&clear).unwrap().satisfaction,
        Some(4),
        "the visit's score is the case's"
    );

    let tl = s.case_timeline(case).unwrap();
    assert_eq!(tl.state, CaseState::Closed);
    let open: Vec<ClearItem> = tl.clear.iter().filter(|c| !c.done).map(|c| c.item).collect();
    assert_eq!(open, vec![ClearItem::Ledger], "the office writes the ledger when it files the case");
    let path: Vec<CaseState> = tl.events.iter().map(|e| e.to).collect();
    use CaseState::*;
    assert_eq!(path, vec![Reported, Closed]);
    assert_eq!(tl.events[1].photos.len(), 1);
    assert!(tl.next_steps.iter().all(|o| o.to == FollowedUp), "{:?}", tl.next_steps);

    // Task from 110 diversion
    let task_id = "t-110-0001";
    s.act_on_task(TaskActionInput {
        task_id: task_id.into(),
        action: TaskAction::Acknowledge,
        result: None,
        photos: vec![],
        location: None,
        datum: None,
    })
    .unwrap();
    s.act_on_task(TaskActionInput {
        task_id: task_id.into(),
        action: TaskAction::OnTheWay,
        result: None,
        photos: vec![],
        location: None,
        datum: None,
    })
    .unwrap();
    let done = s
        .act_on_task(TaskActionInput {
            task_id: task_id.into(),
            action: TaskAction::Complete,
            result: Some("已调解 (mediated)".into()),
            photos: vec![],
            location: None,
            datum: None,
        })
        .unwrap();
    assert_eq!(done.status, TaskStatus::Done);

    // Outbox: one row per successful action, gap-free, HLC increasing, mutation ids unique.
    let ob = s.outbox(0, 1000).unwrap();
    let kinds: Vec<&str> = ob.iter().map(|e| e.op.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "start_patrol",
            "add_track_points",
            "check_in",
            "check_in",
            "file_report",
            "check_in",
            "finish_patrol",
            "record_visit",
            "case_step",
            "record_visit",
            "task_step",
            "task_step",
            "task_step"
        ]
    );
    assert!(ob.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1));
    assert!(ob.windows(2).all(|w| w[0].hlc < w[1].hlc));
    let ids: std::collections::HashSet<_> = ob.iter().map(|e| &e.mutation_id).collect();
    assert_eq!(ids.len(), ob.len());
    assert!(ob.iter().all(|e| e.device_id == s.device().device_id && e.epoch == 1));

    let today = s.today().unwrap();
    assert_eq!(today.unsent.records, ob.len() as u64);
    assert_eq!(today.unsent.photos, 2);
    assert!(today.tasks.is_empty(), "the only task is done");
    assert_eq!(today.open_cases.len(), 0);
    let pending = s.pending_uploads(100).unwrap();
    assert_eq!(pending.items.len(), ob.len() + 2);
    assert!(pending.items.iter().all(|i| i.state == UploadState::Waiting));
}

#[test]
fn solved_on_the_spot_needs_evidence_and_six_clear() {
    // Even a volunteer (w-002, grid g-0102) may solve on the spot, with evidence.
    let f = fixture_for("w-002");
    let s = &f.store;
    let r = s.file_report(report_input("g-0102", vec![])).unwrap();
    let mut close = step(&r.case_id, CaseState::Closed);
    close.clear = all_clear();
    match s.move_case(close.clone()) {
        Err(CoreError::InvalidInput { field, .. }) => assert_eq!(field, "photos"),
        other => panic!("{other:?}"),
    }
    close.photos = vec![f.photo("fixed.jpg", 9)];
    let ev = s.move_case(close).unwrap();
    assert_eq!((ev.from, ev.to), (Some(CaseState::Reported), CaseState::Closed));
    assert_eq!(ev.clear.outcome_photo.as_deref(), Some(ev.photos[0].as_str()));
}

#[test]
fn illegal_transitions_are_refused_and_write_nothing() {
    let f = fixture();
    let s = &f.store;
    let r = s.file_report(report_input("g-0101", vec![])).unwrap();
    let before = f.all_counts();
    match s.move_case(step(&r.case_id, CaseState::Dispatched)) {
        Err(CoreError::IllegalTransition { from, to }) => {
            assert_eq!((from, to), (CaseState::Reported, CaseState::Dispatched))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(before, f.all_counts());
    // Legal, but not this worker's: the office accepts.
    assert!(matches!(s.move_case(step(&r.case_id, CaseState::Accepted)), Err(CoreError::RoleNotAllowed { .. })));
    assert_eq!(before, f.all_counts());
}

#[test]
fn must_visit_households_leave_today_once_visited_and_return_after_the_interval() {
    let f = fixture();
    let s = &f.store;
    let due: Vec<String> = s.today().unwrap().must_visit.iter().map(|m| m.household_id.clone()).collect();
    assert_eq!(due, vec!["h-0001", "h-0003"], "w-001's must-visit households (h-0004 is another grid's)");
    assert_eq!(s.today().unwrap().must_visit[0].phone.as_deref(), Some("138****5678"));
    let mut not_home = visit_input("h-0001", VisitType::MustVisit);
    not_home.outcome = VisitOutcome::NotHome;
    s.record_visit(not_home).unwrap();
    assert_eq!(s.today().unwrap().must_visit.len(), 2, "nobody home does not count as visited");
    s.record_visit(visit_input("h-0001", VisitType::MustVisit)).unwrap();
    assert_eq!(s.today().unwrap().must_visit.len(), 1);
    f.clock.advance(8 * 86_400_000);
    let again = s.today().unwrap();
    assert_eq!(again.must_visit.len(), 2);
    assert_eq!(again.must_visit.iter().find(|m| m.household_id == "h-0001").unwrap().days_since_visit, Some(8));
}

#[test]
fn tasks_due_today_and_overdue_are_shown() {
    let f = fixture();
    let s = &f.store;
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap();
    let mk = |id: &str, deadline_ms: i64| TaskInput {
        id: id.into(),
        source: TaskSource::Hotline12345,
        title: "噪音投诉 (noise complaint)".into(),
        description: String::new(),
        target_unit: "城管 (urban management)".into(),
        assignee_id: Some("w-001".into()),
        grid_id: Some("g-0101".into()),
        deadline: at(deadline_ms),
        dispatched_at: at(NOW_MS - 86_400_000),
        details: Default::default(),
    };
    s.receive_task(&mk("t-overdue", NOW_MS - 3_600_000)).unwrap();
    s.receive_task(&mk("t-today", NOW_MS + 3_600_000)).unwrap();
    s.receive_task(&mk("t-next-week", NOW_MS + 7 * 86_400_000)).unwrap();
    let today = s.today().unwrap();
    let ids: Vec<(&str, bool)> = today.tasks.iter().map(|t| (t.id.as_str(), t.overdue)).collect();
    assert_eq!(ids, vec![("t-overdue", true), ("t-today", false)]);
    assert_eq!(today.tasks[0].source_label, "12345热线 (12345 hotline)");
    // Receiving tasks is HQ's data, not the worker's: no outbox rows.
    assert_eq!(f.count("outbox"), 0);
    let mut other = mk("t-other", NOW_MS);
    other.assignee_id = Some("w-002".into());
    assert!(s.receive_task(&other).is_err());
}

#[test]
fn numbering_continues_after_reopen_and_the_hlc_survives_a_clock_set_to_1970() {
    let f = fixture();
    f.store.record_visit(visit_input("h-0001", VisitType::Routine)).unwrap();
    f.clock.set(0); // the phone's clock falls back to 1970
    f.store.record_visit(visit_input("h-0002", VisitType::Routine)).unwrap();
    let f = f.reopen();
    f.clock.set(4_102_444_800_000 + 1000); // then jumps past 2100
    f.store.record_visit(visit_input("h-0003", VisitType::Routine)).unwrap();
    f.clock.set(0);
    f.store.record_visit(visit_input("h-0001", VisitType::Routine)).unwrap();
    let ob = f.store.outbox(0, 100).unwrap();
    assert_eq!(ob.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert!(ob.windows(2).all(|w| w[0].hlc < w[1].hlc), "{:?}", ob.iter().map(|e| &e.hlc).collect::<Vec<_>>());
    // The device's own (wrong) capture time is kept as data.
    assert_eq!(ob[1].recorded_at.timestamp_millis(), 0);
    assert_eq!(f.count("visit"), 4);
}

#[test]
fn a_newer_template_does_not_break_a_patrol_started_under_the_old_one() {
    let f = fixture();
    let s = &f.store;
    let old = s.active_template();
    let p = s.start_patrol("g-0101", PatrolShift::Day).unwrap();
    let mut newer = old.clone();
    newer.version = 2;
    newer.patrol.checklist =
        vec![template::TemplateItem { id: "flood_drain".into(), zh: "排水畅通".into(), en: "drains clear".into() }];
    s.install_template(&newer).unwrap();
    assert_eq!(s.active_template().version, 2);
    // The old patrol still answers the old items, and refuses the new one.
    s.check_in(&p.id, check_in_at(inside(), all_ok_answers(&old))).unwrap();
    let new_item = vec![ChecklistAnswer { item_id: "flood_drain".into(), answer: Answer::Ok, note: None }];
    assert!(s.check_in(&p.id, check_in_at(inside(), new_item.clone())).is_err());
    s.finish_patrol(&p.id, PatrolOutcome::NothingFound, None).unwrap();
    let p2 = s.start_patrol("g-0101", PatrolShift::Day).unwrap();
    assert_eq!(p2.template_version, 2);
    s.check_in(&p2.id, check_in_at(inside(), new_item)).unwrap();
    // An older version arriving late does not replace the newer one.
    s.install_template(&old).unwrap();
    assert_eq!(s.active_template().version, 2);
}

#[test]
fn switching_worker_is_refused_while_work_is_unsent() {
    let f = fixture();
    f.store.record_visit(visit_input("h-0001", VisitType::Routine)).unwrap();
    let dir = f.dir.path().to_path_buf();
    let clock = f.clock.clone();
    drop(f.store);
    match Store::init(&dir, &GridConfig::sample(), "w-002", opts(&clock)) {
        Err(CoreError::UnsentWork { unsent }) => assert_eq!(unsent, 1),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("switched worker with unsent work"),
    }
    // Nothing was lost and the store still belongs to w-001.
    let s = Store::open(&dir, opts(&clock)).unwrap();
    assert_eq!(s.device().worker_id, "w-001");
    assert_eq!(s.outbox(0, 10).unwrap().len(), 1);
}

#[test]
fn two_threads_recording_at_once_keep_the_outbox_gap_free() {
    let f = fixture();
    let s = &f.store;
    std::thread::scope(|scope| {
        for h in ["h-0001", "h-0002"] {
            scope.spawn(move || {
                for _ in 0..50 {
                    s.record_visit(visit_input(h, VisitType::Routine)).unwrap();
                    s.today().unwrap();
                }
            });
        }
    });
    let ob = s.outbox(0, 1000).unwrap();
    assert_eq!(ob.len(), 100);
    assert!(ob.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1));
    assert_eq!(f.count("visit"), 100);
}

#[test]
fn a_photo_is_stored_once_by_content_and_keeps_only_its_location() {
    let f = fixture();
    let s = &f.store;
    let a = s.file_report(report_input("g-0101", vec![f.photo("a.jpg", 7)])).unwrap();
    let b = s.file_report(report_input("g-0101", vec![f.photo("b.jpg", 7)])).unwrap();
    assert_eq!(a.photos, b.photos, "same content, same hash");
    assert_eq!(f.count("attachment"), 1);
    assert_eq!(f.count("attachment_blob"), 2, "the photo and its thumbnail");
    use sha2_check::digest_hex;
    assert_eq!(digest_hex(&stored_photo(f.dir.path(), &a.photos[0])), a.photos[0]);
}

mod sha2_check {
    /// Independent SHA-256 via the `sha256sum` tool, so the test does not trust the code under test.
    pub fn digest_hex(bytes: &[u8]) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
    }
}

#[test]
fn after_switching_worker_the_phone_keeps_nothing_of_the_old_workers_tasks_or_cases() {
    // w-003 leads both grids; after the phone passes to w-002 (grid 2 only), grid 1's case
    // and w-003's task are not shown, and cannot be acted on.
    let f = fixture_for("w-003");
    let s = &f.store;
    let mut t = GridConfig::sample().tasks[0].clone();
    t.id = "t-w003".into();
    t.assignee_id = Some("w-003".into());
    s.receive_task(&t).unwrap();
    let r = s.file_report(report_input("g-0101", vec![])).unwrap();
    // Pretend HQ acknowledged everything, so the switch is allowed.
    let db = rusqlite::Connection::open(f.dir.path().join(store::DB_FILE)).unwrap();
    db.execute("UPDATE sync_state SET acked_through_seq = (SELECT MAX(seq) FROM outbox)", []).unwrap();
    let dir = f.dir.path().to_path_buf();
    drop(f.store);
    let s = Store::init(&dir, &GridConfig::sample(), "w-002", opts(&f.clock)).unwrap();
    assert!(s.tasks().unwrap().is_empty());
    assert_eq!(s.today().unwrap().open_cases.len(), 0);
    assert!(matches!(s.case_timeline(&r.case_id), Err(CoreError::NotFound { .. })));
    let mut follow = visit_input("h-0004", VisitType::FollowUp);
    follow.case_id = Some(r.case_id.clone());
    follow.satisfaction = Some(3);
    assert!(matches!(s.record_visit(follow), Err(CoreError::NotFound { .. })));
}

/// A check-in picked on a Chinese map SDK arrives in GCJ-02 (AMap, Tencent) or BD-09 (Baidu),
/// about 500 m off in Shanghai: tagged, it is moved onto WGS-84 and judged inside the grid;
/// untagged, the same numbers would be recorded outside it.
#[test]
fn a_map_sdk_position_is_stored_in_wgs84_and_judged_against_the_grid() {
    use gridpatrol_core::datum::{distance_m, from_wgs84};
    let f = fixture();
    let s = &f.store;
    let p = s.start_patrol("g-0101", PatrolShift::Day).unwrap();
    let truth = inside();
    for datum in [Datum::Gcj02, Datum::Bd09] {
        let shown = from_wgs84(truth, datum);
        assert!(distance_m(shown, truth) > 300.0, "{datum:?} is really shifted");
        let mut untagged = check_in_at(shown, vec![]);
        untagged.datum = None;
        assert!(!s.check_in(&p.id, untagged).unwrap().inside_grid, "as WGS-84 the map's numbers are outside");
        let mut tagged = check_in_at(shown, vec![]);
        tagged.datum = Some(datum);
        let cp = s.check_in(&p.id, tagged).unwrap();
        assert!(cp.inside_grid, "{datum:?}");
        assert!(distance_m(cp.location, truth) < 2.0, "{datum:?}: stored {:?}", cp.location);
    }
    let mut visit = visit_input("h-0001", VisitType::Routine);
    visit.location = Some(from_wgs84(truth, Datum::Gcj02));
    visit.datum = Some(Datum::Gcj02);
    assert!(distance_m(s.record_visit(visit).unwrap().location.unwrap(), truth) < 2.0);
    let mut report = report_input("g-0101", vec![]);
    report.location = from_wgs84(truth, Datum::Bd09);
    report.datum = Some(Datum::Bd09);
    assert!(distance_m(s.file_report(report).unwrap().location, truth) < 2.0);
}

/// 人到 counts only trusted check-ins: a 5 km fix, one without accuracy or one from a mock
/// location is recorded and shown flagged, never refused, and does not make the part done.
#[test]
fn weak_and_mock_fixes_are_recorded_flagged_and_do_not_count_for_person_on_site() {
    let f = fixture();
    let s = &f.store;
    let p = s.start_patrol("g-0101", PatrolShift::Night).unwrap();
    assert_eq!(s.active_template().patrol.max_accuracy_m, 50.0, "the default limit");
    let weak = [
        CheckInInput { accuracy_m: Some(5000.0), ..check_in_at(inside(), vec![]) },
        CheckInInput { accuracy_m: None, ..check_in_at(inside(), vec![]) },
        CheckInInput { mock_location: true, ..check_in_at(inside(), vec![]) },
    ];
    for input in weak {
        let cp = s.check_in(&p.id, input).unwrap();
        assert!(cp.inside_grid && !cp.trusted, "{cp:?}");
    }
    let progress = s.today().unwrap().patrol.unwrap();
    assert_eq!((progress.checkins, progress.weak_checkins, progress.outside_grid_checkins), (3, 3, 0));
    assert!(!progress.parts[0].done, "人到 is not done on weak fixes");
    for _ in 0..2 {
        assert!(s.check_in(&p.id, check_in_at(inside(), vec![])).unwrap().trusted);
    }
    let progress = s.today().unwrap().patrol.unwrap();
    assert_eq!(progress.parts[0].part, PatrolPart::PersonOnSite);
    assert!(progress.parts[0].done, "two trusted check-ins: 人到");
    let ob = s.outbox(0, 100).unwrap();
    let mocked =
        ob.iter().filter(|e| matches!(&e.command, Command::CheckIn { checkpoint } if checkpoint.mock_location));
    assert_eq!(mocked.count(), 1, "the mock flag travels to HQ");
}

/// A 110 diversion on the phone: acknowledge, set off, arrive with the GPS fix that shows it,
/// complete with the result; another is sent back with its reason. The same rules as HQ's.
#[test]
fn a_task_is_worked_on_site_and_another_is_sent_back() {
    let f = fixture();
    let s = &f.store;
    let act = |id: &str, action: TaskAction, result: Option<&str>, location: Option<GeoPoint>| {
        s.act_on_task(TaskActionInput {
            task_id: id.into(),
            action,
            result: result.map(str::to_string),
            photos: vec![],
            location,
            datum: None,
        })
    };
    act("t-110-0001", TaskAction::Acknowledge, None, None).unwrap();
    act("t-110-0001", TaskAction::OnTheWay, None, None).unwrap();
    match act("t-110-0001", TaskAction::Arrive, None, None) {
        Err(CoreError::InvalidInput { field, .. }) => assert_eq!(field, "location"),
        other => panic!("arriving needs a fix: {other:?}"),
    }
    assert_eq!(act("t-110-0001", TaskAction::Arrive, None, Some(inside())).unwrap().status, TaskStatus::Arrived);
    assert_eq!(
        act("t-110-0001", TaskAction::Complete, Some("已调解 (mediated)"), None).unwrap().status,
        TaskStatus::Done
    );
    // On another phone, the same task is sent back instead: a reason is required.
    let g = fixture();
    let send_back = |reason: Option<&str>| {
        g.store.act_on_task(TaskActionInput {
            task_id: "t-110-0001".into(),
            action: TaskAction::SendBack,
            result: reason.map(str::to_string),
            photos: vec![],
            location: None,
            datum: None,
        })
    };
    assert!(matches!(send_back(None), Err(CoreError::InvalidInput { .. })));
    assert_eq!(send_back(Some("不属网格职责 (not the grid's)")).unwrap().status, TaskStatus::SentBack);
    assert!(g.store.today().unwrap().tasks.is_empty(), "a task sent back is no longer due");
    let arrived = s.outbox(0, 100).unwrap().into_iter().find_map(|e| match e.command {
        Command::TaskStep { event } if event.action == TaskAction::Arrive => event.location,
        _ => None,
    });
    assert_eq!(arrived, Some(inside()), "the fix travels with the step");
}
