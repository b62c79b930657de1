//! HQ restored from an older backup loses nothing for good (docs/SYNC.md, guarantee 9): phones
//! record and sync, HQ is backed up while it serves, phones record and sync more (photos too),
//! HQ is restored from the older backup, every phone syncs again: HQ holds every record and
//! every photo, each record once. SQLite (PostgreSQL's backups are pg_dump's).

mod common;

use std::collections::BTreeSet;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_restored_from_an_older_backup_gets_everything_back_once() {
    let mut hq = Hq::start(Db::Sqlite).await;
    let phones = [
        Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await,
        Phone::enrol(&hq.url, &hq.code("w-003").await, NOW_MS).await,
    ];
    for (p, household) in phones.iter().zip(["h-0001", "h-0003"]) {
        for _ in 0..3 {
            p.visit(household);
        }
        p.report(vec![p.photo(1)]);
        p.sync().await.unwrap();
    }
    // A backup taken while HQ serves (the command `gridpatrol hq backup` runs this).
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("hq-backup.db");
    let Place::Sqlite(data) = &hq.place else { unreachable!() };
    gridpatrol_hq::backup::backup(&gridpatrol_hq::DatabaseUrl::Sqlite(data.path().to_path_buf()), &backup)
        .expect("backup while serving");
    // More work reaches HQ after the backup: it is what the restore loses.
    for (p, household) in phones.iter().zip(["h-0001", "h-0003"]) {
        for _ in 0..4 {
            p.visit(household);
        }
        p.report(vec![p.photo(2)]);
        let r = p.sync().await.unwrap();
        assert_eq!((r.applied, r.photos_uploaded), (5, 1), "{r:?}");
    }
    let all_visits: BTreeSet<String> = phones.iter().flat_map(|p| p.ids("record_visit")).collect();
    assert_eq!(hq.ids("visits").await.len(), 14);

    hq.restore(&backup).await;
    assert_eq!(hq.ids("visits").await.len(), 6, "the restore took HQ back");
    for p in &phones {
        let r = p.sync().await.expect("sync after the restore");
        assert_eq!(r.applied, 5, "what HQ lost is sent again: {r:?}");
        assert_eq!(r.photos_uploaded, 2, "photos are asked about again, the lost one sent: {r:?}");
        assert_eq!(p.store.today().unwrap().unsent.records, 0);
    }
    let at_hq = hq.ids("visits").await;
    assert_eq!(at_hq.iter().cloned().collect::<BTreeSet<_>>(), all_visits);
    assert_eq!(at_hq.len(), all_visits.len(), "each visit once");
    assert_eq!(hq.ids("reports").await.len(), 4);
    // Every photo the reports name is at HQ again, whole.
    let photos = [1u8, 2].map(|v| sha256_hex(&tiny_jpeg(v)));
    let phone_photo = phones[0].dir.path().join("photo-2.jpg");
    assert!(phone_photo.exists());
    for sha in photos {
        let resp =
            hq.client.get(format!("{}/v1/admin/attachments/{sha}", hq.url)).bearer_auth(ADMIN).send().await.unwrap();
        assert!(resp.status().is_success(), "photo {sha}: {}", resp.status());
    }
    hq.stop().await;
}

/// A restore older than the phone's outbox retention: HQ lost rows the phone no longer holds.
/// The phone does not loop on `seq_gap`: it takes an identity of its own and sends what it kept
/// (HQ recognising what it has), and says nothing is unsent. Only the rows past the retention
/// stay lost, as the retention says they may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_older_than_the_retention_sends_what_the_phone_kept() {
    use gridpatrol_core::sync::NoProgress;
    let mut hq = Hq::start(Db::Sqlite).await;
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let keep_nothing = gridpatrol_core::sync::SyncOptions { outbox_retention: std::time::Duration::ZERO, ..quick() };
    let visits: Vec<String> = (0..3).map(|_| phone.visit("h-0001").id).collect();
    // Each sync happens a second after the records it sends: they are then past a zero retention.
    phone.clock.set(NOW_MS + 1_000);
    phone.store.sync(&keep_nothing, &NoProgress).await.unwrap();
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("hq-backup.db");
    let Place::Sqlite(data) = &hq.place else { unreachable!() };
    gridpatrol_hq::backup::backup(&gridpatrol_hq::DatabaseUrl::Sqlite(data.path().to_path_buf()), &backup).unwrap();
    let lost = phone.visit("h-0001").id; // seq 4: pruned after this sync
    let kept = phone.visit("h-0001").id; // seq 5: the newest, always kept
    phone.clock.set(NOW_MS + 2_000);
    phone.store.sync(&keep_nothing, &NoProgress).await.unwrap();
    assert_eq!(phone.store.outbox(0, 100).unwrap().len(), 1, "only the newest row is kept");

    hq.restore(&backup).await;
    let after = phone.visit("h-0001").id;
    let r = phone.store.sync(&keep_nothing, &NoProgress).await.expect("no loop on seq_gap");
    assert_eq!((r.applied, r.unsent_after), (2, 0), "{r:?}");
    let at_hq: BTreeSet<String> = hq.ids("visits").await.into_iter().collect();
    let expected: BTreeSet<String> = visits.into_iter().chain([kept, after]).collect();
    assert_eq!(at_hq, expected);
    assert!(!at_hq.contains(&lost), "past the retention, as configured");
    hq.stop().await;
}

/// A phone enrolled after the backup: the restored HQ does not know it at all. Its token is
/// refused, it enrols again with a new code, and its next sync sends every row its outbox
/// holds — HQ applies what the restore took and recognises the rest: each record once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_enrolled_after_the_backup_enrols_again_and_loses_nothing() {
    let mut hq = Hq::start(Db::Sqlite).await;
    let old = Phone::enrol(&hq.url, &hq.code("w-003").await, NOW_MS).await;
    old.visit("h-0001");
    old.sync().await.unwrap();
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("hq-backup.db");
    let Place::Sqlite(data) = &hq.place else { unreachable!() };
    gridpatrol_hq::backup::backup(&gridpatrol_hq::DatabaseUrl::Sqlite(data.path().to_path_buf()), &backup).unwrap();
    // Enrolled after the backup: its identity, its visits and its photo are only in what is lost.
    let phone = Phone::enrol(&hq.url, &hq.code("w-001").await, NOW_MS).await;
    let visits: BTreeSet<String> = (0..3).map(|_| phone.visit("h-0001").id).collect();
    phone.report(vec![phone.photo(3)]);
    let r = phone.sync().await.unwrap();
    assert_eq!((r.applied, r.photos_uploaded), (4, 1), "{r:?}");

    hq.restore(&backup).await;
    assert!(phone.sync().await.is_err(), "the restored HQ does not know this phone's token");
    let phone = phone.reenrolled(&hq.url, &hq.code("w-001").await).await;
    assert_eq!(phone.store.today().unwrap().unsent.records, 4, "until this HQ confirms them, they are unsent");
    let r = phone.sync().await.expect("sync after enrolling again");
    assert_eq!((r.pushed, r.applied, r.photos_uploaded), (4, 4, 1), "{r:?}");
    let at_hq: Vec<String> = hq.ids("visits").await;
    for v in &visits {
        assert_eq!(at_hq.iter().filter(|x| *x == v).count(), 1, "visit {v} once");
    }
    assert_eq!(hq.ids("reports").await.len(), 1);
    // A second sync sends nothing again.
    let r = phone.sync().await.unwrap();
    assert_eq!(r.pushed, 0, "{r:?}");
    hq.stop().await;
}
