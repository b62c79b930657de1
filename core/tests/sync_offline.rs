//! Sync without a reachable HQ: nothing is lost, the worker is told in plain words, and
//! the typed errors say what happened.

mod common;

use std::time::Duration;

use common::*;
use gridpatrol_core::sync::{Backoff, NoProgress, SyncOptions};
use gridpatrol_core::*;

fn quick() -> SyncOptions {
    SyncOptions {
        max_attempts: 2,
        backoff: Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20) },
        timeout: Duration::from_secs(2),
        ..SyncOptions::default()
    }
}

#[tokio::test]
async fn a_store_that_was_never_enrolled_says_so() {
    let f = fixture();
    assert!(matches!(f.store.sync(&quick(), &NoProgress).await, Err(CoreError::NotEnrolled)));
}

#[tokio::test]
async fn hq_unreachable_keeps_everything_and_tells_the_worker() {
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let f = fixture();
    f.store.record_visit(visit_input("h-0001", VisitType::Routine)).unwrap();
    let db = rusqlite::Connection::open(f.dir.path().join(store::DB_FILE)).unwrap();
    db.execute(
        "UPDATE sync_state SET hq_url = ?1, device_token = 'not-a-real-token' WHERE id = 1",
        [format!("http://127.0.0.1:{port}")],
    )
    .unwrap();
    match f.store.sync(&quick(), &NoProgress).await {
        Err(CoreError::HqUnreachable { reason }) => assert!(!reason.contains("token"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let today = f.store.today().unwrap();
    assert_eq!(today.unsent.records, 1);
    assert!(today.last_sync.last_attempt_at.is_some());
    assert!(today.last_sync.last_success_at.is_none());
    assert!(today.last_sync.message.contains("HQ unreachable"), "{}", today.last_sync.message);
    assert_eq!(f.store.outbox(0, 10).unwrap()[0].state, "pending");
}

#[tokio::test]
async fn enrolment_refuses_a_bad_address_or_code_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let e = Store::enrol(dir.path(), "ftp://hq", "123456", StoreOptions::default()).await.err().unwrap();
    assert!(matches!(e, CoreError::InvalidInput { ref field, .. } if field == "hq_url"), "{e}");
    let e = Store::enrol(dir.path(), "http://127.0.0.1:9", " ", StoreOptions::default()).await.err().unwrap();
    assert!(matches!(e, CoreError::InvalidInput { ref field, .. } if field == "code"), "{e}");
    assert!(!dir.path().join(store::DB_FILE).exists());
}
