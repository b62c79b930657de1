//! `gridpatrol demo`: a street's day, end to end, on a fresh machine with nothing set up.
//!
//! It starts HQ on an embedded SQLite in a temporary folder, sets up a street of 12
//! communities and 59 grids (workers of every kind, a grid leader and a volunteer team per
//! community), enrols 13 simulated phones — the 12 grid leaders and a volunteer; real core
//! stores, each behind its own fault-injecting network — and plays a day: day and night
//! patrols over most grids, visits, hazard reports with photos solved on the spot (one by the
//! volunteer), office steps tried from phones and refused by the role table, 110 diversions
//! (two routed to the street's justice office, which works them from its own account: one
//! done, one sent back), a 相约星期五 list per community with items owned by the unit and by the
//! grid leader, phones going offline in basements, a response lost after HQ committed it, and
//! a phone whose clock is in 1970. Then it syncs everything, prints HQ's figures per community
//! for the day (naming the incidents behind each ✗), and compares every phone's store with
//! HQ's database: `demo: devices=… recorded=… at_hq=… duplicates=… lost=… refused_steps=…
//! diversion_tasks=… diversion_closed_on_time=… list_items=… list_closed=…` — non-zero exit
//! if anything was lost or doubled.

mod street;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gridpatrol_core::sync::{Backoff, NoProgress, SyncOptions};
use gridpatrol_core::*;
use gridpatrol_hq::{DatabaseUrl, HqConfig};
use gridpatrol_simnet::{Fault, FaultProxy};
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Keep the demo's folder (HQ database, phone stores) instead of deleting it.
    #[arg(long)]
    keep: bool,
}

type DemoResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub fn run(args: DemoArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo failed: {e}");
            return 1;
        }
    };
    match rt.block_on(day(args.keep)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("demo failed: {e}");
            1
        }
    }
}

struct SimPhone {
    community: usize,
    grid: String,
    /// The grids this phone's worker covers (a grid leader: all of the community's).
    grids: Vec<String>,
    /// The volunteer's phone: reports and solves on the spot, nothing the offices do.
    volunteer: bool,
    /// Steps the role table refused on this phone (tried on purpose).
    refused: u32,
    worker: String,
    proxy: FaultProxy,
    store: Store,
    clock: Option<Arc<ManualClock>>,
    patrol: Option<String>,
    cases: Vec<String>,
    photo_seq: u8,
    sync_failures: u32,
}

struct Admin {
    url: String,
    token: String,
    client: reqwest::Client,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> DemoResult<Value> {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.url)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            return Err(format!("HQ {method} {path}: {status} {text}").into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn sync_options() -> SyncOptions {
    SyncOptions {
        max_attempts: 3,
        backoff: Backoff { base: Duration::from_millis(20), cap: Duration::from_millis(200) },
        timeout: Duration::from_secs(10),
        ..SyncOptions::default()
    }
}

/// A small real JPEG standing in for a camera photo, with a comment the store strips.
fn photo_bytes(variant: u8, community: usize) -> Vec<u8> {
    let j = gridpatrol_testing::jpeg(16, 16, |x, y| [variant, community as u8, (x * 16 + y) as u8], 85);
    let com = b"camera: DEMO-PHONE";
    let mut out = j[..20].to_vec();
    out.extend_from_slice(&[0xFF, 0xFE, 0x00, (com.len() + 2) as u8]);
    out.extend_from_slice(com);
    out.extend_from_slice(&j[20..]);
    out
}

async fn day(keep: bool) -> DemoResult<bool> {
    let tmp = tempfile::tempdir()?;
    let root = if keep { tmp.keep() } else { tmp.path().to_path_buf() };
    let hq_dir = root.join("hq");
    let admin_token = format!("demo-{}", new_id().replace('-', ""));
    let mut config = HqConfig::new("127.0.0.1:0".parse()?, DatabaseUrl::Sqlite(hq_dir.clone()));
    config.bootstrap_admin_token = Some(admin_token.clone());
    let hq = gridpatrol_hq::start(config).await?;
    let admin = Admin { url: hq.url(), token: admin_token, client: reqwest::Client::new() };
    println!("HQ 指挥中心 on {} (SQLite in {})", hq.url(), hq_dir.display());

    // The street office sets up the street.
    let street = street::build();
    admin.call(reqwest::Method::POST, "/v1/admin/import", Some(serde_json::to_value(&street)?)).await?;
    println!(
        "street 街道: {} communities 社区, {} grids 网格, {} workers 网格员, {} households 住户",
        street.communities.len(),
        street.grids.len(),
        street.workers.len(),
        street.households.len()
    );

    // One phone per community (its grid leader, who patrols all its grids) and one volunteer's
    // phone, each on its own simulated network.
    let mut phones = Vec::new();
    let enrolees: Vec<(usize, String, bool)> = (0..street::COMMUNITIES)
        .map(|c| (c, street::leader_id(c), false))
        .chain([(0, street::worker_id(0, 1), true)])
        .collect();
    for (c, worker, volunteer) in enrolees {
        let code = admin
            .call(reqwest::Method::POST, &format!("/v1/admin/workers/{worker}/enrolment-codes"), Some(json!({})))
            .await?["code"]
            .as_str()
            .ok_or("no code")?
            .to_string();
        let proxy = FaultProxy::start(hq.addr);
        let in_1970 = c == street::COMMUNITIES - 1 && !volunteer;
        let clock = in_1970.then(|| Arc::new(ManualClock::new(0))); // a phone in 1970
                                                                    // Every phone's store encrypted under a key of its own, as the apps' key providers make.
        let key = Some(gridpatrol_core::StoreKey::random());
        let opts = match &clock {
            Some(cl) => StoreOptions { clock: cl.clone(), key, ..StoreOptions::default() },
            None => StoreOptions { key, ..StoreOptions::default() },
        };
        let folder = if volunteer { "phone-volunteer".to_string() } else { format!("phone-{:02}", c + 1) };
        let store = Store::enrol(&root.join(folder), &proxy.url(), &code, opts).await?;
        let (grid, grids) = if volunteer {
            (street::grid_id(c, 1), vec![street::grid_id(c, 1)])
        } else {
            (street::grid_id(c, 0), (0..street::grids_in(c)).map(|g| street::grid_id(c, g)).collect())
        };
        phones.push(SimPhone {
            community: c,
            grid,
            grids,
            volunteer,
            refused: 0,
            worker,
            proxy,
            store,
            clock,
            patrol: None,
            cases: vec![],
            photo_seq: 0,
            sync_failures: 0,
        });
    }
    // A unit for 110 diversions and the weekly lists, with its own account.
    let community_ids: Vec<String> = (0..street::COMMUNITIES).map(|c| format!("c-{:02}", c + 1)).collect();
    admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/units",
            Some(json!({ "id": "u-justice", "kind": "justice", "name": "街道司法所 (street justice office)",
                         "contact": "021-5555-0110", "community_ids": community_ids })),
        )
        .await?;
    let unit_token = admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/operators",
            Some(json!({ "name": "司法所值班 (justice duty desk)", "role": "unit", "scope_ids": ["u-justice"] })),
        )
        .await?["token"]
        .as_str()
        .ok_or("no unit token")?
        .to_string();
    let unit = Admin { url: admin.url.clone(), token: unit_token, client: reqwest::Client::new() };
    println!(
        "phones 手机: {} enrolled (12 grid leaders, one of them with its clock in 1970, and a volunteer); unit 单位: 街道司法所 with its own account",
        phones.len()
    );

    let rounds = 6;
    let mut dispatched = 0;
    for round in 0..rounds {
        // Faults of the day: two phones in basements for three rounds, one lost response.
        for p in &phones {
            let offline = (p.community == 2 || p.community == 6) && (1..=3).contains(&round);
            p.proxy.set(if offline { Fault::Offline } else { Fault::Pass });
            if p.community == 4 && round == 2 {
                p.proxy.lose_next_responses(1);
            }
        }
        if round == 1 {
            // 相约星期五: every community's list has two items, one owned by the justice office,
            // one by the grid leader.
            for c in 0..street::COMMUNITIES {
                let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
                admin
                    .call(
                        reqwest::Method::POST,
                        "/v1/admin/meetings",
                        Some(json!({
                            "community_id": format!("c-{:02}", c + 1),
                            "held_on": chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).ok_or("offset")?).format("%Y-%m-%d").to_string(),
                            "attendees": 20 + c,
                            "items": [
                                { "topic": "邻里噪音反复发生 (recurring noise between neighbours)", "grid_id": street::grid_id(c, 0),
                                  "assignee_id": street::leader_id(c), "unit_id": "u-justice", "deadline": deadline,
                                  "household_id": street::household_id(c, 0, 2) },
                                { "topic": "楼道堆物需清理 (clutter in the stairwell)", "grid_id": street::grid_id(c, 1),
                                  "assignee_id": street::leader_id(c), "deadline": deadline, "raised_by": "居民代表 (residents' delegate)" }
                            ]
                        })),
                    )
                    .await?;
            }
        }
        if round == 2 {
            // Two 110 diversions routed to the justice office (it works them itself, below).
            for k in 0..2 {
                admin
                    .call(
                        reqwest::Method::POST,
                        "/v1/admin/tasks",
                        Some(json!({
                            "source": "diversion_110",
                            "title": format!("110转派：家庭纠纷调解 (110 diversion: family dispute) {}", k + 1),
                            "target_unit": "街道司法所 (street justice office)",
                            "assignee_id": street::leader_id(0),
                            "grid_id": street::grid_id(0, k),
                            "unit_id": "u-justice",
                            "caller": format!("1391234{:04}", 5678 + k),
                            "category": "dispute",
                            "location": { "lat": street::inside(0, k, 1).0, "lng": street::inside(0, k, 1).1 },
                            "deadline": (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339(),
                        })),
                    )
                    .await?;
                dispatched += 1;
            }
            for p in phones.iter().filter(|p| p.community % 2 == 0 && !p.volunteer) {
                let (lat, lng) = street::inside(p.community, 0, 3);
                admin
                    .call(
                        reqwest::Method::POST,
                        "/v1/admin/tasks",
                        Some(json!({
                            "source": "diversion_110",
                            "title": "110转派：楼上漏水纠纷 (110 diversion: leaking-ceiling dispute)",
                            "description": format!("near {lat:.4},{lng:.4}"),
                            "target_unit": "人民调解委员会 (people's mediation committee)",
                            "assignee_id": p.worker,
                            "grid_id": p.grid,
                            "deadline": (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339(),
                        })),
                    )
                    .await?;
                dispatched += 1;
            }
        }
        for p in phones.iter_mut() {
            work(p, round, &root)?;
            if let Some(cl) = &p.clock {
                cl.advance(37 * 60 * 1000); // the 1970 clock ticks on, still wrong
            }
            if p.store.sync(&sync_options(), &NoProgress).await.is_err() {
                p.sync_failures += 1;
            }
        }
    }
    println!("day 一天: {rounds} rounds of patrols, visits, reports and tasks; {dispatched} 110 tasks dispatched");

    // Everyone back on the network: everything settles.
    for p in phones.iter_mut() {
        p.proxy.set(Fault::Pass);
        for _ in 0..5 {
            match p.store.sync(&sync_options(), &NoProgress).await {
                Ok(r) if r.unsent_after == 0 && p.store.today()?.unsent.photos == 0 => break,
                Ok(_) => {}
                Err(_) => p.sync_failures += 1,
            }
        }
    }
    let failures: u32 = phones.iter().map(|p| p.sync_failures).sum();
    let lost_responses: u32 = phones.iter().map(|p| p.proxy.lost.load(std::sync::atomic::Ordering::SeqCst)).sum();
    println!("network 网络: {failures} syncs failed while offline, {lost_responses} response lost after HQ committed; all phones synced");

    // The justice office works what was routed to it from its own account: the first 110
    // diversion acknowledged, reached (GPS fix) and done, the second sent back; the weekly-list
    // items of the even communities done, the others still open.
    let mut unit_steps = 0;
    let tasks = unit.call(reqwest::Method::GET, "/v1/admin/tasks", None).await?;
    let mut diversions = 0;
    for t in tasks.as_array().into_iter().flatten() {
        let id = t["id"].as_str().unwrap_or_default();
        let path = format!("/v1/admin/tasks/{id}/steps");
        let here = t["details"]["location"].clone();
        let steps: Vec<Value> = match t["source"].as_str() {
            Some("diversion_110") => {
                diversions += 1;
                if diversions == 1 {
                    vec![
                        json!({ "action": "acknowledge" }),
                        json!({ "action": "on_the_way" }),
                        json!({ "action": "arrive", "location": here }),
                        json!({ "action": "complete", "result": "已调解，双方签订协议 (mediated; agreement signed)" }),
                    ]
                } else {
                    vec![
                        json!({ "action": "send_back", "result": "属民事诉讼，已告知当事人起诉途径 (a civil suit: advised the parties)" }),
                    ]
                }
            }
            Some("weekly_meeting") => {
                let community: usize =
                    t["grid_id"].as_str().and_then(|g| g.get(2..4)).and_then(|n| n.parse().ok()).unwrap_or(1);
                if community % 2 == 1 {
                    vec![
                        json!({ "action": "acknowledge" }),
                        json!({ "action": "complete", "result": "已上门调解 (mediated at home)" }),
                    ]
                } else {
                    vec![json!({ "action": "acknowledge" })]
                }
            }
            _ => vec![],
        };
        for step in steps {
            unit.call(reqwest::Method::POST, &path, Some(step)).await?;
            unit_steps += 1;
        }
    }
    println!("unit 单位: 街道司法所 took {unit_steps} steps on the tasks routed to it");

    // The street records one petition in one community: 11 of 12 make 三零.
    admin
        .call(
            reqwest::Method::POST,
            "/v1/admin/incidents",
            Some(json!({ "community_id": "c-05", "kind": "petition", "occurred_at": chrono::Utc::now().to_rfc3339(),
                         "note": "越级上访一起 (one escalated petition)" })),
        )
        .await?;
    // Today, the street's local day (Asia/Shanghai).
    let local_today =
        chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).ok_or("offset")?).date_naive();
    let (from, to) = (
        local_today.format("%Y-%m-%d").to_string(),
        local_today.succ_opt().ok_or("date")?.format("%Y-%m-%d").to_string(),
    );
    let figures = admin.call(reqwest::Method::GET, &format!("/v1/admin/figures?from={from}&to={to}"), None).await?;
    print_figures(&figures);
    let meetings = admin.call(reqwest::Method::GET, "/v1/admin/meetings", None).await?;
    let sum = |key: &str| -> i64 {
        figures["communities"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| key.split('.').fold(&c["diversion_110"], |v, k| &v[k]).as_i64().unwrap_or(0))
            .sum()
    };
    let list_items: usize =
        meetings.as_array().into_iter().flatten().map(|m| m["items"].as_array().map_or(0, Vec::len)).sum();
    let list_closed: i64 = meetings.as_array().into_iter().flatten().map(|m| m["closed"].as_i64().unwrap_or(0)).sum();
    let practice = format!(
        " refused_steps={} diversion_tasks={} diversion_closed_on_time={} list_items={list_items} list_closed={list_closed}",
        phones.iter().map(|p| p.refused).sum::<u32>(),
        sum("count"),
        sum("closed_on_time.count"),
    );

    let ok = compare(&phones, &hq_dir, &practice)?;
    hq.stop().await?;
    if keep {
        println!("kept: {}", root.display());
    }
    Ok(ok)
}

/// A patrol of `grid` (index `g` in the community) with two trusted check-ins and the
/// checklist answered; returns its id, still in progress.
fn patrol(p: &SimPhone, g: usize, shift: PatrolShift) -> DemoResult<String> {
    let s = &p.store;
    let c = p.community;
    let grid = street::grid_id(c, g);
    let patrol = s.start_patrol(&grid, shift)?;
    let answers: Vec<ChecklistAnswer> = s
        .active_template()
        .patrol
        .checklist
        .iter()
        .enumerate()
        .map(|(i, item)| ChecklistAnswer {
            item_id: item.id.clone(),
            answer: if i == 1 && c.is_multiple_of(3) { Answer::Issue } else { Answer::Ok },
            note: None,
        })
        .collect();
    for k in 0..2 {
        let (lat, lng) = street::inside(c, g, k);
        s.check_in(
            &patrol.id,
            CheckInInput {
                location: GeoPoint { lat, lng },
                accuracy_m: Some(6.0),
                place_name: None,
                answers: answers.clone(),
                datum: None,
                mock_location: false,
            },
        )?;
    }
    Ok(patrol.id)
}

/// A hazard photographed at the spot, reported at once.
fn hazard(p: &mut SimPhone, root: &std::path::Path, g: usize, patrol_id: Option<&str>) -> DemoResult<Report> {
    let c = p.community;
    p.photo_seq += 1;
    let path = root.join(format!("cam-{c}-{}-{}.jpg", p.volunteer as u8, p.photo_seq));
    std::fs::write(&path, photo_bytes(p.photo_seq, c + 20 * p.volunteer as usize))?;
    let (lat, lng) = street::inside(c, g, 4);
    Ok(p.store.file_report(ReportInput {
        grid_id: street::grid_id(c, g),
        category: ReportCategory::SafetyHazard,
        urgency: None,
        location: GeoPoint { lat, lng },
        place_name: Some("车棚 (bike shed)".into()),
        description: "电动车飞线充电 (e-bike charging from a dangling cable)".into(),
        people_involved: 0,
        source: if patrol_id.is_some() { ReportSource::Patrol } else { ReportSource::Resident },
        patrol_id: patrol_id.map(str::to_string),
        visit_id: None,
        photos: vec![path],
        datum: None,
    })?)
}

/// 即知即办: solved on the spot, with an after-photo and what a worker may make clear there; the
/// ledger is the office's and the satisfaction a follow-up visit's (protocol/src/roles.rs).
fn solve_on_the_spot(p: &mut SimPhone, root: &std::path::Path, case_id: String) -> DemoResult<()> {
    let c = p.community;
    p.photo_seq += 1;
    let path = root.join(format!("cam-{c}-{}-{}.jpg", p.volunteer as u8, p.photo_seq));
    std::fs::write(&path, photo_bytes(p.photo_seq, c + 20 * p.volunteer as usize))?;
    p.store.move_case(CaseStepInput {
        case_id,
        to: CaseState::Closed,
        note: Some("现场清理飞线 (cable removed on the spot)".into()),
        clear: ClearItems {
            facts: Some("飞线充电属实 (confirmed)".into()),
            responsible_unit: Some("物业 (property management)".into()),
            deadline: Some(chrono::Utc::now() + chrono::Duration::hours(24)),
            outcome: Some("已拆除 (removed)".into()),
            outcome_photo: None,
            feedback: Some("居民满意 (residents satisfied)".into()),
            satisfaction: None,
            ledger_ref: None,
        },
        photos: vec![path],
    })?;
    Ok(())
}

/// An office's step tried from a phone: the role table refuses it, and nothing is recorded.
fn try_accepting(p: &mut SimPhone, case_id: &str) -> DemoResult<()> {
    let step = CaseStepInput {
        case_id: case_id.into(),
        to: CaseState::Accepted,
        note: None,
        clear: ClearItems::default(),
        photos: vec![],
    };
    match p.store.move_case(step) {
        Err(CoreError::RoleNotAllowed { .. }) => {
            p.refused += 1;
            Ok(())
        }
        other => Err(format!("the role table should have refused accepting on a phone: {other:?}").into()),
    }
}

/// One phone's work in one round of the day.
fn work(p: &mut SimPhone, round: usize, root: &std::path::Path) -> DemoResult<()> {
    let c = p.community;
    if p.volunteer {
        // A volunteer reports and solves on the spot; an office's step is refused.
        match round {
            0 => {
                let r = hazard(p, root, 1, None)?;
                solve_on_the_spot(p, root, r.case_id)?;
            }
            1 => {
                let r = hazard(p, root, 1, None)?;
                try_accepting(p, &r.case_id)?;
                p.cases.push(r.case_id);
            }
            _ => visit(p, 1, round)?,
        }
        return Ok(());
    }
    // The grid leader patrols each grid by day and (most of them) by night.
    let grids = p.grids.len();
    if round < grids {
        let id = patrol(p, round, PatrolShift::Day)?;
        p.store.finish_patrol(&id, PatrolOutcome::NothingFound, Some("一切正常 (all well)"))?;
        if !(round == grids - 1 && c % 2 == 1) {
            let id = patrol(p, round, PatrolShift::Night)?;
            if round == 0 && c.is_multiple_of(3) {
                // A hazard found on the night patrol, reported at once with a photo.
                let r = hazard(p, root, 0, Some(&id))?;
                p.cases.push(r.case_id);
                p.store.finish_patrol(&id, PatrolOutcome::Findings, None)?;
            } else {
                p.store.finish_patrol(&id, PatrolOutcome::NothingFound, Some("一切正常 (all well)"))?;
            }
            p.patrol = Some(id);
        }
    }
    if round == 1 {
        if let Some(case_id) = p.cases.first().cloned() {
            try_accepting(p, &case_id)?;
        }
    }
    visit(p, 0, round)?;
    if round == 3 || round == 4 {
        // Work HQ's tasks that have arrived, unless a unit owns them: acknowledge, set off,
        // arrive (with the GPS fix), complete.
        for t in p.store.tasks()? {
            if t.details.unit_id.is_some() {
                continue;
            }
            let g = p.grids.iter().position(|g| Some(g) == t.grid_id.as_ref()).unwrap_or(0);
            let (lat, lng) = street::inside(c, g, 3);
            let mut status = t.status;
            loop {
                let (action, result, location) = match status {
                    TaskStatus::Dispatched => (TaskAction::Acknowledge, None, None),
                    TaskStatus::Acknowledged => (TaskAction::OnTheWay, None, None),
                    TaskStatus::OnTheWay => (TaskAction::Arrive, None, Some(GeoPoint { lat, lng })),
                    TaskStatus::Arrived => {
                        (TaskAction::Complete, Some("已上门调解，双方和解 (mediated on site)".to_string()), None)
                    }
                    _ => break,
                };
                let input =
                    TaskActionInput { task_id: t.id.clone(), action, result, photos: vec![], location, datum: None };
                status = p.store.act_on_task(input)?.status;
            }
        }
    }
    if round == 4 {
        for case_id in p.cases.clone() {
            solve_on_the_spot(p, root, case_id)?;
        }
    }
    Ok(())
}

/// Two visits of one round in grid `g`.
fn visit(p: &SimPhone, g: usize, round: usize) -> DemoResult<()> {
    for k in 0..2 {
        let h = street::household_id(p.community, g, (round * 2 + k) % 8);
        p.store.record_visit(VisitInput {
            household_id: h,
            visit_type: if (round + k).is_multiple_of(4) { VisitType::MustVisit } else { VisitType::Routine },
            outcome: if k == 1 && round == 3 { VisitOutcome::NotHome } else { VisitOutcome::Met },
            needs: if k == 0 { vec![NeedTag::Living] } else { vec![] },
            note: None,
            satisfaction: None,
            case_id: None,
            location: None,
            occurred_at: None,
            datum: None,
        })?;
    }
    Ok(())
}

fn ratio(v: &Value) -> String {
    match v["rate"].as_f64() {
        Some(r) => format!("{:>5.0}% ({}/{})", r * 100.0, v["count"], v["of"]),
        None => "    - (0/0)".to_string(),
    }
}

fn print_figures(f: &Value) {
    println!();
    println!("HQ 三零 / 3456 figures ({} .. {})", f["from"].as_str().unwrap_or(""), f["to"].as_str().unwrap_or(""));
    println!(
        "{:<28} {:>15} {:>15} {:>15} {:>6} {:>15} {:>15} {:>15} {:>4}",
        "社区 community",
        "日巡覆盖 days",
        "夜巡覆盖 nights",
        "必访覆盖 visits",
        "上报",
        "按期结案 cases",
        "110按期 on time",
        "清单办结 list",
        "三零"
    );
    for c in f["communities"].as_array().into_iter().flatten() {
        let reports: i64 =
            c["reports_by_category"].as_object().map(|m| m.values().filter_map(|v| v.as_i64()).sum()).unwrap_or(0);
        println!(
            "{:<28} {:>15} {:>15} {:>15} {:>6} {:>15} {:>15} {:>15} {:>4}",
            c["community"].as_str().unwrap_or(""),
            ratio(&c["grid_day_coverage"]),
            ratio(&c["grid_night_coverage"]),
            ratio(&c["must_visit_coverage"]),
            reports,
            ratio(&c["on_time_closure"]),
            ratio(&c["diversion_110"]["closed_on_time"]),
            ratio(&c["weekly_list_closure"]),
            if c["three_zero"].as_bool() == Some(true) { "✓" } else { "✗" }
        );
    }
    let tz = &f["three_zero_communities"];
    println!("三零 communities: {} of {}", tz["count"], tz["of"]);
    // Why each ✗: the incidents behind it.
    for c in f["communities"].as_array().into_iter().flatten().filter(|c| c["three_zero"] == false) {
        for why in c["incident_list"].as_array().into_iter().flatten() {
            println!("  ✗ {}: {}", c["community"].as_str().unwrap_or(""), why.as_str().unwrap_or(""));
        }
    }
    println!();
}

/// Every phone's outbox against HQ's database: each record must be at HQ exactly once.
fn compare(phones: &[SimPhone], hq_dir: &std::path::Path, practice: &str) -> DemoResult<bool> {
    let hq = rusqlite::Connection::open_with_flags(
        hq_dir.join(gridpatrol_hq::db::SQLITE_DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    // The operations HQ holds: its mutation log, and the visits (which carry their own).
    let held: Vec<String> = {
        let mut stmt = hq.prepare(
            "SELECT mutation_id FROM mutation UNION ALL SELECT mutation_id FROM visit WHERE mutation_id IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mutations: HashSet<String> = held.iter().cloned().collect();
    let (mut recorded, mut at_hq, mut rejected) = (0u64, 0u64, 0u64);
    let mut phone_entities: std::collections::HashMap<&str, HashSet<String>> = Default::default();
    for p in phones {
        for e in p.store.outbox(0, 1_000_000)? {
            recorded += 1;
            if mutations.contains(&e.mutation_id) {
                at_hq += 1;
            }
            if e.state == "rejected" {
                rejected += 1;
            }
            let table = match e.op.as_str() {
                "record_visit" => "visit",
                "file_report" => "report",
                "start_patrol" => "patrol",
                "check_in" => "checkpoint",
                _ => continue,
            };
            phone_entities.entry(table).or_default().insert(e.entity_id.clone());
        }
    }
    // Doubles: operations HQ holds that no phone sent once, and observation rows (patrols,
    // check-ins, visits, reports: only phones make them) beyond the distinct records made.
    let mut duplicates = mutations.len() as u64 - at_hq.min(mutations.len() as u64);
    duplicates += (held.len() - mutations.len()) as u64;
    for (table, ids) in &phone_entities {
        let rows: i64 = hq.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        duplicates += (rows as u64).saturating_sub(ids.len() as u64);
    }
    let lost = recorded - at_hq;
    println!(
        "demo: devices={} recorded={recorded} at_hq={at_hq} duplicates={duplicates} lost={lost}{}{practice}",
        phones.len(),
        if rejected > 0 { format!(" rejected={rejected}") } else { String::new() }
    );
    Ok(duplicates == 0 && lost == 0)
}
