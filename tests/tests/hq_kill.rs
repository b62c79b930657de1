//! HQ killed with SIGKILL while phones push (fault injection on the server side), restarted
//! on the same database, many rounds: nothing lost, nothing doubled.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ROUNDS: usize = 10;
const PER_ROUND: usize = 100;

both!(
    sigkill_hq_during_pushes_loses_and_doubles_nothing,
    two_instances_behind_a_balancer_one_killed_lose_and_double_nothing
);

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

/// Two HQ processes on one PostgreSQL behind a round-robin balancer (`simnet::Balancer`), three
/// phones syncing pipelined pushes through it while one instance is SIGKILLed and started
/// again, round after round: every record at HQ exactly once. PostgreSQL's deployment (one
/// SQLite data folder has one HQ process).
async fn two_instances_behind_a_balancer_one_killed_lose_and_double_nothing(db: Db) {
    if db == Db::Sqlite {
        return;
    }
    let place = Place::new(db);
    let ports: Vec<u16> =
        (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
    let listens: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut children: Vec<Child> = listens.iter().map(|l| spawn_hq(l, &place.arg())).collect();
    for l in &listens {
        wait_healthy(&format!("http://{l}")).await;
    }
    let balancer = gridpatrol_simnet::Balancer::start(listens.iter().map(|l| l.parse().unwrap()).collect());
    let hq = Hq::remote(balancer.url(), place);
    hq.import_sample().await;
    let phones = [
        Phone::enrol(&balancer.url(), &hq.code("w-001").await, NOW_MS).await,
        Phone::enrol(&balancer.url(), &hq.code("w-003").await, NOW_MS).await,
        Phone::enrol(&balancer.url(), &hq.code("w-001").await, NOW_MS).await,
    ];
    // Small batches, several in flight: each sync is many pipelined pushes across both instances.
    let options = gridpatrol_core::sync::SyncOptions { batch_ops: 5, max_attempts: 2, ..quick() };
    for round in 0..6 {
        for (k, p) in phones.iter().enumerate() {
            for i in 0..20 {
                p.visit(["h-0001", "h-0002", "h-0003"][(round + i + k) % 3]);
            }
        }
        let victim = round % 2;
        let syncs = futures_join(&phones, &options);
        let kill = async {
            tokio::time::sleep(Duration::from_millis(5 + 7 * round as u64)).await;
            let _ = children[victim].kill();
        };
        let ((), ()) = tokio::join!(syncs, kill);
        children[victim].wait().unwrap();
        children[victim] = spawn_hq(&listens[victim], &hq.place.arg());
        wait_healthy(&format!("http://{}", listens[victim])).await;
    }
    for p in &phones {
        let mut tries = 0;
        while p.store.today().unwrap().unsent.records > 0 {
            let _ = p.sync().await;
            tries += 1;
            assert!(tries < 10, "the queue does not drain");
        }
    }
    let at_hq = hq.ids("visits").await;
    let mut sent: Vec<String> = phones.iter().flat_map(|p| p.ids("record_visit")).collect();
    sent.sort();
    let mut got = at_hq.clone();
    got.sort();
    assert_eq!(got, sent, "each record at HQ exactly once");
    assert_eq!(sent.len(), 3 * 6 * 20);
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Every phone syncs at once (errors are expected while an instance is down).
async fn futures_join(phones: &[Phone], options: &gridpatrol_core::sync::SyncOptions) {
    let none = gridpatrol_core::sync::NoProgress;
    let (a, b, c) = tokio::join!(
        phones[0].store.sync(options, &none),
        phones[1].store.sync(options, &none),
        phones[2].store.sync(options, &none)
    );
    let _ = (a, b, c);
}
