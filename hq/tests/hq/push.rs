//! Push: applied once, duplicates on resend, 409 on a gap with nothing applied, one bad
//! operation rejected with a reason while the rest apply, a new epoch after re-enrolment.

use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::wire::{OpStatus, PushOp, FOLLOWS_HEADER, PROTOCOL_HEADER};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

both!(
    push_applied_then_duplicate_on_resend,
    push_gap_is_409_with_expected_seq,
    one_bad_op_is_rejected_rest_apply,
    new_epoch_after_reenrol_starts_at_seq_1,
    a_batch_settles_as_one_by_one_would,
    concurrent_pushes_each_settle_alone,
    a_push_that_overtakes_the_one_before_waits_for_it,
    a_resend_gets_the_first_answer_and_other_content_is_refused
);

/// A resend (its first answer lost) gets the answer HQ gave the first time: a refusal stays a
/// refusal, so the worker still sees it. The same mutation id with other content — a visit
/// changed, a command changed — is refused as `mutation_reused`, at a settled seq and at a new
/// one, and changes nothing at HQ.
async fn a_resend_gets_the_first_answer_and_other_content_is_refused(hq: &Hq) {
    use gridpatrol_protocol::records::Command;
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let patrol = new_id();
    let ops = phone.ops(&[
        visit("w-001", "h-9999", "g-0101", VisitType::Routine),
        visit("w-001", "h-0001", "g-0101", VisitType::Routine),
        start_patrol("w-001", "g-0101", &patrol),
    ]);
    let req = phone.request(ops.clone());
    let first = phone.push_req(&req).await;
    use OpStatus::*;
    assert_eq!(statuses(&first), vec![Rejected, Applied, Applied]);
    let again = phone.push_req(&req).await;
    assert_eq!(statuses(&again), vec![Rejected, Duplicate, Duplicate]);
    assert_eq!(again.results[0].code, first.results[0].code);
    assert_eq!(again.results[0].reason, first.results[0].reason);

    // The same seqs, ids and mutation ids, other content: refused, not taken for duplicates.
    let mut tampered = ops.clone();
    tampered[1].command["visit"]["note"] = serde_json::json!("改过的备注 (changed)");
    let mut cmd: Command = serde_json::from_value(tampered[2].command.clone()).unwrap();
    if let Command::StartPatrol { patrol } = &mut cmd {
        patrol.shift = PatrolShift::Day;
    }
    tampered[2].command = serde_json::to_value(&cmd).unwrap();
    let r = phone.push_req(&phone.request(tampered.clone())).await;
    assert_eq!(statuses(&r), vec![Rejected, Rejected, Rejected], "{r:?}");
    assert_eq!(r.results[1].code.as_deref(), Some("mutation_reused"));
    assert_eq!(r.results[2].code.as_deref(), Some("mutation_reused"));
    // Under new seqs (a copy's resend in a new epoch, say): the same.
    let two = [
        visit("w-001", "h-0001", "g-0101", VisitType::Routine),
        visit("w-001", "h-0001", "g-0101", VisitType::Routine),
    ];
    let mut later = phone.ops(&two);
    for (op, t) in later.iter_mut().zip(&tampered[1..]) {
        op.mutation_id = t.mutation_id.clone();
        op.command = t.command.clone();
    }
    let r = phone.push_req(&phone.request(later)).await;
    assert_eq!(statuses(&r), vec![Rejected, Rejected], "{r:?}");
    assert!(r.results.iter().all(|x| x.code.as_deref() == Some("mutation_reused")));
    assert_eq!(r.acked_through_seq, 5);
    // HQ still holds the first content only.
    assert_eq!(count(hq, "visits").await, 1);
    let (_, rows) = hq.get("/v1/admin/visits?from=2000-01-01&to=2100-01-01", &hq.admin).await;
    let rows = rows.as_array().cloned().or_else(|| rows["rows"].as_array().cloned()).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].to_string().contains("changed"), "{rows:?}");
    // Then the honest resend of the original is still a plain duplicate.
    let honest = phone.push_req(&req).await;
    assert_eq!(statuses(&honest), vec![Rejected, Duplicate, Duplicate]);
}

async fn count(hq: &Hq, list: &str) -> usize {
    hq.admin(Method::GET, &format!("/v1/admin/{list}"), serde_json::Value::Null).await.as_array().unwrap().len()
}

async fn push_applied_then_duplicate_on_resend(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let patrol = new_id();
    let (rep, _case) = report("w-001", "g-0101", ReportCategory::SafetyHazard, Some(&patrol), vec![]);
    let ops = phone.ops(&[
        start_patrol("w-001", "g-0101", &patrol),
        check_in(&patrol, inside_g0101(), &CHECKLIST),
        rep,
        finish_patrol(&patrol, PatrolOutcome::Findings),
        visit("w-001", "h-0001", "g-0101", VisitType::MustVisit),
    ]);
    let req = phone.request(ops);
    let first = phone.push_req(&req).await;
    assert_eq!(statuses(&first), vec![OpStatus::Applied; 5], "{first:?}");
    assert_eq!(first.acked_through_seq, 5);
    // The response was "lost": the same batch again.
    let second = phone.push_req(&req).await;
    assert_eq!(statuses(&second), vec![OpStatus::Duplicate; 5]);
    assert_eq!(second.acked_through_seq, 5);
    // Counted once.
    assert_eq!(count(hq, "patrols").await, 1);
    assert_eq!(count(hq, "reports").await, 1);
    assert_eq!(count(hq, "visits").await, 1);
    let patrols = hq.admin(Method::GET, "/v1/admin/patrols", serde_json::Value::Null).await;
    assert_eq!(patrols[0]["checkins"], 1);
    assert_eq!(patrols[0]["checkins_inside"], 1);
    // A batch overlapping the settled prefix: old ops duplicate, the new one applies.
    let mut ops = req.ops.clone();
    ops.extend(phone.ops(&[visit("w-001", "h-0003", "g-0101", VisitType::MustVisit)]));
    let third = phone.push_req(&phone.request(ops)).await;
    assert_eq!(statuses(&third), [vec![OpStatus::Duplicate; 5], vec![OpStatus::Applied]].concat());
    assert_eq!(count(hq, "visits").await, 2);
    // The device's clock skew was recorded.
    let devices = hq.admin(Method::GET, "/v1/admin/devices", serde_json::Value::Null).await;
    assert!(devices[0]["clock_skew_ms"].is_i64());
}

async fn push_gap_is_409_with_expected_seq(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let r = phone.push(&[visit("w-001", "h-0001", "g-0101", VisitType::Routine)]).await;
    assert_eq!(r.acked_through_seq, 1);
    phone.next_seq = 5; // seqs 2..4 went missing
    let ops = phone.ops(&[
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
        visit("w-001", "h-0003", "g-0101", VisitType::Routine),
    ]);
    let (s, v) = phone.send("/v1/push", &phone.request(ops)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(code(&v), "seq_gap");
    assert_eq!(v["error"]["expected_seq"], 2);
    // Nothing of that batch was applied.
    assert_eq!(count(hq, "visits").await, 1);
    // Resending from the expected seq works.
    phone.next_seq = 2;
    let r = phone.push(&[visit("w-001", "h-0002", "g-0101", VisitType::Routine)]).await;
    assert_eq!(statuses(&r), vec![OpStatus::Applied]);
    // Operations out of order inside a batch are refused whole.
    let mut ops = phone.ops(&[
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
        visit("w-001", "h-0003", "g-0101", VisitType::Routine),
    ]);
    ops.swap(0, 1);
    let (s, v) = phone.send("/v1/push", &phone.request(ops)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(count(hq, "visits").await, 2);
}

async fn one_bad_op_is_rejected_rest_apply(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let patrol = new_id();
    let (other_grid, _) = report("w-001", "g-0102", ReportCategory::Dispute, None, vec![]);
    let (someone_else, _) = report("w-002", "g-0101", ReportCategory::Dispute, None, vec![]);
    let mut ops = phone.ops(&[
        start_patrol("w-001", "g-0101", &patrol),
        other_grid,
        someone_else,
        visit("w-001", "h-0001", "g-0101", VisitType::Routine),
        visit("w-001", "h-0004", "g-0102", VisitType::Routine),
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
    ]);
    // An operation HQ cannot read at all, and one with a bad value.
    ops[5].command = json!({ "op": "teleport", "to": "moon" });
    if let Some(v) = ops[6].command["visit"].as_object_mut() {
        v.insert("satisfaction".into(), json!(9));
    }
    let r = phone.push_req(&phone.request(ops)).await;
    let st = statuses(&r);
    assert_eq!(
        st,
        vec![
            OpStatus::Applied,
            OpStatus::Rejected,
            OpStatus::Rejected,
            OpStatus::Applied,
            OpStatus::Rejected,
            OpStatus::Rejected,
            OpStatus::Rejected
        ],
        "{r:?}"
    );
    assert_eq!(r.results[1].code.as_deref(), Some("forbidden"));
    assert_eq!(r.results[2].code.as_deref(), Some("forbidden"));
    assert_eq!(r.results[4].code.as_deref(), Some("forbidden"));
    assert_eq!(r.results[5].code.as_deref(), Some("invalid_input"));
    assert!(r.results[6].reason.as_deref().unwrap().contains("satisfaction"), "{:?}", r.results[6]);
    // Rejected operations advance the cursor: the queue is never wedged.
    assert_eq!(r.acked_through_seq, 7);
    assert_eq!(count(hq, "visits").await, 1);
    assert_eq!(count(hq, "reports").await, 0);
    // A track point batch for a patrol HQ never saw: rejected, not found.
    let r = phone
        .push(&[gridpatrol_protocol::records::Command::AddTrackPoints {
            patrol_id: "nope".into(),
            first_n: 0,
            points: vec![gridpatrol_protocol::records::TrackPoint {
                lat: 31.0,
                lng: 121.0,
                accuracy_m: None,
                at: now(),
            }],
        }])
        .await;
    assert_eq!(r.results[0].code.as_deref(), Some("not_found"));
}

async fn new_epoch_after_reenrol_starts_at_seq_1(hq: &Hq) {
    hq.seed().await;
    let device = new_id();
    let mut phone = Phone::enrol(hq, "w-001", &device, 0).await;
    let patrol = new_id();
    let sent = phone.ops(&[
        visit("w-001", "h-0001", "g-0101", VisitType::Routine),
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
        start_patrol("w-001", "g-0101", &patrol),
    ]);
    let r = phone.push_req(&phone.request(sent.clone())).await;
    assert_eq!(r.acked_through_seq, 3);
    // Reinstalled: a new store, epoch 0 asked, seq numbering restarts at 1.
    let mut again = Phone::enrol(hq, "w-001", &device, 0).await;
    assert_eq!(again.epoch, 2);
    let r = again.push(&[visit("w-001", "h-0003", "g-0101", VisitType::Routine)]).await;
    assert_eq!(statuses(&r), vec![OpStatus::Applied]);
    assert_eq!(r.acked_through_seq, 1);
    assert_eq!(count(hq, "visits").await, 3);
    // A backup of the old outbox restored into the new epoch: the same mutations under new
    // seqs are known (the visits by their own rows, the patrol by its mutation row).
    let restored: Vec<PushOp> =
        sent.iter().enumerate().map(|(i, op)| PushOp { seq: 2 + i as i64, ..op.clone() }).collect();
    let r = again.push_req(&again.request(restored)).await;
    assert_eq!(statuses(&r), vec![OpStatus::Duplicate; 3], "{r:?}");
    assert_eq!(r.acked_through_seq, 4);
    assert_eq!((count(hq, "visits").await, count(hq, "patrols").await), (3, 1));
    // The old epoch is over for this device.
    let ops: Vec<PushOp> = phone.ops(&[visit("w-001", "h-0003", "g-0101", VisitType::Routine)]);
    let mut req = again.request(ops);
    req.epoch = 1;
    let (s, v) = again.send("/v1/push", &req).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // The old token is dead.
    let (s, _) = phone.send("/v1/pull", &json!({ "cursors": {} })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// HQ looks a push's ids up and writes its visits and mutation rows in bulk; the outcome is
/// what applying the operations one by one gives.
async fn a_batch_settles_as_one_by_one_would(hq: &Hq) {
    use gridpatrol_protocol::records::{Command, TrackPoint};
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let patrol = new_id();
    let first = visit("w-001", "h-0001", "g-0101", VisitType::Routine);
    let point = TrackPoint { lat: 31.2301, lng: 121.4701, accuracy_m: Some(5.0), at: now() };
    let mut ops = phone.ops(&[
        first.clone(),
        // The same visit id again, in the same push.
        first.clone(),
        visit("w-001", "h-9999", "g-0101", VisitType::Routine),
        visit("w-001", "h-0004", "g-0102", VisitType::Routine),
        start_patrol("w-001", "g-0101", &patrol),
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
        Command::AddTrackPoints { patrol_id: patrol.clone(), first_n: 0, points: vec![point, point] },
        // Overlapping point numbers are kept once.
        Command::AddTrackPoints { patrol_id: patrol.clone(), first_n: 1, points: vec![point, point] },
        visit("w-001", "h-0003", "g-0101", VisitType::Routine),
        visit("w-001", "h-0001", "g-0101", VisitType::MustVisit),
    ]);
    // One mutation id for two different visits in one push: the second is refused, visibly
    // (never taken for a duplicate), and not applied. The very same op twice is a duplicate.
    ops[8].mutation_id = ops[5].mutation_id.clone();
    ops[9].mutation_id = ops[0].mutation_id.clone();
    ops[9].command = ops[0].command.clone();
    let req = phone.request(ops);
    let r = phone.push_req(&req).await;
    use OpStatus::*;
    assert_eq!(
        statuses(&r),
        vec![Applied, Rejected, Rejected, Rejected, Applied, Applied, Applied, Applied, Rejected, Duplicate],
        "{r:?}"
    );
    assert_eq!(r.results[8].code.as_deref(), Some("mutation_reused"));
    assert_eq!(r.results[1].code.as_deref(), Some("invalid_input"));
    assert!(r.results[1].reason.as_deref().unwrap().contains("already exists"), "{:?}", r.results[1]);
    assert_eq!(r.results[2].code.as_deref(), Some("not_found"));
    assert_eq!(r.results[3].code.as_deref(), Some("forbidden"));
    assert_eq!(r.acked_through_seq, 10);
    assert_eq!(count(hq, "visits").await, 2);
    assert_eq!(count(hq, "patrols").await, 1);
    // A visit id HQ already has, in a later push: refused.
    let again = phone.push(&[first]).await;
    assert_eq!(statuses(&again), vec![Rejected]);
    assert_eq!(count(hq, "visits").await, 2);
    // The whole first batch once more (its response was "lost"): the first answers again —
    // duplicates for what was applied, the same refusals for what was refused.
    let resend = phone.push_req(&req).await;
    let mut expected = vec![Duplicate; 10];
    for refused in [1, 2, 3, 8] {
        expected[refused] = Rejected;
    }
    assert_eq!(statuses(&resend), expected);
    assert_eq!(resend.results[2].code.as_deref(), Some("not_found"));
    assert_eq!(resend.results[8].code.as_deref(), Some("mutation_reused"));
    // HQ's cursor is at 11, but this push carried 1..10: it acknowledges what it carried.
    assert_eq!(resend.acked_through_seq, 10);
    assert_eq!(count(hq, "visits").await, 2);
}

/// Many phones at once (on SQLite their transactions share commits): each push settles on its
/// own; one refused (a gap) takes nothing else with it and applies nothing itself.
async fn concurrent_pushes_each_settle_alone(hq: &Hq) {
    hq.seed().await;
    let mut phones = Vec::new();
    for _ in 0..8 {
        phones.push(Phone::enrol(hq, "w-001", &new_id(), 0).await);
    }
    let mut tasks = Vec::new();
    for (i, mut phone) in phones.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut applied = 0;
            for round in 0..4 {
                let cmds: Vec<_> = (0..20).map(|_| visit("w-001", "h-0002", "g-0101", VisitType::Routine)).collect();
                if i == 3 && round == 2 {
                    // Seqs skipped: refused whole.
                    phone.next_seq += 5;
                    let ops = phone.ops(&cmds);
                    let (s, v) = phone.send("/v1/push", &phone.request(ops)).await;
                    assert_eq!(s, StatusCode::CONFLICT, "{v}");
                    phone.next_seq -= 25;
                    continue;
                }
                let r = phone.push(&cmds).await;
                assert_eq!(statuses(&r), vec![OpStatus::Applied; 20]);
                applied += 20;
            }
            applied
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 8 * 4 * 20 - 20);
    assert_eq!(count(hq, "visits").await, total);
}

/// A phone with two pushes on the wire: the second arriving first waits for the first, and
/// both apply; one whose predecessor never comes still gets `seq_gap` (after the wait).
async fn a_push_that_overtakes_the_one_before_waits_for_it(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let r = phone.push(&[visit("w-001", "h-0001", "g-0101", VisitType::Routine)]).await;
    assert_eq!(r.acked_through_seq, 1);
    let ops = phone.ops(&[
        visit("w-001", "h-0001", "g-0101", VisitType::Routine),
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
    ]);
    let first = phone.request(ops);
    let ops = phone.ops(&[visit("w-001", "h-0003", "g-0101", VisitType::Routine)]);
    let second = phone.request(ops);
    let phone = std::sync::Arc::new(phone);
    let overtaking = {
        let (phone, url) = (phone.clone(), hq.url.clone());
        tokio::spawn(async move {
            let resp = client()
                .post(format!("{url}/v1/push"))
                .bearer_auth(&phone.token)
                .header(PROTOCOL_HEADER, "2")
                .header(FOLLOWS_HEADER, "3")
                .json(&second)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<serde_json::Value>().await.unwrap())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let r1 = phone.push_req(&first).await;
    assert_eq!(statuses(&r1), vec![OpStatus::Applied; 2]);
    let (s, v) = overtaking.await.unwrap();
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["acked_through_seq"], 4);
    assert_eq!(count(hq, "visits").await, 4);
    // A gap nothing fills: refused (after the wait, when it said it follows a push), nothing
    // applied.
    let mut lonely = phone.request(vec![]);
    lonely.ops = {
        let mut p = Phone::enrol(hq, "w-001", &new_id(), 0).await;
        p.next_seq = 10;
        p.ops(&[visit("w-001", "h-0001", "g-0101", VisitType::Routine)])
    };
    let t = std::time::Instant::now();
    let resp = client()
        .post(format!("{}/v1/push", hq.url))
        .bearer_auth(&phone.token)
        .header(PROTOCOL_HEADER, "2")
        .header(FOLLOWS_HEADER, "9")
        .json(&lonely)
        .send()
        .await
        .unwrap();
    let (s, v) = (resp.status(), resp.json::<serde_json::Value>().await.unwrap());
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["expected_seq"], 5);
    let waited = t.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(900) && waited < std::time::Duration::from_secs(5),
        "{waited:?}"
    );
    // Without the header, a gap is refused at once.
    let t = std::time::Instant::now();
    let (s, _) = phone.send("/v1/push", &lonely).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(t.elapsed() < std::time::Duration::from_millis(900));
    assert_eq!(count(hq, "visits").await, 4);
}
