//! `gridpatrol hq serve` refuses a time zone it does not know, or a map tile URL it cannot use,
//! before touching any data.

use std::process::Command;

#[test]
fn an_unknown_time_zone_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["hq", "serve", "--listen", "127.0.0.1:0", "--time-zone", "Mars/Olympus_Mons", "--database"])
        .arg(dir.path().join("hq"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Mars/Olympus_Mons") && err.contains("IANA"), "{err}");
    assert!(!dir.path().join("hq").exists(), "nothing was created");
}

/// `--map-tiles` takes a tile URL template or nothing: a wrong one stops HQ before any data.
#[test]
fn a_map_tile_url_without_its_placeholders_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["hq", "serve", "--listen", "127.0.0.1:0", "--map-tiles", "https://tiles.example.test/map.png"])
        .arg("--database")
        .arg(dir.path().join("hq"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--map-tiles") && err.contains("{z}"), "{err}");
    assert!(!dir.path().join("hq").exists(), "nothing was created");
}

/// `hq serve` as operators run it: the request log on stderr as JSON lines, each with the route
/// template and, for a phone, a short hash of its device id — never a token; and SIGTERM while
/// a push is half received: the push is still answered and applied, then HQ exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_request_log_and_a_push_finished_through_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;

    use gridpatrol_protocol::wire::{EnrolResponse, PushOp, PushRequest, PROTOCOL_HEADER};

    let dir = tempfile::tempdir().unwrap();
    let admin = "hq-cli-admin-token-0123456789abcdef0123";
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["hq", "serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--database"])
        .arg(dir.path().join("hq"))
        .env("GRIDPATROL_ADMIN_TOKEN", admin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "HQ printed no address");
        if let Some(at) = line.find("http://") {
            break line[at..].trim().to_string();
        }
    };
    let http = reqwest::Client::new();
    let config: serde_json::Value = serde_json::from_str(gridpatrol_protocol::config::SAMPLE_CONFIG_JSON).unwrap();
    let r = http.post(format!("{url}/v1/admin/import")).bearer_auth(admin).json(&config).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let code: serde_json::Value = http
        .post(format!("{url}/v1/admin/workers/w-001/enrolment-codes"))
        .bearer_auth(admin)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_id = "0192a0b0-0000-7000-8000-00000000cafe";
    let enrolled: EnrolResponse = http
        .post(format!("{url}/v1/enrol"))
        .header(PROTOCOL_HEADER, "2")
        .json(&serde_json::json!({ "code": code["code"], "device_id": device_id, "epoch": 0,
                                   "installation_id": "hq-cli-installation-0001" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_id = enrolled.device_id.clone().unwrap_or(device_id.into());
    let r = http
        .post(format!("{url}/v1/pull"))
        .bearer_auth(&enrolled.device_token)
        .header(PROTOCOL_HEADER, "2")
        .json(&serde_json::json!({ "cursors": {} }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    // A push whose body arrives in two halves, with SIGTERM in between.
    let now = chrono::Utc::now();
    let visit = serde_json::json!({ "op": "record_visit", "visit": {
        "id": "0192a0b0-0000-7000-8000-0000000000a1", "worker_id": "w-001", "household_id": "h-0001",
        "grid_id": "g-0101", "visit_type": "routine", "outcome": "met", "needs": [],
        "occurred_at": now.to_rfc3339() } });
    let push = PushRequest {
        device_id: device_id.clone(),
        epoch: enrolled.epoch,
        device_time_ms: now.timestamp_millis(),
        device_hlc: None,
        ops: vec![PushOp {
            seq: 1,
            mutation_id: "0192a0b0-0000-7000-8000-0000000000b1".into(),
            hlc: format!("{:015}-000001", now.timestamp_millis()),
            device_ms: now.timestamp_millis(),
            command: visit,
        }],
    };
    let body = serde_json::to_vec(&push).unwrap();
    let addr = url.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n{PROTOCOL_HEADER}: 2\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        enrolled.device_token,
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..body.len() / 2]).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    conn.write_all(&body[body.len() / 2..]).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "the push in flight is answered: {answer}");
    assert!(answer.contains("\"applied\""), "{answer}");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "HQ exits cleanly after SIGTERM");

    // The request log: JSON lines with the route template and the device's tag, no token.
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(!log.contains(&enrolled.device_token) && !log.contains(admin) && !log.contains("gpd_"), "{log}");
    let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let pull = lines.iter().find(|l| l["route"] == "/v1/pull").unwrap_or_else(|| panic!("no pull line in {log}"));
    let tag = pull["device"].as_str().unwrap();
    assert_eq!(tag.len(), 12, "{pull}");
    assert!(!log.contains(&device_id), "the device id itself is not logged");
    let push_line = lines.iter().find(|l| l["route"] == "/v1/push").unwrap_or_else(|| panic!("no push line in {log}"));
    assert_eq!((push_line["status"].as_u64(), push_line["device"].as_str()), (Some(200), Some(tag)));
    assert!(lines.iter().any(|l| l["route"] == "/v1/admin/import" && l["device"] == "-"));
}

/// The first start prints the console's admin user and a generated password once on stdout —
/// not in the request log, not in a file — and a restart on the same data prints none.
#[test]
fn the_console_password_is_printed_once_and_never_logged() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
            .args(["hq", "serve", "--listen", "127.0.0.1:0", "--database"])
            .arg(dir.path().join("hq"))
            .env_remove("GRIDPATROL_ADMIN_PASSWORD")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "HQ printed no address: {printed}");
            printed.push_str(&line);
            if line.contains("Console (open in a browser): http://") {
                break;
            }
        }
        // One answered request: HQ is serving (and listening for SIGTERM) before it is sent.
        let addr = printed.split("http://").nth(1).unwrap().split(['/', '\n']).next().unwrap().to_string();
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut conn, b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let mut log = String::new();
        child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
        assert!(child.wait().unwrap().success());
        (printed, log)
    };
    let (first, log) = start();
    let at = first.find("password `").expect("the password printed") + "password `".len();
    let password = &first[at..at + 16];
    assert!(first.contains("user `admin`"), "{first}");
    assert!(!log.contains(password), "not in the log");
    for f in std::fs::read_dir(dir.path().join("hq")).unwrap() {
        let f = f.unwrap().path();
        if f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("hq.db")) {
            continue; // the database holds the argon2id hash, checked in hq/tests/hq/console.rs
        }
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(password), "not in {f:?}");
    }
    let (second, _) = start();
    assert!(!second.contains("password `"), "printed once: {second}");
}
