//! HQ killed with SIGKILL while phones push (fault injection on the server side), restarted
//! on the same database, many rounds: nothing lost, nothing doubled.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ROUNDS: usize = 10;
const PER_ROUND: usize = 100;

both!(sigkill_hq_during_pushes_loses_and_doubles_nothing);

fn spawn_hq(listen: &str, database: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hq-server"))
        .args([listen, database])
        .env("GRIDPATROL_ADMIN_TOKEN", ADMIN)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hq-server")
}

async fn wait_healthy(url: &str) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = client.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("HQ did not come up at {url}");
}

async fn sigkill_hq_during_pushes_loses_and_doubles_nothing(db: Db) {
    let place = Place::new(db);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let url = format!("http://{listen}");
    let mut child = spawn_hq(&listen, &place.arg());
    wait_healthy(&url).await;
    let hq = Hq::remote(url.clone(), place);
    hq.import_sample().await;
    let phone = Phone::enrol(&url, &hq.code("w-001").await, NOW_MS).await;

    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("hq kill test seed {seed}");
    let mut kills_mid_sync = 0;
    for round in 0..ROUNDS {
        for i in 0..PER_ROUND {
            phone.visit(["h-0001", "h-0002", "h-0003"][(round + i) % 3]);
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 15_000);
        // Small batches: one sync is many pushes, so the kill lands between and inside them.
        let options = gridpatrol_core::sync::SyncOptions { batch_ops: 10, max_attempts: 2, ..quick() };
        let sync = phone.store.sync(&options, &gridpatrol_core::sync::NoProgress);
        let kill = async {
            tokio::time::sleep(delay).await;
            // SIGKILL on Unix.
            let _ = child.kill();
        };
        let (result, ()) = tokio::join!(sync, kill);
        if result.is_err() {
            kills_mid_sync += 1;
        }
        child.wait().unwrap();
        child = spawn_hq(&listen, &hq.place.arg());
        wait_healthy(&url).await;
    }
    // Everything settles once HQ stays up.
    let mut tries = 0;
    while phone.store.today().unwrap().unsent.records > 0 {
        let _ = phone.sync().await;
        tries += 1;
        assert!(tries < 10, "the queue does not drain");
    }
    phone.sync().await.unwrap();
    eprintln!("hq kill test: {ROUNDS} rounds, {kills_mid_sync} syncs cut off by the kill");
    assert_eq!(hq.ids("visits").await, phone.ids("record_visit"), "each record at HQ exactly once");
    assert_eq!(phone.ids("record_visit").len(), ROUNDS * PER_ROUND);
    let _ = child.kill();
    let _ = child.wait();
}
