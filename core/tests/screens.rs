//! Every screen model against stored records: what it lists, the actions it offers (by role and
//! state), its flags and its language. Where a test needs what only HQ sends (a case's deadline,
//! a refusal), it writes HQ's answer into the store directly and says so in its name.

mod common;

use chrono::DateTime;
use common::*;
use gridpatrol_core::*;

fn actions(a: &[ActionOption]) -> Vec<Action> {
    a.iter().map(|o| o.action.clone()).collect()
}

fn sql(f: &Fixture, statement: &str) {
    let c = rusqlite::Connection::open(f.dir.path().join(store::DB_FILE)).unwrap();
    c.execute_batch(statement).unwrap();
}

#[test]
fn home_lists_my_grids_todays_patrols_open_cases_and_what_i_may_do() {
    let f = fixture();
    let s = &f.store;
    let home = s.today().unwrap();
    assert_eq!(home.grids.len(), 1);
    let g = &home.grids[0];
    assert_eq!(
        (g.id.as_str(), g.day_patrol, g.night_patrol),
        ("g-0101", ShiftStatus::NotStarted, ShiftStatus::NotStarted)
    );
    assert!(!g.community_name.is_empty() && g.boundary.len() >= 3, "{g:?}");
    let a = actions(&home.actions);
    assert!(a.contains(&Action::StartPatrol { grid_id: "g-0101".into(), shift: PatrolShift::Night }));
    assert!(a.contains(&Action::SyncNow));

    let p = s.start_patrol("g-0101", PatrolShift::Day).unwrap();
    let report = s.file_report(report_input("g-0101", vec![])).unwrap();
    let home = s.today().unwrap();
    assert_eq!(home.grids[0].day_patrol, ShiftStatus::InProgress);
    let a = actions(&home.actions);
    assert!(a.contains(&Action::CheckIn { patrol_id: p.id.clone() }));
    assert!(!a.iter().any(|x| matches!(x, Action::StartPatrol { .. })), "one patrol at a time: {a:?}");
    assert_eq!(home.open_cases.len(), 1);
    assert_eq!(home.open_cases[0].case_id, report.case_id);
    assert_eq!(home.open_cases[0].category_label, "安全隐患 (safety hazard)");
    s.finish_patrol(&p.id, PatrolOutcome::NothingFound, None).unwrap();
    assert_eq!(s.today().unwrap().grids[0].day_patrol, ShiftStatus::Done);
}

#[test]
fn labels_come_in_the_stores_language() {
    let f = fixture();
    let s = &f.store;
    s.file_report(report_input("g-0101", vec![])).unwrap();
    assert_eq!(s.language(), Lang::Both);
    s.set_language(Lang::Zh);
    let zh = s.today().unwrap();
    assert_eq!(zh.worker_role, "专职网格员");
    assert_eq!(zh.open_cases[0].state_label, "上报");
    assert_eq!(zh.unsent.message, "1 条记录、0 张照片未发送");
    s.set_language(Lang::En);
    let en = s.today().unwrap();
    assert_eq!(en.worker_role, "full-time grid worker");
    assert_eq!(en.open_cases[0].category_label, "safety hazard");
    assert_eq!(en.grids[0].day_patrol_label, "day patrol: not patrolled");
    assert!(en
        .actions
        .iter()
        .all(|a| !a.label.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) || a.label.contains("网格")));
}

#[test]
fn a_volunteer_is_offered_fewer_case_steps_than_a_grid_leader() {
    // The same situation for both: a case they solved on the spot (即知即办), now closed.
    let close = |worker: &str| {
        let f = fixture_for(worker);
        let r = f.store.file_report(report_input("g-0102", vec![])).unwrap();
        let mut st = step(&r.case_id, CaseState::Closed);
        st.clear = all_clear();
        st.photos = vec![f.photo("after.jpg", 2)];
        f.store.move_case(st).unwrap();
        let page = f.store.case_timeline(&r.case_id).unwrap();
        (f, page)
    };
    let (_v, volunteer) = close("w-002");
    let (_l, leader) = close("w-003");
    assert_eq!(volunteer.state, CaseState::Closed);
    assert!(volunteer.next_steps.is_empty(), "a volunteer does not do follow-up visits: {:?}", volunteer.next_steps);
    assert_eq!(leader.next_steps.iter().map(|s| s.to).collect::<Vec<_>>(), vec![CaseState::FollowedUp]);
    assert_eq!(
        actions(&leader.actions),
        vec![Action::CaseStep { case_id: leader.case_id.clone(), to: CaseState::FollowedUp }]
    );
    assert_eq!(volunteer.photos.len(), 0, "the report had no photo; the closing photo is on the event");
}

#[test]
fn weak_and_mock_fixes_are_flagged_on_the_patrol_screen() {
    let f = fixture();
    let s = &f.store;
    let t = s.active_template();
    let p = s.start_patrol("g-0101", PatrolShift::Night).unwrap();
    let mut weak = check_in_at(inside(), all_ok_answers(&t)[..1].to_vec());
    weak.accuracy_m = Some(500.0);
    s.check_in(&p.id, weak).unwrap();
    let mut mock = check_in_at(inside(), vec![]);
    mock.mock_location = true;
    s.check_in(&p.id, mock).unwrap();
    s.check_in(&p.id, check_in_at(outside(), vec![])).unwrap();
    s.check_in(&p.id, check_in_at(inside(), vec![])).unwrap();
    s.add_track_points(
        &p.id,
        &[
            TrackPoint { lat: 31.2300, lng: 121.4700, accuracy_m: Some(5.0), at: p.started_at },
            TrackPoint { lat: 31.2310, lng: 121.4700, accuracy_m: Some(5.0), at: p.started_at },
        ],
    )
    .unwrap();
    let screen = s.patrol_screen(&p.id).unwrap();
    let flags: Vec<Option<String>> = screen.checkpoints.iter().map(|c| c.flag.clone()).collect();
    assert_eq!(
        flags,
        vec![
            Some("定位弱（±500 米，需 ±50 米内） (weak fix (±500 m, needs ±50 m))".to_string()),
            Some("模拟位置 (mock location)".to_string()),
            Some("在网格外 (outside the grid)".to_string()),
            None
        ]
    );
    assert_eq!(screen.flags.len(), 2, "{:?}", screen.flags);
    let on_site = &screen.parts[0];
    assert_eq!(on_site.part, PatrolPart::PersonOnSite);
    assert!(on_site.why.contains(&format!("1/{}", t.patrol.min_checkins)), "{on_site:?}");
    assert_eq!(screen.checklist.len(), t.patrol.checklist.len());
    assert_eq!(screen.checklist[0].answered, Some(Answer::Ok));
    assert_eq!(screen.checklist[1].answered, None);
    assert_eq!(screen.checklist[0].choices.len(), 3);
    assert!((screen.track_length_m - 111.0).abs() < 2.0, "0.001° of latitude: {}", screen.track_length_m);
    s.finish_patrol(&p.id, PatrolOutcome::NothingFound, None).unwrap();
    let done = s.patrol_screen(&p.id).unwrap();
    assert!(!done.in_progress && done.actions.is_empty());
    assert!(done.parts[2].done, "nothing found finishes 记到");
    // Another worker's patrol is not shown.
    let other = fixture_for("w-002");
    assert!(matches!(other.store.patrol_screen(&p.id), Err(CoreError::NotFound { .. })));
}

#[test]
fn an_overdue_case_comes_first_in_the_inbox_deadline_from_hq_written_directly() {
    let f = fixture();
    let s = &f.store;
    let early = s.file_report(report_input("g-0101", vec![])).unwrap();
    let late = s.file_report(report_input("g-0101", vec![])).unwrap();
    // What a pulled case update would do: HQ dispatched `late` with a deadline tomorrow.
    sql(
        &f,
        &format!(
            "UPDATE case_file SET state = 'dispatched', deadline_ms = {} WHERE id = '{}'",
            NOW_MS + 86_400_000,
            late.case_id
        ),
    );
    let inbox = s.case_inbox(&CaseFilter::default()).unwrap();
    assert_eq!((inbox.open, inbox.overdue), (2, 0));
    assert_eq!(inbox.rows[0].case_id, late.case_id, "a deadline sorts before none");
    f.clock.set(NOW_MS + 2 * 86_400_000);
    let inbox = s.case_inbox(&CaseFilter::default()).unwrap();
    assert_eq!((inbox.open, inbox.overdue), (2, 1));
    assert!(inbox.rows[0].overdue && inbox.rows[0].case_id == late.case_id);
    let only = s.case_inbox(&CaseFilter { overdue_only: true, ..Default::default() }).unwrap();
    assert_eq!(only.rows.len(), 1);
    assert!(s.case_timeline(&late.case_id).unwrap().overdue);
    assert!(!s.case_timeline(&early.case_id).unwrap().overdue);
    assert!(matches!(
        s.case_inbox(&CaseFilter { grid_id: Some("g-0102".into()), ..Default::default() }),
        Err(CoreError::InvalidInput { .. })
    ));
}

#[test]
fn a_refused_record_shows_hqs_reason_and_is_retried_or_discarded_never_silently_refusal_written_directly() {
    let f = fixture();
    let s = &f.store;
    s.record_visit(visit_input("h-0001", VisitType::Routine)).unwrap();
    s.record_visit(visit_input("h-0002", VisitType::Routine)).unwrap();
    // What HQ's answer would leave: both settled, both refused with a reason.
    sql(
        &f,
        "UPDATE outbox SET state = 'rejected', last_error = 'household moved to another grid';
         UPDATE sync_state SET acked_through_seq = 2;",
    );
    let status = s.sync_status().unwrap();
    assert_eq!(status.rejected.len(), 2);
    let first = &status.rejected[0];
    assert_eq!(first.reason, "household moved to another grid");
    assert_eq!(
        actions(&first.actions),
        vec![Action::RetryRejected { seq: first.seq }, Action::DiscardRejected { seq: first.seq }]
    );
    assert!(first.actions[1].confirm.is_some(), "discarding asks first");
    assert!(status.unsent.message.contains("2 rejected"));

    match s.discard_rejected(first.seq, false) {
        Err(CoreError::InvalidInput { field, .. }) => assert_eq!(field, "confirmed"),
        other => panic!("{other:?}"),
    }
    s.discard_rejected(first.seq, true).unwrap();
    let second = status.rejected[1].seq;
    s.retry_rejected(second).unwrap();
    let status = s.sync_status().unwrap();
    assert!(status.rejected.is_empty());
    assert_eq!(status.unsent.records, 1, "the retried record waits to be sent again");
    assert_eq!(status.waiting[0].entity_id, s.outbox(0, 10).unwrap()[1].entity_id);
    assert!(matches!(s.retry_rejected(second), Err(CoreError::NotFound { .. })), "only a refused row");
}

#[test]
fn the_grid_screen_searches_households_and_puts_due_must_visits_first() {
    let f = fixture();
    let s = &f.store;
    let all = s.grid_screen("g-0101", &HouseholdQuery::default()).unwrap();
    assert!(all.households.len() >= 2, "{:?}", all.households);
    assert!(all.households[0].due, "a must-visit household never visited is due first: {:?}", all.households[0]);
    assert_eq!(all.households_matching as usize, all.households.len());
    assert!(all.buildings.iter().any(|b| b.name == "3栋"), "{:?}", all.buildings);
    assert!(all.households.iter().all(|h| h.phone.as_deref().is_none_or(|p| p.contains("****"))));
    let chen = s.grid_screen("g-0101", &HouseholdQuery { text: Some("陈".into()), ..Default::default() }).unwrap();
    assert_eq!(chen.households.len(), 1);
    assert_eq!(
        chen.households[0].actions[0].action,
        Action::RecordVisit { household_id: chen.households[0].id.clone() }
    );
    let elderly =
        s.grid_screen("g-0101", &HouseholdQuery { care_tag: Some(CareTag::Elderly), ..Default::default() }).unwrap();
    assert!(elderly.households.iter().all(|h| h.care_tags.iter().any(|t| t.starts_with("高龄"))));
    s.record_visit(visit_input(&chen.households[0].id, VisitType::MustVisit)).unwrap();
    let after = s.grid_screen("g-0101", &HouseholdQuery { text: Some("陈".into()), ..Default::default() }).unwrap();
    assert!(!after.households[0].due && after.households[0].last_visit_at.is_some());
    assert!(matches!(s.grid_screen("g-0102", &HouseholdQuery::default()), Err(CoreError::InvalidInput { .. })));
}

#[test]
fn forms_are_checked_by_the_core_with_every_error_naming_its_field() {
    let f = fixture();
    let s = &f.store;
    let form = s.visit_form("h-0001").unwrap();
    assert_eq!(form.visit_types.iter().filter(|t| t.follow_up).count(), 1);
    assert_eq!(form.outcomes.len(), VisitOutcome::ALL.len());
    let mut bad = visit_input("h-9999", VisitType::Routine);
    bad.satisfaction = Some(4);
    let errors: Vec<String> = s.validate_visit(&bad).unwrap().into_iter().map(|e| e.field).collect();
    assert_eq!(errors, vec!["satisfaction", "household_id"]);
    assert!(s.validate_visit(&visit_input("h-0001", VisitType::Routine)).unwrap().is_empty());

    let rf = s.report_form().unwrap();
    assert!(rf.categories.iter().any(|c| c.value == ReportCategory::Emergency && c.report_at_once));
    assert_eq!(rf.grids.len(), 1);
    let mut bad = report_input("g-0101", vec![]);
    bad.description = "  ".into();
    bad.urgency = Some(Urgency::Normal);
    bad.grid_id = "g-0102".into();
    let errors: Vec<String> = s.validate_report(&bad).unwrap().into_iter().map(|e| e.field).collect();
    assert_eq!(errors, vec!["grid_id", "description", "urgency"]);
    assert!(s.validate_report(&report_input("g-0101", vec![])).unwrap().is_empty());
    assert!(matches!(s.visit_form("h-9999"), Err(CoreError::NotFound { .. })));
}

#[test]
fn the_task_page_masks_the_caller_and_offers_the_steps_of_its_status() {
    let f = fixture();
    let s = &f.store;
    let task = TaskInput {
        id: "t-1".into(),
        source: TaskSource::Diversion110,
        title: "噪音纠纷 (noise)".into(),
        description: "3栋".into(),
        target_unit: "调解 (mediation)".into(),
        assignee_id: Some("w-001".into()),
        grid_id: Some("g-0101".into()),
        deadline: deadline(),
        dispatched_at: DateTime::from_timestamp_millis(NOW_MS).unwrap(),
        details: TaskDetails {
            unit_name: Some("人民调解委员会".into()),
            caller: Some("13812345678".into()),
            ..Default::default()
        },
    };
    s.receive_task(&task).unwrap();
    let list = TaskInput { id: "t-2".into(), source: TaskSource::WeeklyMeeting, ..task.clone() };
    s.receive_task(&list).unwrap();
    let inbox = s.task_inbox(false).unwrap();
    // The sample configuration brings one 110 task of its own.
    assert_eq!((inbox.tasks.len(), inbox.list_items.len(), inbox.open), (2, 1, 3));
    assert_eq!(s.today().unwrap().list_items.len(), 1);
    let page = s.task_detail("t-1").unwrap();
    assert_eq!(page.caller.as_deref(), Some("138****5678"));
    assert_eq!(page.unit, "人民调解委员会");
    let steps: Vec<TaskAction> = page.steps.iter().map(|s| s.action).collect();
    assert_eq!(steps, vec![TaskAction::Acknowledge, TaskAction::SendBack]);
    assert!(page.actions[1].confirm.is_some(), "sending back asks first");
    let ack = TaskActionInput {
        task_id: "t-1".into(),
        action: TaskAction::Acknowledge,
        result: None,
        photos: vec![],
        location: None,
        datum: None,
    };
    s.act_on_task(ack).unwrap();
    let page = s.task_detail("t-1").unwrap();
    let arrive = page.steps.iter().find(|s| s.action == TaskAction::Arrive).unwrap();
    assert!(arrive.needs_location && !arrive.needs_result);
    assert_eq!(page.events.len(), 1);
}

#[tokio::test]
async fn a_screen_watch_yields_after_a_change_and_not_for_one_that_leaves_it_equal() {
    let f = fixture();
    let s = &f.store;
    let mut w = screens::ScreenWatch::new(s, screens::Screen::SyncStatus);
    let Some(screens::ScreenModel::SyncStatus(first)) = w.next(s).await.unwrap() else { panic!() };
    assert_eq!(first.unsent.records, 0);
    s.record_visit(visit_input("h-0001", VisitType::Routine)).unwrap();
    let Some(screens::ScreenModel::SyncStatus(next)) = w.next(s).await.unwrap() else { panic!() };
    assert_eq!(next.unsent.records, 1);
    s.set_language(Lang::Both); // a change event that changes nothing on this screen
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(100), w.next(s)).await;
    assert!(quiet.is_err(), "nothing to yield");
}
