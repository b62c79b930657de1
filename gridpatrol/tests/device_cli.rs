//! `gridpatrol device …` end to end: the real binary on temporary store folders, driven the
//! way a worker (or a script with `--json`) would drive it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

/// Inside grid g-0101 of the sample configuration (121.4700..121.4760 E, 31.2300..31.2350 N).
const IN_LAT: &str = "31.2320";
const IN_LNG: &str = "121.4730";
/// North of it: outside every sample grid.
const OUT_LAT: &str = "31.2400";

/// One phone: a temp folder holding the store, the config file and photos.
struct Phone {
    dir: tempfile::TempDir,
    /// Successful recording commands so far: each must have made exactly one outbox row.
    recorded: i64,
}

impl Phone {
    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
            .arg("device")
            .arg("--store")
            .arg(self.store())
            .args(args)
            .output()
            .expect("run gridpatrol");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        out
    }

    /// A `--json` command that must succeed; its parsed output.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(&[args, &["--json"]].concat());
        assert!(
            out.status.success(),
            "{args:?} failed ({:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON: {e}"))
    }

    /// A recording command (one outbox row) that must succeed.
    fn record(&mut self, args: &[&str]) -> Value {
        let v = self.json(args);
        self.recorded += 1;
        v
    }

    /// A `--json` command that must fail: (exit code, the `error` object).
    fn fails(&self, args: &[&str]) -> (i32, Value) {
        let out = self.run(&[args, &["--json"]].concat());
        assert!(!out.status.success(), "{args:?} should have failed: {}", String::from_utf8_lossy(&out.stdout));
        let v: Value = serde_json::from_slice(&out.stdout).expect("error is JSON on stdout");
        (out.status.code().expect("exit code"), v["error"].clone())
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write file");
        p.to_str().expect("utf-8 path").to_string()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The sample configuration exactly as `device sample-config` prints it.
fn sample_config(dir: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["device", "--store"])
        .arg(dir.join("unused"))
        .arg("sample-config")
        .output()
        .expect("run gridpatrol");
    assert!(out.status.success());
    out.stdout
}

/// A phone initialised as w-001 from the sample configuration, as `edit` rewrites it.
fn init_phone(edit: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Phone {
    let phone = Phone { dir: tempfile::tempdir().expect("temp dir"), recorded: 0 };
    let config = edit(sample_config(phone.dir.path()));
    let path = phone.write("config.json", &config);
    let device = phone.json(&["init", "--config", &path, "--worker", "w-001"]);
    assert_eq!(device["worker_id"], "w-001");
    phone
}

/// Initialised from the sample configuration file as printed.
fn phone() -> Phone {
    init_phone(|raw| raw)
}

/// Initialised from the sample configuration after `edit` changes it.
fn phone_with(edit: impl FnOnce(&mut Value)) -> Phone {
    init_phone(|raw| {
        let mut config: Value = serde_json::from_slice(&raw).expect("sample config is JSON");
        edit(&mut config);
        config.to_string().into_bytes()
    })
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn init_from_the_sample_config_as_w_001() {
    let mut phone = phone();
    // Human output names the worker; init again for the same worker is harmless.
    let cfg = phone.dir.path().join("config.json");
    let out = phone.run(&["init", "--config", cfg.to_str().unwrap(), "--worker", "w-001"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("网格员 (worker): w-001"), "{}", stdout(&out));
    let info = phone.json(&["init", "--config", cfg.to_str().unwrap(), "--worker", "w-001"]);
    assert_eq!(info["epoch"], 1);
    assert!(!field(&info, "device_id").is_empty());

    // Switching worker while work is unsent is refused (not silently dropped).
    phone.record(&["patrol", "start", "--grid", "g-0101"]);
    let (code, err) = phone.fails(&["init", "--config", cfg.to_str().unwrap(), "--worker", "w-002"]);
    assert_eq!((code, field(&err, "code")), (2, "unsent_work"));

    let today = phone.json(&["today"]);
    assert_eq!(today["worker_name"], "李网格 (Li)");
    assert_eq!(today["unsent"]["records"], 1);
}

#[test]
fn a_day_of_field_work_through_the_shell() {
    // One task from the 12345 hotline that is already overdue, besides the sample 110 task.
    let now = Utc::now();
    let mut phone = phone_with(|c| {
        c["tasks"].as_array_mut().expect("tasks").push(json!({
            "id": "t-12345-0002", "source": "hotline_12345", "title": "路灯不亮 (street light out)",
            "target_unit": "城管 (urban management)", "assignee_id": "w-001", "grid_id": "g-0101",
            "deadline": rfc3339(now - Duration::hours(1)), "dispatched_at": rfc3339(now - Duration::hours(2))
        }))
    });
    let before = phone.write("before.jpg", &gridpatrol_testing::tiny_jpeg(0x56));
    let after = phone.write("after.jpg", &gridpatrol_testing::tiny_jpeg(0x78));

    // 巡查: start, track, two check-ins (one outside the grid), a report, finish.
    let patrol = phone.record(&["patrol", "start", "--grid", "g-0101", "--night"]);
    assert_eq!(patrol["shift"], "night");
    let p = field(&patrol, "id").to_string();
    let track = phone.record(&["patrol", "track", "--patrol", &p, "--lat", IN_LAT, "--lng", IN_LNG, "--accuracy", "8"]);
    assert_eq!(track["track_points"], 1);
    let cp1 = phone.record(&[
        "patrol",
        "check-in",
        "--patrol",
        &p,
        "--lat",
        IN_LAT,
        "--lng",
        IN_LNG,
        "--place",
        "3栋车棚",
        "--answer",
        "fire_passage=issue",
        "--answer-note",
        "fire_passage=车棚堵塞 (bike shed blocked)",
        "--answer",
        "ebike_charging=issue",
        "--answer",
        "public_facilities=ok",
    ]);
    assert_eq!(cp1["inside_grid"], true);
    assert_eq!(cp1["answers"][0]["note"], "车棚堵塞 (bike shed blocked)");
    assert_eq!(cp1["answers"].as_array().unwrap().len(), 3);
    let cp2 = phone.record(&[
        "patrol",
        "check-in",
        "--patrol",
        &p,
        "--lat",
        OUT_LAT,
        "--lng",
        IN_LNG,
        "--answer",
        "sanitation=ok",
        "--answer",
        "suspicious_activity=not_applicable",
    ]);
    assert_eq!(cp2["inside_grid"], false, "outside the grid: recorded and flagged");

    let report = phone.record(&[
        "report",
        "--grid",
        "g-0101",
        "--category",
        "safety_hazard",
        "--lat",
        IN_LAT,
        "--lng",
        IN_LNG,
        "--description",
        "电动车在车棚内充电 (e-bikes charging in the shed)",
        "--people",
        "3",
        "--source",
        "patrol",
        "--patrol",
        &p,
        "--photo",
        &before,
    ]);
    assert_eq!(report["urgency"], "immediate", "hazards are reported at once");
    assert_eq!(report["photos"].as_array().unwrap().len(), 1);
    let case_id = field(&report, "case_id").to_string();

    let today = phone.json(&["today"]);
    let progress = &today["patrol"];
    assert_eq!(progress["patrol_id"], p.as_str());
    assert_eq!((progress["checkins"].as_u64(), progress["min_checkins"].as_u64()), (Some(2), Some(2)));
    assert_eq!(progress["outside_grid_checkins"], 1);
    assert_eq!((progress["checklist_answered"].as_u64(), progress["checklist_total"].as_u64()), (Some(5), Some(5)));
    let parts: Vec<(&str, bool)> = progress["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["part"].as_str().unwrap(), x["done"].as_bool().unwrap()))
        .collect();
    // Only one check-in was inside the grid, so 人到 is not done yet.
    assert_eq!(parts, [("person_on_site", false), ("eyes_on", true), ("recorded", true)]);
    assert_eq!(today["unsent"]["records"], phone.recorded);
    assert_eq!(today["unsent"]["photos"], 1);
    assert_eq!(today["open_cases"].as_array().map(Vec::len), Some(1));

    let finished =
        phone.record(&["patrol", "finish", "--patrol", &p, "--outcome", "findings", "--note", "已上报车棚隐患"]);
    assert_eq!(finished["outcome"], "findings");

    // 走访: the must-visit household.
    let visit = phone.record(&[
        "visit",
        "--household",
        "h-0001",
        "--type",
        "must_visit",
        "--outcome",
        "met",
        "--need",
        "health",
        "--need",
        "living",
        "--lat",
        IN_LAT,
        "--lng",
        IN_LNG,
    ]);
    assert_eq!(visit["needs"], json!(["health", "living"]));

    // 问题六清: accepting is the office's step (protocol/src/roles.rs); a full-time worker solves
    // on the spot (即知即办) with an after-photo and what can be made clear there.
    let deadline = rfc3339(now + Duration::days(3));
    let (code, err) = phone.fails(&["case", "move", &case_id, "--to", "accepted"]);
    assert_eq!((code, field(&err, "code"), field(&err, "field")), (2, "role_not_allowed", "to"));
    let on_the_spot = ["case", "move", &case_id, "--to", "closed", "--photo", &after];
    let facts = ["--facts", "3 辆电动车在车棚内充电 (3 e-bikes charging)"];
    let (code, err) = phone.fails(&[&on_the_spot[..], &facts].concat());
    assert_eq!((code, field(&err, "code")), (2, "clear_items_missing"));
    assert_eq!(err["missing"], json!(["responsibility", "deadline", "outcome", "feedback"]));
    let human = phone.run(&[&on_the_spot[..], &facts].concat());
    assert_eq!(human.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(stderr.starts_with("error [clear_items_missing]:") && stderr.contains("反馈清"), "{stderr}");
    let rest = [
        "--responsible",
        "物业公司 (property management)",
        "--deadline",
        &deadline,
        "--outcome",
        "充电线已拆除 (cables removed)",
        "--feedback",
        "居民满意 (resident satisfied)",
    ];
    let (code, err) = phone.fails(&[&on_the_spot[..], &facts, &rest, &["--ledger", "TZ-2026-0117"]].concat());
    assert_eq!((code, field(&err, "code"), field(&err, "field")), (2, "role_not_allowed", "clear.ledger_ref"));
    let (code, err) = phone.fails(&[&on_the_spot[..], &facts, &rest, &["--satisfaction", "5"]].concat());
    assert_eq!((code, field(&err, "code"), field(&err, "field")), (2, "invalid_input", "clear.satisfaction"));
    let closed = phone.record(&[&on_the_spot[..], &facts, &rest].concat());
    assert_eq!((closed["n"].as_i64(), closed["to"].as_str()), (Some(2), Some("closed")));

    let timeline = phone.json(&["case", "show", &case_id]);
    assert_eq!(timeline["state"], "closed");
    assert_eq!(timeline["events"].as_array().unwrap().len(), 2);
    let open: Vec<&str> = timeline["clear"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["done"] != true)
        .map(|c| c["item"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["ledger"], "the office writes the ledger: {}", timeline["clear"]);
    assert_eq!(timeline["deadline"].as_str().map(|d| d.starts_with(&deadline[..16])), Some(true));
    let next: Vec<&str> =
        timeline["next_steps"].as_array().unwrap().iter().map(|s| s["to"].as_str().unwrap()).collect();
    assert_eq!(next, ["followed_up"], "this worker's next step: the follow-up visit");

    // Tasks: the sample 110 diversion task all the way; the overdue one acknowledged.
    for (action, status) in [("ack", "acknowledged"), ("go", "on_the_way")] {
        assert_eq!(phone.record(&["task", action, "t-110-0001"])["status"], status);
    }
    let done =
        phone.record(&["task", "complete", "t-110-0001", "--result", "双方已调解 (mediated)", "--photo", &after]);
    assert_eq!((done["status"].as_str(), done["result"].as_str()), (Some("done"), Some("双方已调解 (mediated)")));
    phone.record(&["task", "ack", "t-12345-0002"]);
    let tasks = phone.json(&["task", "list"]);
    assert_eq!(tasks[0]["id"], "t-12345-0002", "open tasks first");
    assert_eq!(tasks[1]["status"], "done");

    // Mistakes after the fact: refused, and they consume no outbox numbers.
    let refusals = [
        (vec!["task", "complete", "t-110-0001", "--result", "again"], "illegal_task_action"),
        (vec!["case", "move", &case_id, "--to", "handling"], "illegal_transition"),
        (vec!["patrol", "check-in", "--patrol", &p, "--lat", IN_LAT, "--lng", IN_LNG], "patrol_state"),
        (vec!["patrol", "finish", "--patrol", "no-such-patrol", "--outcome", "nothing_found"], "not_found"),
    ];
    for (args, expected) in refusals {
        let (code, err) = phone.fails(&args);
        assert_eq!((code, field(&err, "code")), (2, expected), "{args:?}");
    }

    let today = phone.json(&["today"]);
    assert_eq!(today["patrol"], Value::Null);
    let due: Vec<(&str, &str, bool)> = today["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["status"].as_str().unwrap(), t["overdue"].as_bool().unwrap()))
        .collect();
    assert_eq!(due, [("t-12345-0002", "acknowledged", true)], "done tasks and tasks due in 2030 are not listed");
    let must_visit: Vec<&str> =
        today["must_visit"].as_array().unwrap().iter().map(|h| h["household_id"].as_str().unwrap()).collect();
    assert_eq!(must_visit, ["h-0003"], "h-0001 was just visited");
    assert_eq!(today["open_cases"].as_array().map(Vec::len), Some(0));
    assert_eq!(today["unsent"]["records"], phone.recorded);
    assert_eq!(today["unsent"]["photos"], 2);

    // The outbox: one row per successful recording command, numbered 1..N without gaps.
    let outbox = phone.json(&["outbox", "--limit", "1000"]);
    let seqs: Vec<i64> = outbox.as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=phone.recorded).collect::<Vec<_>>());
    let ops: Vec<&str> = outbox.as_array().unwrap()[..5].iter().map(|e| e["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["start_patrol", "add_track_points", "check_in", "check_in", "file_report"]);
    let page = phone.json(&["outbox", "--after", "3", "--limit", "2"]);
    assert_eq!(page.as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>(), [4, 5]);

    let pending = phone.json(&["pending", "--limit", "1000"]);
    assert_eq!(pending["unsent_records"], phone.recorded);
    assert_eq!(pending["items"].as_array().unwrap().len() as i64, phone.recorded + 2, "records then photos");
}

#[test]
fn bad_inputs_exit_2_with_code_and_field() {
    let phone = phone();
    let report = |lat: &str, category: &str| {
        phone.fails(&[
            "report",
            "--grid",
            "g-0101",
            "--category",
            category,
            "--lat",
            lat,
            "--lng",
            IN_LNG,
            "--description",
            "x",
        ])
    };
    let cases = [
        (report("200", "dispute"), "invalid_input", Some("location.lat")),
        (report("north", "dispute"), "invalid_input", Some("location.lat")),
        (report(IN_LAT, "fire"), "invalid_input", Some("category")),
        (phone.fails(&["visit", "--household", "h-9999", "--type", "routine", "--outcome", "met"]), "not_found", None),
        // h-0004 lives in g-0102, not one of w-001's grids: not on this phone at all.
        (phone.fails(&["visit", "--household", "h-0004", "--type", "routine", "--outcome", "met"]), "not_found", None),
        (
            phone.fails(&["visit", "--household", "h-0002", "--type", "chat", "--outcome", "met"]),
            "invalid_input",
            Some("visit_type"),
        ),
        (phone.fails(&["patrol", "start", "--grid", "g-0102"]), "invalid_input", Some("grid_id")),
        (
            phone.fails(&["visit", "--household", "h-0002", "--type", "routine", "--outcome", "met", "--datum", "utm"]),
            "invalid_input",
            Some("datum"),
        ),
        (phone.fails(&["case", "show", "no-such-case"]), "not_found", None),
        (
            phone.fails(&["init", "--config", "/no/such/config.json", "--worker", "w-001"]),
            "invalid_input",
            Some("config"),
        ),
    ];
    for ((code, err), expected_code, expected_field) in cases {
        assert_eq!(code, 2, "{err}");
        assert_eq!(err["code"], expected_code, "{err}");
        assert_eq!(err["field"].as_str(), expected_field, "{err}");
        assert!(!field(&err, "message").is_empty());
    }
    let (_, err) = phone.fails(&["visit", "--household", "h-9999", "--type", "routine", "--outcome", "met"]);
    assert_eq!(err["entity"], "household");

    // Without --json: nothing on stdout, `error [<code>]: <message>` on stderr.
    let out = phone.run(&[
        "report",
        "--grid",
        "g-0101",
        "--category",
        "fire",
        "--lat",
        IN_LAT,
        "--lng",
        IN_LNG,
        "--description",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error [invalid_input]: invalid category:") && stderr.contains("safety_hazard"),
        "{stderr}"
    );

    // Nothing was recorded by any of it.
    assert_eq!(phone.json(&["outbox"]), json!([]));
}

#[test]
fn an_uninitialised_store_says_so() {
    let phone = Phone { dir: tempfile::tempdir().expect("temp dir"), recorded: 0 };
    let (code, err) = phone.fails(&["today"]);
    assert_eq!((code, field(&err, "code")), (2, "not_initialised"));
}

#[test]
fn human_output_flags_outside_check_ins_and_lists_the_six_clear_items() {
    let phone = phone();
    let p = phone.json(&["patrol", "start", "--grid", "g-0101"]);
    let p = field(&p, "id");
    let out = phone.run(&[
        "patrol",
        "check-in",
        "--patrol",
        p,
        "--lat",
        OUT_LAT,
        "--lng",
        IN_LNG,
        "--answer",
        "sanitation=issue",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("⚠ 不在网格内 (outside the grid) — recorded"), "{text}");
    assert!(text.contains("环境卫生整洁 (sanitation and clutter): 有问题 (issue found)"), "{text}");

    let report = phone.json(&[
        "report",
        "--grid",
        "g-0101",
        "--category",
        "dispute",
        "--lat",
        IN_LAT,
        "--lng",
        IN_LNG,
        "--description",
        "楼上漏水 (leak from upstairs)",
    ]);
    let out = phone.run(&["case", "show", field(&report, "case_id")]);
    let text = stdout(&out);
    assert!(text.contains("状态 (state): 上报 (reported)"), "{text}");
    assert!(text.contains("✗ 情况清 (facts)") && text.contains("✗ 台账清"), "{text}");
    // Only the steps this worker may take (protocol/src/roles.rs): solving on the spot.
    assert!(text.contains("closed = 结案 (closed)") && !text.contains("accepted = 受理"), "{text}");

    let out = phone.run(&["today"]);
    let text = stdout(&out);
    assert!(text.contains("打卡 (check-ins): 1/2") && text.contains("138****5678"), "{text}");
    // Times are RFC 3339 with the offset.
    assert!(text.contains("+08:00"), "{text}");
    assert!(!text.contains("13812345678"), "phones are masked");
}

/// The benchmark command runs and prints its one-line format (tiny sizes: this is a smoke
/// test of the command, not a measurement; figures come from the release build).
#[test]
fn bench_record_prints_its_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["bench", "record", "--n", "40", "--big", "300"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().next().unwrap();
    for key in ["record: p50_us=", " p99_us=", " rps=", "| raw: p50_us=", "| ratio="] {
        assert!(line.contains(key), "{line}");
    }
    assert!(text.contains("open_ms=") && text.contains("today_ms="), "{text}");
}

/// `bench link` end to end on a tiny day (one photo, a fast scale): the day crosses the shaped
/// link with its three cuts and arrives whole (the bench checks HQ), the lines are printed.
#[test]
fn bench_link_prints_its_lines() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["bench", "link", "--records", "12", "--photos", "1", "--photo-kb", "24", "--scale", "100"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("link: ")).unwrap_or_else(|| panic!("{text}"));
    for key in
        ["bytes=", " seconds=", " link_seconds=", " ratio=", " resent_bytes=", "| whole_file: seconds=", "| speedup="]
    {
        assert!(line.contains(key), "{line}");
    }
    assert!(text.contains("cuts=3"), "the three cuts happened: {text}");
    assert!(text.contains("link noop sync: requests=1 "), "{text}");
}

#[test]
fn a_usage_mistake_with_json_is_a_json_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["device", "--json", "report", "--grid", "g-0101"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "usage");
    assert!(v["error"]["message"].as_str().unwrap().contains("--category"));
}
