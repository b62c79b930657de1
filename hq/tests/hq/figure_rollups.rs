//! The figures HQ serves from its running counts (`admin::rollups`) are the figures counted
//! record by record (`gridpatrol_hq::figures_from_records`, the way before): over a seeded,
//! randomised street — visits, reports, patrols with good and bad check-ins, reports of a
//! patrol pushed before the patrol, late pushes from phones that were offline for weeks, cases
//! solved on the spot, closed, reopened — for periods on and off the street's local midnights.
//! And a database from schema 10 gains the counts at start-up.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gridpatrol_hq::db::Db as Store;
use gridpatrol_protocol::case_flow::ClearItems;
use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::Command;
use gridpatrol_protocol::wire::OpStatus;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

both!(served_figures_equal_the_figures_counted_from_records, a_schema_11_database_gains_the_counts_at_start_up);

/// xorshift64*: a fixed seed, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// (worker, grid, households of the grid) — as `common::street` assigns them.
const WHO: &[(&str, &str, &[&str])] = &[
    ("w-001", "g-0101", &["h-0001", "h-0002", "h-0003"]),
    ("w-002", "g-0102", &["h-0004"]),
    ("w-003", "g-0102", &["h-0004"]),
    ("w-201", "g-0201", &["h-0201"]),
];

const CATEGORIES: &[ReportCategory] =
    &[ReportCategory::SafetyHazard, ReportCategory::Dispute, ReportCategory::ResidentRequest];

/// A point inside a grid of the test street (squares at lng 121.0, 121.1, 121.2), or outside.
fn point(grid: &str, inside: bool) -> GeoPoint {
    let lng = match grid {
        "g-0101" => 121.005,
        "g-0102" => 121.105,
        _ => 121.205,
    };
    if inside {
        GeoPoint { lat: 31.005, lng }
    } else {
        GeoPoint { lat: 40.0, lng: 116.0 }
    }
}

fn at(cmd: Command, when: DateTime<Utc>) -> Command {
    match cmd {
        Command::RecordVisit { mut visit } => {
            visit.occurred_at = when;
            Command::RecordVisit { visit }
        }
        Command::FileReport { mut report } => {
            report.occurred_at = when;
            Command::FileReport { report }
        }
        Command::StartPatrol { mut patrol } => {
            patrol.started_at = when;
            Command::StartPatrol { patrol }
        }
        Command::CheckIn { mut checkpoint } => {
            checkpoint.at = when;
            Command::CheckIn { checkpoint }
        }
        Command::FinishPatrol { patrol_id, outcome, note, .. } => {
            Command::FinishPatrol { patrol_id, outcome, note, finished_at: when }
        }
        other => other,
    }
}

/// One worker's records over the last ~70 days, each group of commands pushed together.
fn records(rng: &mut Rng, worker: &str, grid: &str, households: &[&str], n: usize) -> (Vec<Vec<Command>>, Vec<String>) {
    let mut groups = Vec::new();
    let mut cases = Vec::new();
    for _ in 0..n {
        // Any minute of the last 70 days, so that periods' edges fall among the records.
        let when = Utc::now() - Duration::minutes(rng.below(70 * 24 * 60) as i64 + 1);
        match rng.below(10) {
            0..=4 => {
                let household: &str = rng.pick::<&str>(households);
                let kind = *rng.pick(&[VisitType::Routine, VisitType::MustVisit]);
                let Command::RecordVisit { mut visit } = visit(worker, household, grid, kind) else { unreachable!() };
                visit.outcome = *rng.pick(&[VisitOutcome::Met, VisitOutcome::ByPhone, VisitOutcome::NotHome]);
                groups.push(vec![at(Command::RecordVisit { visit }, when)]);
            }
            5..=6 => {
                let (cmd, case) = report(worker, grid, *rng.pick(CATEGORIES), None, vec![]);
                cases.push(case);
                groups.push(vec![at(cmd, when)]);
            }
            _ => {
                let id = new_id();
                let Command::StartPatrol { mut patrol } = start_patrol(worker, grid, &id) else { unreachable!() };
                patrol.shift = *rng.pick(&[PatrolShift::Day, PatrolShift::Night]);
                let mut cmds = vec![at(Command::StartPatrol { patrol }, when)];
                for k in 0..rng.below(4) {
                    let items: Vec<&str> = CHECKLIST.iter().copied().filter(|_| rng.below(3) > 0).collect();
                    let inside = rng.below(4) > 0;
                    cmds.push(at(check_in(&id, point(grid, inside), &items), when + Duration::minutes(k as i64 + 1)));
                }
                let findings = rng.below(3) == 0;
                let mut report_of_it = None;
                if findings {
                    let (cmd, case) = report(worker, grid, *rng.pick(CATEGORIES), Some(&id), vec![]);
                    cases.push(case);
                    report_of_it = Some(at(cmd, when + Duration::minutes(5)));
                }
                if rng.below(5) > 0 {
                    let outcome = if findings { PatrolOutcome::Findings } else { PatrolOutcome::NothingFound };
                    cmds.push(at(finish_patrol(&id, outcome), when + Duration::minutes(30)));
                }
                match report_of_it {
                    // The report of the patrol reaches HQ before the patrol does.
                    Some(r) if rng.below(2) == 0 => {
                        groups.push(vec![r]);
                        groups.push(cmds);
                    }
                    Some(r) => {
                        cmds.push(r);
                        groups.push(cmds);
                    }
                    None => groups.push(cmds),
                }
            }
        }
    }
    (groups, cases)
}

/// The periods compared: whole local months and days, a week, ragged ends, an hour.
fn periods() -> Vec<(String, String)> {
    let tz = chrono_tz::Asia::Shanghai;
    let today = tz.from_utc_datetime(&Utc::now().naive_utc()).date_naive();
    let day = |d: i64| (today - Duration::days(d)).format("%Y-%m-%d").to_string();
    let instant = |d: i64, h: u32, m: u32| {
        let t = (today - Duration::days(d)).and_hms_opt(h, m, 17).unwrap();
        tz.from_local_datetime(&t).unwrap().to_rfc3339()
    };
    vec![
        (day(75), day(-1)),
        (day(60), day(30)),
        (day(30), day(-1)),
        (day(7), day(0)),
        (day(1), day(0)),
        (instant(40, 10, 17), instant(12, 23, 3)),
        (day(20), instant(3, 8, 45)),
        (instant(20, 22, 30), day(2)),
        (instant(5, 9, 0), instant(5, 10, 0)),
        (instant(5, 22, 0), instant(4, 2, 0)),
    ]
}

async fn push_all(hq: &Hq, rng: &mut Rng, per_worker: usize) {
    let mut all_cases = Vec::new();
    for (worker, grid, households) in WHO {
        let (groups, cases) = records(rng, worker, grid, households, per_worker);
        all_cases.extend(cases.into_iter().map(|c| (c, *worker)));
        let mut phone = hq.phone(worker).await;
        // Pushed in batches out of time order, as a phone offline for weeks sends its outbox.
        for batch in groups.chunks(25) {
            let cmds: Vec<Command> = batch.iter().flatten().cloned().collect();
            let r = phone.push(&cmds).await;
            let refused: Vec<_> = r.results.iter().filter(|x| x.status != OpStatus::Applied).collect();
            assert!(refused.is_empty(), "{refused:?}");
        }
    }
    // Cases: some solved on the spot, some dispatched and closed by the office, some reopened.
    let photo = sha(b"after");
    for (case, worker) in all_cases.iter().take(24) {
        let path = format!("/v1/admin/cases/{case}/actions");
        match rng.below(3) {
            0 => {
                let mut phone = hq.phone(worker).await;
                // The ledger reference (台账) is the offices' to write.
                let clear = ClearItems { ledger_ref: None, ..all_clear(&photo) };
                let mut step =
                    case_step(case, worker, CaseState::Reported, CaseState::Closed, clear, vec![photo.clone()]);
                if let Command::CaseStep { event } = &mut step {
                    event.n = 2;
                }
                let r = phone.push(&[step]).await;
                assert_eq!(statuses(&r), vec![OpStatus::Applied], "{r:?}");
            }
            k => {
                // Due yesterday or next week: closed late or on time.
                let deadline = if rng.below(2) == 0 { now() - Duration::days(1) } else { now() + Duration::days(7) };
                for body in [
                    json!({ "action": "accept" }),
                    json!({ "action": "open" }),
                    json!({ "action": "dispatch", "deadline": deadline.to_rfc3339(), "responsible_unit": "物业" }),
                ] {
                    hq.admin(Method::POST, &path, body).await;
                }
                // A volunteer does not handle cases: their grid leader does.
                let handler = if *worker == "w-002" { "w-003" } else { worker };
                let mut phone = hq.phone(handler).await;
                let mut step =
                    case_step(case, handler, CaseState::Dispatched, CaseState::Handling, Default::default(), vec![]);
                if let Command::CaseStep { event } = &mut step {
                    event.n = 5;
                }
                let r = phone.push(&[step]).await;
                assert_eq!(statuses(&r), vec![OpStatus::Applied], "{r:?}");
                hq.admin(Method::POST, &path, json!({ "action": "verify", "photos": [photo] })).await;
                let mut clear = all_clear(&photo);
                clear.deadline = None;
                hq.admin(Method::POST, &path, json!({ "action": "close", "clear": clear })).await;
                if k == 2 {
                    hq.admin(Method::POST, &path, json!({ "action": "reopen" })).await;
                }
            }
        }
    }
}

async fn assert_same_figures(hq: &Hq, url: &str, tokens: &[String]) {
    for token in tokens {
        for (from, to) in periods() {
            let q = format!("/v1/admin/figures?from={}&to={}", urlencode(&from), urlencode(&to));
            let (s, served) = hq_get(hq, url, &q, token).await;
            assert!(s.is_success(), "{q}: {s} {served}");
            let (db, t, f, tt) = (hq.place.database(), token.clone(), from.clone(), to.clone());
            let counted = tokio::task::spawn_blocking(move || gridpatrol_hq::figures_from_records(&db, &t, &f, &tt))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(served, counted, "figures of {from} .. {to} differ");
        }
    }
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn hq_get(hq: &Hq, url: &str, path: &str, token: &str) -> (reqwest::StatusCode, Value) {
    let r = hq.client.get(format!("{url}{path}")).bearer_auth(token).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn served_figures_equal_the_figures_counted_from_records(hq: &Hq) {
    hq.seed().await;
    let mut rng = Rng(0x5eed_f16e_2026_0001);
    push_all(hq, &mut rng, 90).await;
    // The counts are there (not everything read raw).
    let db = hq.place.database();
    let kept = tokio::task::spawn_blocking(move || {
        Store::open(&db).unwrap().read(|tx| {
            Ok::<_, gridpatrol_hq::db::DbError>((
                tx.query_i64("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM record_day", &[])?,
                tx.query_i64("SELECT COUNT(*) FROM patrol_figure", &[])?,
                tx.query_i64("SELECT COUNT(*) FROM visit", &[])? + tx.query_i64("SELECT COUNT(*) FROM report", &[])?,
                tx.query_i64("SELECT COUNT(*) FROM patrol", &[])?,
            ))
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((kept.0, kept.1), (kept.2, kept.3), "every visit, report and patrol counted once");
    assert!(kept.2 > 150 && kept.3 > 50, "{kept:?}");
    // The street admin, and a grid leader who sees one grid.
    let leader = hq.operator("grid_leader", &["g-0102"]).await;
    assert_same_figures(hq, &hq.url, &[hq.admin.clone(), leader]).await;
}

async fn a_schema_11_database_gains_the_counts_at_start_up(hq: &Hq) {
    hq.seed().await;
    let mut rng = Rng(0x5eed_f16e_2026_0002);
    push_all(hq, &mut rng, 30).await;
    // Back to schema 11: no counts, no version 12, as a database HQ wrote before them.
    let db = hq.place.database();
    tokio::task::spawn_blocking(move || {
        Store::open(&db).unwrap().write(|tx| {
            for stmt in [
                "DROP TABLE record_day",
                "DROP TABLE patrol_figure",
                "DROP INDEX visit_time",
                "DROP INDEX visit_household_time",
                "DROP INDEX report_time",
                "DROP INDEX case_closed",
                "DROP INDEX case_created",
                "DROP INDEX task_dispatched",
                "DELETE FROM schema_version WHERE version = 12",
                "DELETE FROM setting WHERE key = 'figure_rollups'",
            ] {
                tx.exec(stmt, &[])?;
            }
            Ok::<_, gridpatrol_hq::db::DbError>(())
        })
    })
    .await
    .unwrap()
    .unwrap();
    // An HQ of this version starts on it: migrated, and the counts built from the records.
    let second = gridpatrol_hq::start(config(hq.place.database())).await.expect("HQ starts on a schema-10 database");
    let db = hq.place.database();
    let (version, counted, records) = tokio::task::spawn_blocking(move || {
        Store::open(&db).unwrap().read(|tx| {
            Ok::<_, gridpatrol_hq::db::DbError>((
                tx.query_i64("SELECT MAX(version) FROM schema_version", &[])?,
                tx.query_i64("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM record_day", &[])?,
                tx.query_i64("SELECT COUNT(*) FROM visit", &[])? + tx.query_i64("SELECT COUNT(*) FROM report", &[])?,
            ))
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(version, gridpatrol_hq::db::SCHEMA_VERSION);
    assert!(records > 50);
    assert_eq!(counted, records);
    assert_same_figures(hq, &second.url(), std::slice::from_ref(&hq.admin)).await;
    second.stop().await.unwrap();
}
