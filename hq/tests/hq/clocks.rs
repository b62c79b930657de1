//! Every time a phone reports is stored on HQ's clock (the phone's own reading kept beside it
//! as data): one push of every command type from a phone whose clock is in 1970, and one from
//! a phone in 2099. Read back from the database itself, on SQLite and on PostgreSQL.

use chrono::{DateTime, Utc};
use gridpatrol_protocol::case_flow::ClearItems;
use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::*;
use gridpatrol_protocol::wire::OpStatus;
use reqwest::Method;
use serde_json::json;

use crate::common::*;

both!(every_command_is_stored_on_hqs_clock);

async fn every_command_is_stored_on_hqs_clock(hq: &Hq) {
    hq.seed().await;
    // 1970-01-01 and 2099-01-01: the phone's wall clock while it works.
    for (n, device_now) in [(0, 1_000i64), (1, 4_070_908_800_000)].into_iter() {
        let mut phone = hq.phone("w-001").await;
        let at: DateTime<Utc> = DateTime::from_timestamp_millis(device_now).unwrap();
        let task_id = format!("t-clock-{n}");
        let deadline = (now() + chrono::Duration::days(1)).to_rfc3339();
        hq.admin(
            Method::POST,
            "/v1/admin/tasks",
            json!({ "id": task_id, "source": "hotline_12345", "title": "路灯不亮",
            "target_unit": "市政", "assignee_id": "w-001", "grid_id": "g-0101", "deadline": deadline }),
        )
        .await;
        let patrol = new_id();
        let mut start = start_patrol("w-001", "g-0101", &patrol);
        if let Command::StartPatrol { patrol } = &mut start {
            patrol.started_at = at;
        }
        let mut check = check_in(&patrol, inside_g0101(), &CHECKLIST);
        if let Command::CheckIn { checkpoint } = &mut check {
            checkpoint.at = at;
        }
        let track = Command::AddTrackPoints {
            patrol_id: patrol.clone(),
            first_n: 0,
            points: vec![TrackPoint { lat: 31.005, lng: 121.005, accuracy_m: Some(5.0), at }],
        };
        let finish = Command::FinishPatrol {
            patrol_id: patrol.clone(),
            outcome: PatrolOutcome::NothingFound,
            note: None,
            finished_at: at,
        };
        let mut visit = visit("w-001", "h-0001", "g-0101", VisitType::Routine);
        if let Command::RecordVisit { visit } = &mut visit {
            visit.occurred_at = at;
        }
        let (mut report, case_id) = report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]);
        if let Command::FileReport { report } = &mut report {
            report.occurred_at = at;
        }
        // Solved on the spot (即知即办): the one step a worker takes from 上报 (protocol/src/roles.rs).
        let photo = sha(b"fixed on the spot");
        let clear = ClearItems { ledger_ref: None, ..all_clear(&photo) };
        let mut step = case_step(&case_id, "w-001", CaseState::Reported, CaseState::Closed, clear, vec![photo]);
        if let Command::CaseStep { event } = &mut step {
            event.at = at;
        }
        let task = Command::TaskStep {
            event: TaskEvent {
                id: new_id(),
                task_id: task_id.clone(),
                action: TaskAction::Acknowledge,
                from: TaskStatus::Dispatched,
                to: TaskStatus::Acknowledged,
                at,
                result: None,
                photos: vec![],
                location: None,
            },
        };
        let cmds = [start, track, check, finish, visit, report, step, task];
        let kinds: Vec<&str> = cmds.iter().map(|c| c.kind()).collect();
        let mut ops = phone.ops(&cmds);
        for op in &mut ops {
            op.device_ms = device_now;
        }
        let mut req = phone.request(ops);
        req.device_time_ms = device_now;
        let before = Utc::now().timestamp_millis();
        let resp = phone.push_req(&req).await;
        let after = Utc::now().timestamp_millis();
        assert!(resp.results.iter().all(|r| r.status == OpStatus::Applied), "{resp:?}");
        // A command made just now on the phone's clock happened just now on HQ's.
        let checks = [
            ("start_patrol", format!("SELECT effective_ms FROM patrol WHERE id = '{patrol}'")),
            ("add_track_points", format!("SELECT effective_ms FROM patrol_track WHERE patrol_id = '{patrol}'")),
            ("check_in", format!("SELECT effective_ms FROM checkpoint WHERE patrol_id = '{patrol}'")),
            ("finish_patrol", format!("SELECT finished_ms FROM patrol WHERE id = '{patrol}'")),
            ("record_visit", "SELECT MAX(effective_ms) FROM visit".to_string()),
            ("file_report", format!("SELECT effective_ms FROM report WHERE case_id = '{case_id}'")),
            ("case_step", format!("SELECT effective_ms FROM case_event WHERE case_id = '{case_id}' AND n = 2")),
            (
                "task_step",
                format!("SELECT effective_ms FROM task_event WHERE task_id = '{task_id}' AND action = 'acknowledge'"),
            ),
        ];
        assert_eq!(checks.iter().map(|c| c.0).collect::<Vec<_>>(), kinds, "one check per command type");
        let database = hq.place.database();
        let times = tokio::task::spawn_blocking(move || {
            let db = gridpatrol_hq::db::Db::open(&database).unwrap();
            let mut out = Vec::new();
            for (kind, sql) in checks {
                out.push((kind, db.read(|tx| tx.query_i64(&sql, &[])).expect("read")));
            }
            // The phone's own reading of the finish is kept beside it, as data.
            let finish_device = db
                .read(|tx| tx.query_i64(&format!("SELECT finish_device_ms FROM patrol WHERE id = '{patrol}'"), &[]))
                .unwrap();
            (out, finish_device)
        })
        .await
        .unwrap();
        for (kind, t) in times.0 {
            assert!(
                (before - 1000..=after).contains(&t),
                "{kind} at {t}, HQ's push was {before}..{after} (device {device_now})"
            );
        }
        assert_eq!(times.1, device_now);
    }
}
