//! Check-in trust: a weak fix, no accuracy at all, a mock location or a position outside the
//! grid is recorded (never refused), does not count for 人到, and is listed for the street
//! office with its reason, in JSON and as CSV.

use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::{Checkpoint, Command};
use gridpatrol_protocol::wire::OpStatus;
use reqwest::Method;
use serde_json::Value;

use crate::common::*;

both!(flagged_checkins_are_kept_listed_and_do_not_count);

fn tweak(cmd: Command, f: impl FnOnce(&mut Checkpoint)) -> Command {
    match cmd {
        Command::CheckIn { mut checkpoint } => {
            f(&mut checkpoint);
            Command::CheckIn { checkpoint }
        }
        other => other,
    }
}

async fn flagged_checkins_are_kept_listed_and_do_not_count(hq: &Hq) {
    hq.seed().await;
    let mut a = hq.phone("w-001").await;
    let patrol = new_id();
    let here = inside_g0101();
    let far = GeoPoint { lat: here.lat + 0.5, lng: here.lng + 0.5 };
    let cmds = vec![
        start_patrol("w-001", "g-0101", &patrol),
        check_in(&patrol, here, &CHECKLIST),
        tweak(check_in(&patrol, here, &[]), |c| c.accuracy_m = Some(5000.0)),
        tweak(check_in(&patrol, here, &[]), |c| c.accuracy_m = None),
        tweak(check_in(&patrol, here, &[]), |c| c.mock_location = true),
        // The phone claims "inside" and "trusted"; HQ judges by its own boundary.
        check_in(&patrol, far, &[]),
        finish_patrol(&patrol, PatrolOutcome::NothingFound),
    ];
    let r = a.push(&cmds).await;
    assert!(r.results.iter().all(|r| r.status == OpStatus::Applied), "recorded, never refused: {r:?}");

    let rows = hq.admin(Method::GET, "/v1/admin/checkins/flagged", Value::Null).await;
    let rows = rows.as_array().unwrap();
    let reasons: Vec<&str> = rows.iter().map(|r| r["reasons"].as_str().unwrap()).collect();
    assert_eq!(rows.len(), 4, "{reasons:?}");
    assert!(reasons[0].contains("weak fix") && reasons[0].contains("5000"), "{reasons:?}");
    assert!(reasons[1].contains("no accuracy given"), "{reasons:?}");
    assert_eq!(reasons[2], "模拟定位 (mock location)");
    assert_eq!(rows[2]["mock_location"], "是 (yes)");
    assert_eq!(reasons[3], "网格外 (outside the grid)");
    assert!(rows.iter().all(|r| r["patrol_id"] == patrol.as_str() && r["grid"].as_str().is_some()));

    // 人到 needs two trusted check-ins (the default template): one is not enough, however many
    // weak ones surround it.
    let patrols = hq.admin(Method::GET, "/v1/admin/patrols", Value::Null).await;
    let p = &patrols[0];
    assert_eq!((p["checkins"].as_i64(), p["checkins_inside"].as_i64()), (Some(5), Some(4)));
    assert_eq!(p["person_on_site"], "否 (no)");

    // The same list as CSV, for a spreadsheet.
    let resp = hq
        .client
        .get(format!("{}/v1/admin/export/flagged-checkins.csv", hq.url))
        .bearer_auth(&hq.admin)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let text = resp.text().await.unwrap();
    assert!(text.starts_with('\u{feff}') && text.contains("标记原因 (why flagged)"), "{text}");
    assert_eq!(text.trim_end().split("\r\n").count(), 1 + 4);
}
