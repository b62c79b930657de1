//! Property: two copies of one store (told apart by installation id, or not), recording,
//! syncing and enrolling again in any order while HQ restarts, end with HQ holding exactly the
//! union of what both recorded, each record once. Real HQ (SQLite, and PostgreSQL when
//! configured), real stores, real HTTP.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Record { copy: usize, n: usize },
    Sync { copy: usize },
    Reenrol { copy: usize },
    RestartHq,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2usize, 1..4usize).prop_map(|(copy, n)| Step::Record { copy, n }),
        4 => (0..2usize).prop_map(|copy| Step::Sync { copy }),
        1 => (0..2usize).prop_map(|copy| Step::Reenrol { copy }),
        1 => Just(Step::RestartHq),
    ]
}

async fn run(db: Db, told_apart: bool, steps: Vec<Step>) {
    let mut hq = Hq::start(db).await;
    let original =
        Phone::enrol_installed(&hq.url, &hq.code("w-001").await, NOW_MS, Some("installation-original-0")).await;
    for _ in 0..2 {
        original.visit("h-0001");
    }
    original.sync().await.unwrap();
    original.visit("h-0001"); // unsent when copied: both copies hold it
    let clone = original.copy(Some(if told_apart { "installation-the-copy-00" } else { "installation-original-0" }));
    let mut phones = vec![original, clone];
    let households = ["h-0001", "h-0002"];
    for s in steps {
        match s {
            Step::Record { copy, n } => {
                for _ in 0..n {
                    phones[copy].visit(households[copy]);
                }
            }
            // A sync may be refused (the other copy's enrolment ended this one's token): the
            // records stay, as on a phone.
            Step::Sync { copy } => drop(phones[copy].sync().await),
            Step::Reenrol { copy } => {
                let p = phones.remove(copy);
                let code = hq.code("w-001").await;
                phones.insert(copy, p.reenrolled(&hq.url, &code).await);
            }
            Step::RestartHq => hq.restart().await,
        }
    }
    // The end: each copy syncs until it has nothing left, enrolling again if its token died.
    for copy in 0..2 {
        for _ in 0..3 {
            if phones[copy].sync().await.is_ok() {
                break;
            }
            let p = phones.remove(copy);
            let code = hq.code("w-001").await;
            phones.insert(copy, p.reenrolled(&hq.url, &code).await);
        }
        let today = phones[copy].store.today().unwrap();
        assert_eq!((today.unsent.records, today.unsent.rejected), (0, 0), "copy {copy}: {:?}", today.unsent);
    }
    let at_hq = hq.ids("visits").await;
    let distinct: BTreeSet<String> = at_hq.iter().cloned().collect();
    assert_eq!(distinct.len(), at_hq.len(), "a visit is at HQ twice");
    let recorded: BTreeSet<String> = phones.iter().flat_map(|p| p.ids("record_visit")).collect();
    assert_eq!(distinct, recorded, "HQ holds exactly what the copies recorded");
    hq.stop().await;
}

fn check(db: Db) {
    let config = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(told_apart in any::<bool>(), steps in prop::collection::vec(step(), 3..14))| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(db, told_apart, steps));
    });
}

#[test]
fn two_copies_and_hq_restarts_hold_the_union_once_sqlite() {
    check(Db::Sqlite);
}

#[test]
fn two_copies_and_hq_restarts_hold_the_union_once_postgres() {
    if pg_base_url().is_some() {
        check(Db::Postgres);
    }
}
