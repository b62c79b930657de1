//! Every public operation, given bad input, returns a typed error naming the field and
//! writes nothing: no domain row, no outbox row, no photo file.

mod common;

use common::*;
use gridpatrol_core::*;

/// (operation, expected error code, expected field or "" when the error has no field)
type Case<'a> = (&'static str, Box<dyn Fn(&Store) -> Result<()> + 'a>, &'static str, &'static str);

fn expect(store: &Store, f: &Fixture, cases: Vec<Case<'_>>) {
    for (name, op, code, field) in cases {
        let before = f.all_counts();
        let photos_before = std::fs::read_dir(f.dir.path().join("attachments")).map(|d| d.count()).unwrap_or(0);
        let err = match op(store) {
            Ok(()) => panic!("{name}: bad input was accepted"),
            Err(e) => e,
        };
        assert_eq!(err.code(), code, "{name}: {err}");
        if let CoreError::InvalidInput { field: got, .. } | CoreError::PhotoRefused { field: got, .. } = &err {
            assert_eq!(got, field, "{name}: {err}");
        }
        assert!(!err.to_string().is_empty());
        assert_eq!(before, f.all_counts(), "{name}: something was written");
        let photos_after = std::fs::read_dir(f.dir.path().join("attachments")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(photos_before, photos_after, "{name}: a photo file was left behind");
    }
}

#[test]
fn every_recording_operation_refuses_bad_input_and_writes_nothing() {
    let f = fixture();
    let t = f.store.active_template();
    let p = f.store.start_patrol("g-0101", PatrolShift::Day).unwrap();
    let r = f.store.file_report(report_input("g-0101", vec![])).unwrap();
    let not_a_photo = f.dir.path().join("notes.txt");
    std::fs::write(&not_a_photo, "这不是照片").unwrap();
    let good_photo = f.photo("ok.jpg", 3);
    let heic = f.dir.path().join("IMG_0001.HEIC");
    std::fs::write(&heic, b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0").unwrap();
    let cut_photo = f.dir.path().join("cut.jpg");
    std::fs::write(&cut_photo, &tiny_jpeg(4)[..60]).unwrap();
    let pid = p.id.clone();
    let cid = r.case_id.clone();
    let at = p.started_at;
    let bad_visit = |mutate: fn(&mut VisitInput)| {
        let mut v = visit_input("h-0001", VisitType::Routine);
        mutate(&mut v);
        v
    };
    let cases: Vec<Case<'_>> = vec![
        // patrols
        (
            "start_patrol other grid",
            Box::new(|s| s.start_patrol("g-0102", PatrolShift::Day).map(drop)),
            "invalid_input",
            "grid_id",
        ),
        (
            "start_patrol unknown grid",
            Box::new(|s| s.start_patrol("nope", PatrolShift::Day).map(drop)),
            "invalid_input",
            "grid_id",
        ),
        (
            "start_patrol while one runs",
            Box::new(|s| s.start_patrol("g-0101", PatrolShift::Day).map(drop)),
            "patrol_state",
            "",
        ),
        ("track empty", Box::new(|s| s.add_track_points(&pid, &[]).map(drop)), "invalid_input", "points"),
        (
            "track lat",
            Box::new(move |s| {
                s.add_track_points(&p.id, &[TrackPoint { lat: 91.0, lng: 0.0, accuracy_m: None, at }]).map(drop)
            }),
            "invalid_input",
            "points[0].lat",
        ),
        (
            "track NaN",
            Box::new(|s| {
                s.add_track_points(&pid, &[TrackPoint { lat: f64::NAN, lng: 0.0, accuracy_m: None, at }]).map(drop)
            }),
            "invalid_input",
            "points[0].lat",
        ),
        (
            "track accuracy",
            Box::new(|s| {
                s.add_track_points(&pid, &[TrackPoint { lat: 1.0, lng: 1.0, accuracy_m: Some(-1.0), at }]).map(drop)
            }),
            "invalid_input",
            "points[0].accuracy_m",
        ),
        (
            "track unknown patrol",
            Box::new(|s| {
                s.add_track_points("nope", &[TrackPoint { lat: 1.0, lng: 1.0, accuracy_m: None, at }]).map(drop)
            }),
            "not_found",
            "",
        ),
        (
            "check_in lng",
            Box::new(|s| s.check_in(&pid, check_in_at(GeoPoint { lat: 31.0, lng: 181.0 }, vec![])).map(drop)),
            "invalid_input",
            "location.lng",
        ),
        (
            "check_in unknown item",
            Box::new(|s| {
                s.check_in(
                    &pid,
                    check_in_at(
                        inside(),
                        vec![ChecklistAnswer { item_id: "nope".into(), answer: Answer::Ok, note: None }],
                    ),
                )
                .map(drop)
            }),
            "invalid_input",
            "answers[0].item_id",
        ),
        (
            "check_in item twice",
            Box::new(|s| {
                let mut a = all_ok_answers(&t);
                a.push(a[0].clone());
                s.check_in(&pid, check_in_at(inside(), a)).map(drop)
            }),
            "invalid_input",
            "answers[5].item_id",
        ),
        (
            "check_in long place",
            Box::new(|s| {
                let mut c = check_in_at(inside(), vec![]);
                c.place_name = Some("长".repeat(201));
                s.check_in(&pid, c).map(drop)
            }),
            "invalid_input",
            "place_name",
        ),
        (
            "check_in unknown patrol",
            Box::new(|s| s.check_in("nope", check_in_at(inside(), vec![])).map(drop)),
            "not_found",
            "",
        ),
        (
            "finish findings without report",
            Box::new(|s| s.finish_patrol(&pid, PatrolOutcome::Findings, None).map(drop)),
            "invalid_input",
            "outcome",
        ),
        (
            "finish control chars",
            Box::new(|s| s.finish_patrol(&pid, PatrolOutcome::NothingFound, Some("a\u{7}b")).map(drop)),
            "invalid_input",
            "note",
        ),
        // visits
        (
            "visit unknown household",
            Box::new(|s| s.record_visit(visit_input("h-9999", VisitType::Routine)).map(drop)),
            "not_found",
            "",
        ),
        (
            "visit other grid's household (not stored on this phone)",
            Box::new(|s| s.record_visit(visit_input("h-0004", VisitType::Routine)).map(drop)),
            "not_found",
            "",
        ),
        (
            "visit bad id",
            Box::new(|s| s.record_visit(visit_input("h 1", VisitType::Routine)).map(drop)),
            "invalid_input",
            "household_id",
        ),
        (
            "visit satisfaction on routine",
            Box::new(move |s| s.record_visit(bad_visit(|v| v.satisfaction = Some(3))).map(drop)),
            "invalid_input",
            "satisfaction",
        ),
        (
            "follow-up without satisfaction",
            Box::new(move |s| {
                s.record_visit(bad_visit(|v| {
                    v.visit_type = VisitType::FollowUp;
                    v.case_id = Some("x".into())
                }))
                .map(drop)
            }),
            "invalid_input",
            "satisfaction",
        ),
        (
            "follow-up satisfaction 6",
            Box::new(move |s| {
                s.record_visit(bad_visit(|v| {
                    v.visit_type = VisitType::FollowUp;
                    v.satisfaction = Some(6);
                    v.case_id = Some("x".into())
                }))
                .map(drop)
            }),
            "invalid_input",
            "satisfaction",
        ),
        (
            "follow-up without case",
            Box::new(move |s| {
                s.record_visit(bad_visit(|v| {
                    v.visit_type = VisitType::FollowUp;
                    v.satisfaction = Some(4)
                }))
                .map(drop)
            }),
            "invalid_input",
            "case_id",
        ),
        (
            "follow-up unknown case",
            Box::new(move |s| {
                s.record_visit(bad_visit(|v| {
                    v.visit_type = VisitType::FollowUp;
                    v.satisfaction = Some(4);
                    v.case_id = Some("nope".into())
                }))
                .map(drop)
            }),
            "not_found",
            "",
        ),
        (
            "visit in 1960",
            Box::new(move |s| {
                s.record_visit(bad_visit(|v| v.occurred_at = chrono::DateTime::from_timestamp(-315_619_200, 0)))
                    .map(drop)
            }),
            "invalid_input",
            "occurred_at",
        ),
        (
            "visit location",
            Box::new(move |s| {
                s.record_visit(bad_visit(|v| v.location = Some(GeoPoint { lat: -91.0, lng: 0.0 }))).map(drop)
            }),
            "invalid_input",
            "location.lat",
        ),
        (
            "visit long note",
            Box::new(move |s| s.record_visit(bad_visit(|v| v.note = Some("x".repeat(1001)))).map(drop)),
            "invalid_input",
            "note",
        ),
        // reports
        (
            "report empty description",
            Box::new(|s| {
                let mut r = report_input("g-0101", vec![]);
                r.description = "  ".into();
                s.file_report(r).map(drop)
            }),
            "invalid_input",
            "description",
        ),
        (
            "report other grid",
            Box::new(|s| s.file_report(report_input("g-0102", vec![])).map(drop)),
            "invalid_input",
            "grid_id",
        ),
        (
            "report hazard as normal",
            Box::new(|s| {
                let mut r = report_input("g-0101", vec![]);
                r.urgency = Some(Urgency::Normal);
                s.file_report(r).map(drop)
            }),
            "invalid_input",
            "urgency",
        ),
        (
            "report from patrol without patrol",
            Box::new(|s| {
                let mut r = report_input("g-0101", vec![]);
                r.source = ReportSource::Patrol;
                s.file_report(r).map(drop)
            }),
            "invalid_input",
            "patrol_id",
        ),
        (
            "report from visit without visit",
            Box::new(|s| {
                let mut r = report_input("g-0101", vec![]);
                r.source = ReportSource::Visit;
                s.file_report(r).map(drop)
            }),
            "invalid_input",
            "visit_id",
        ),
        (
            "report unknown patrol",
            Box::new(|s| {
                let mut r = report_input("g-0101", vec![]);
                r.source = ReportSource::Patrol;
                r.patrol_id = Some("nope".into());
                s.file_report(r).map(drop)
            }),
            "not_found",
            "",
        ),
        (
            "report other grid, with a photo (staged, then refused in the transaction)",
            Box::new(|s| s.file_report(report_input("g-0102", vec![good_photo.clone()])).map(drop)),
            "invalid_input",
            "grid_id",
        ),
        (
            "report people",
            Box::new(|s| {
                let mut r = report_input("g-0101", vec![]);
                r.people_involved = 10_001;
                s.file_report(r).map(drop)
            }),
            "invalid_input",
            "people_involved",
        ),
        (
            "report not a photo",
            Box::new(|s| s.file_report(report_input("g-0101", vec![not_a_photo.clone()])).map(drop)),
            "photo_refused",
            "photos[0]",
        ),
        (
            "report HEIC photo (refused: the iOS shell hands over JPEG)",
            Box::new(|s| s.file_report(report_input("g-0101", vec![good_photo.clone(), heic.clone()])).map(drop)),
            "photo_refused",
            "photos[1]",
        ),
        (
            "report photo cut short",
            Box::new(|s| s.file_report(report_input("g-0101", vec![cut_photo.clone()])).map(drop)),
            "photo_refused",
            "photos[0]",
        ),
        (
            "report missing photo file",
            Box::new(|s| {
                s.file_report(report_input("g-0101", vec![good_photo.clone(), "/nonexistent.jpg".into()])).map(drop)
            }),
            "invalid_input",
            "photos[1]",
        ),
        (
            "report too many photos",
            Box::new(|s| s.file_report(report_input("g-0101", vec![good_photo.clone(); 10])).map(drop)),
            "invalid_input",
            "photos",
        ),
        (
            "report location",
            Box::new(|s| {
                let mut r = report_input("g-0101", vec![]);
                r.location.lat = f64::INFINITY;
                s.file_report(r).map(drop)
            }),
            "invalid_input",
            "location.lat",
        ),
        // cases
        ("case unknown", Box::new(|s| s.move_case(step("nope", CaseState::Accepted)).map(drop)), "not_found", ""),
        (
            "case illegal",
            Box::new(|s| s.move_case(step(&cid, CaseState::Verified)).map(drop)),
            "illegal_transition",
            "",
        ),
        (
            "case close without clear",
            Box::new(|s| {
                let mut c = step(&cid, CaseState::Closed);
                c.photos = vec![good_photo.clone()];
                s.move_case(c).map(drop)
            }),
            "clear_items_missing",
            "",
        ),
        (
            "case satisfaction 0",
            Box::new(|s| {
                let mut c = step(&cid, CaseState::Accepted);
                c.clear.satisfaction = Some(0);
                s.move_case(c).map(drop)
            }),
            "invalid_input",
            "clear.satisfaction",
        ),
        (
            "case deadline 2200",
            Box::new(|s| {
                let mut c = step(&cid, CaseState::Accepted);
                c.clear.deadline = chrono::DateTime::from_timestamp(7_258_118_400, 0);
                s.move_case(c).map(drop)
            }),
            "invalid_input",
            "clear.deadline",
        ),
        (
            "case outcome photo not a hash",
            Box::new(|s| {
                let mut c = step(&cid, CaseState::Accepted);
                c.clear.outcome_photo = Some("abc".into());
                s.move_case(c).map(drop)
            }),
            "invalid_input",
            "clear.outcome_photo",
        ),
        (
            "case outcome photo unknown",
            Box::new(|s| {
                let mut c = step(&cid, CaseState::Accepted);
                c.clear.outcome_photo = Some("a".repeat(64));
                s.move_case(c).map(drop)
            }),
            "invalid_input",
            "clear.outcome_photo",
        ),
        // tasks
        (
            "task unknown",
            Box::new(|s| {
                s.act_on_task(TaskActionInput {
                    task_id: "nope".into(),
                    action: TaskAction::Acknowledge,
                    result: None,
                    photos: vec![],
                    location: None,
                    datum: None,
                })
                .map(drop)
            }),
            "not_found",
            "",
        ),
        (
            "task skip ahead",
            Box::new(|s| {
                s.act_on_task(TaskActionInput {
                    task_id: "t-110-0001".into(),
                    action: TaskAction::OnTheWay,
                    result: None,
                    photos: vec![],
                    location: None,
                    datum: None,
                })
                .map(drop)
            }),
            "illegal_task_action",
            "",
        ),
        (
            "task complete without result",
            Box::new(|s| {
                s.act_on_task(TaskActionInput {
                    task_id: "t-110-0001".into(),
                    action: TaskAction::Complete,
                    result: None,
                    photos: vec![],
                    location: None,
                    datum: None,
                })
                .map(drop)
            }),
            "invalid_input",
            "result",
        ),
        (
            "task ack with result",
            Box::new(|s| {
                s.act_on_task(TaskActionInput {
                    task_id: "t-110-0001".into(),
                    action: TaskAction::Acknowledge,
                    result: Some("x".into()),
                    photos: vec![],
                    location: None,
                    datum: None,
                })
                .map(drop)
            }),
            "invalid_input",
            "result",
        ),
        // reference data from HQ
        (
            "receive task for someone else",
            Box::new(|s| {
                s.receive_task(&TaskInput {
                    assignee_id: Some("w-002".into()),
                    ..GridConfig::sample().tasks[0].clone()
                })
            }),
            "invalid_input",
            "task.assignee_id",
        ),
        (
            "receive task deadline before dispatch",
            Box::new(|s| {
                let mut t = GridConfig::sample().tasks[0].clone();
                t.deadline = t.dispatched_at - chrono::Duration::hours(1);
                s.receive_task(&t)
            }),
            "invalid_input",
            "task.deadline",
        ),
        (
            "receive task empty title",
            Box::new(|s| s.receive_task(&TaskInput { title: "".into(), ..GridConfig::sample().tasks[0].clone() })),
            "invalid_input",
            "task.title",
        ),
        (
            "install template v0",
            Box::new(|s| {
                let mut t = Template::default_3456();
                t.version = 0;
                s.install_template(&t)
            }),
            "invalid_input",
            "template.version",
        ),
        (
            "load reference without this worker",
            Box::new(|s| {
                let mut c = GridConfig::sample();
                c.workers.retain(|w| w.id != "w-001");
                s.load_reference(&c)
            }),
            "invalid_input",
            "config.workers",
        ),
        (
            "load reference bad grid code",
            Box::new(|s| {
                let mut c = GridConfig::sample();
                c.grids[0].code = "12".into();
                s.load_reference(&c)
            }),
            "invalid_input",
            "grids[0].code",
        ),
        (
            "load reference bad boundary",
            Box::new(|s| {
                let mut c = GridConfig::sample();
                c.grids[0].boundary.truncate(2);
                s.load_reference(&c)
            }),
            "invalid_input",
            "grids[0].boundary",
        ),
        (
            "load reference dangling household",
            Box::new(|s| {
                let mut c = GridConfig::sample();
                c.households[0].grid_id = "nope".into();
                s.load_reference(&c)
            }),
            "invalid_input",
            "households[0].grid_id",
        ),
        ("case timeline unknown", Box::new(|s| s.case_timeline("nope").map(drop)), "not_found", ""),
    ];
    expect(&f.store, &f, cases);
}

#[test]
fn opening_and_initialising_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(Store::open(dir.path(), StoreOptions::default()), Err(CoreError::NotInitialised)));
    match Store::init(dir.path(), &GridConfig::sample(), "w-999", StoreOptions::default()) {
        Err(CoreError::InvalidInput { field, .. }) => assert_eq!(field, "worker_id"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert!(!dir.path().join(store::DB_FILE).exists(), "nothing created for a refused init");
    match GridConfig::from_json("{\"street\": 1}") {
        Err(gridpatrol_protocol::InvalidValue { field, .. }) => assert_eq!(field, "config"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(Template::from_json("[]"), Err(gridpatrol_protocol::InvalidValue { .. })));
    // A database from a newer app version is refused, not damaged.
    let f = fixture();
    let path = f.dir.path().join(store::DB_FILE);
    drop(f.store);
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    assert!(matches!(Store::open(f.dir.path(), opts(&f.clock)), Err(CoreError::SchemaTooNew { found: 99, .. })));
}

#[test]
fn a_random_file_as_photo_never_panics_and_never_lands() {
    let f = fixture();
    for (i, len) in [0usize, 1, 2, 3, 100, 5000].iter().enumerate() {
        let p = f.dir.path().join(format!("junk{i}.jpg"));
        let mut bytes = vec![0xFFu8, 0xD8];
        bytes.extend((0..*len).map(|k| (k * 31 + i) as u8));
        std::fs::write(&p, &bytes).unwrap();
        let _ = f.store.file_report(report_input("g-0101", vec![p]));
    }
    // Whatever was accepted has its photo; nothing dangles either way.
    let c = rusqlite::Connection::open(f.dir.path().join(store::DB_FILE)).unwrap();
    let orphans: i64 = c
        .query_row(
            "SELECT (SELECT count(*) FROM attachment a WHERE NOT EXISTS
                        (SELECT 1 FROM attachment_blob b WHERE b.sha256 = a.sha256 AND b.kind = 'photo'))
                  + (SELECT count(*) FROM attachment_blob b WHERE NOT EXISTS
                        (SELECT 1 FROM attachment a WHERE a.sha256 = b.sha256))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}
