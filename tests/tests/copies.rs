//! Copies of a phone never cost a record (docs/SYNC.md, the fork rule and the identity rule):
//! a store cloned onto a second phone and used beside its original, a victim's device id
//! presented with another worker's code, an old backup restored on a new phone. Every record
//! either copy made reaches HQ exactly once, on SQLite and on PostgreSQL, over real HTTP.

mod common;

use std::collections::BTreeSet;

use common::*;
use gridpatrol_core::CoreError;

both!(
    a_clone_noticed_at_open_takes_its_own_identity,
    a_clone_the_shell_cannot_tell_apart_is_caught_by_the_fork_rule,
    a_clone_enrolled_again_never_takes_over_the_original,
    a_clone_sharing_the_installation_id_and_enrolled_again_loses_nothing,
    another_workers_code_with_a_victims_device_id_leaves_the_victim_alone,
    an_old_backup_restored_on_a_new_phone_loses_and_doubles_nothing,
);

/// HQ holds exactly these visits, each once.
async fn hq_holds_exactly(hq: &Hq, phones: &[&Phone]) {
    let at_hq = hq.ids("visits").await;
    let distinct: BTreeSet<&String> = at_hq.iter().collect();
    assert_eq!(distinct.len(), at_hq.len(), "a visit is at HQ twice: {at_hq:?}");
    let recorded: BTreeSet<String> = phones.iter().flat_map(|p| p.ids("record_visit")).collect();
    let at_hq: BTreeSet<String> = at_hq.into_iter().collect();
    assert_eq!(at_hq, recorded, "HQ's visits are not the union of what the copies recorded");
}

fn all_sent(p: &Phone) {
    let today = p.store.today().unwrap();
    assert_eq!((today.unsent.records, today.unsent.rejected), (0, 0), "{:?}", today.unsent);
}

fn visits(p: &Phone, household: &str, n: usize) {
    for _ in 0..n {
        p.visit(household);
    }
}

async fn a_clone_noticed_at_open_takes_its_own_identity(db: Db) {
    let hq = Hq::start(db).await;
    let original =
        Phone::enrol_installed(&hq.url, &hq.code("w-001").await, NOW_MS, Some("installation-phone-one")).await;
    visits(&original, "h-0001", 3);
    original.sync().await.unwrap();
    // Auto-backup restores the app's files on a second phone, whose own installation id differs.
    let clone = original.copy(Some("installation-phone-two"));
    visits(&clone, "h-0002", 3);
    let r = clone.sync().await.unwrap();
    assert_eq!((r.applied, r.duplicates), (3, 0), "{r:?}");
    assert_ne!(clone.store.device().device_id, original.store.device().device_id);
    assert!(clone.store.today().unwrap().last_sync.notice.is_some(), "the worker is told");
    assert!(original.store.today().unwrap().last_sync.notice.is_none());
    // The original goes on as before: its token, identity and cursor are its own.
    visits(&original, "h-0001", 3);
    let r = original.sync().await.unwrap();
    assert_eq!((r.applied, r.duplicates), (3, 0), "{r:?}");
    visits(&clone, "h-0002", 2);
    clone.sync().await.unwrap();
    hq_holds_exactly(&hq, &[&original, &clone]).await;
    assert_eq!(hq.ids("visits").await.len(), 11);
    all_sent(&original);
    all_sent(&clone);
    hq.stop().await;
}

/// A copy with the very same installation id (or a shell that passes none): the first copy
/// to push keeps the identity; the other is answered `history_forked` when it pushes, takes an
/// identity of its own and sends its unsent work again. In both orders.
async fn a_clone_the_shell_cannot_tell_apart_is_caught_by_the_fork_rule(db: Db) {
    let hq = Hq::start(db).await;
    for clone_first in [true, false] {
        let code = hq.code("w-001").await;
        let original = Phone::enrol_installed(&hq.url, &code, NOW_MS, None).await;
        visits(&original, "h-0001", 2);
        original.sync().await.unwrap();
        let clone = original.copy(None);
        visits(&original, "h-0001", 3);
        visits(&clone, "h-0002", 4);
        let (first, second) = if clone_first { (&clone, &original) } else { (&original, &clone) };
        let r = first.sync().await.unwrap();
        assert_eq!(r.applied, if clone_first { 4 } else { 3 }, "{r:?}");
        let r = second.sync().await.unwrap();
        assert_eq!((r.applied, r.duplicates), (if clone_first { 3 } else { 4 }, 0), "{r:?}");
        assert!(second.store.today().unwrap().last_sync.notice.is_some());
        assert_ne!(first.store.device().device_id, second.store.device().device_id);
        // Both go on recording and syncing, each under its own identity.
        visits(&original, "h-0001", 1);
        visits(&clone, "h-0002", 1);
        original.sync().await.unwrap();
        clone.sync().await.unwrap();
        all_sent(&original);
        all_sent(&clone);
        let visits_here: BTreeSet<String> =
            original.ids("record_visit").into_iter().chain(clone.ids("record_visit")).collect();
        assert_eq!(visits_here.len(), 2 + 3 + 4 + 2);
    }
    let at_hq = hq.ids("visits").await;
    assert_eq!(at_hq.len(), 2 * 11, "every record of both rounds, once");
    assert_eq!(at_hq.iter().collect::<BTreeSet<_>>().len(), at_hq.len());
    hq.stop().await;
}

/// Finding 1 of the issue, as it was reported: S2 is a copy of S1's folder and enrols with a
/// new code for the same worker. S1's token keeps working and nothing of either is lost.
async fn a_clone_enrolled_again_never_takes_over_the_original(db: Db) {
    let hq = Hq::start(db).await;
    let s1 = Phone::enrol_installed(&hq.url, &hq.code("w-001").await, NOW_MS, Some("installation-s1-000000")).await;
    visits(&s1, "h-0001", 3);
    s1.sync().await.unwrap();
    let s2 = s1.copy(Some("installation-s2-000000")).reenrolled(&hq.url, &hq.code("w-001").await).await;
    assert_ne!(s2.store.device().device_id, s1.store.device().device_id, "a new identity, not S1's");
    visits(&s2, "h-0002", 3);
    let r = s2.sync().await.unwrap();
    assert_eq!(r.applied, 3, "{r:?}");
    visits(&s1, "h-0001", 3);
    let r = s1.sync().await.expect("S1's token still works");
    assert_eq!((r.applied, r.duplicates, r.unsent_after), (3, 0, 0), "{r:?}");
    hq_holds_exactly(&hq, &[&s1, &s2]).await;
    assert_eq!(hq.ids("visits").await.len(), 9);
    hq.stop().await;
}

/// The same, when the copy cannot be told from its original by installation id: HQ then sees
/// the same installation re-enrolling and gives it a new epoch, so the original's token dies.
/// The original is told so (401), enrols again, and resends its unsent work: all 11 arrive.
async fn a_clone_sharing_the_installation_id_and_enrolled_again_loses_nothing(db: Db) {
    let hq = Hq::start(db).await;
    let inst = Some("installation-shared-0000");
    let s1 = Phone::enrol_installed(&hq.url, &hq.code("w-001").await, NOW_MS, inst).await;
    visits(&s1, "h-0001", 3);
    s1.sync().await.unwrap();
    let s2 = s1.copy(inst).reenrolled(&hq.url, &hq.code("w-001").await).await;
    visits(&s2, "h-0002", 3);
    s2.sync().await.unwrap();
    visits(&s1, "h-0001", 3);
    let refused = s1.sync().await.unwrap_err();
    assert!(matches!(refused, CoreError::HqRefused { status: 401, .. }), "{refused:?}");
    assert_eq!(s1.store.today().unwrap().unsent.records, 3, "kept, and shown as not sent");
    let s1 = s1.reenrolled(&hq.url, &hq.code("w-001").await).await;
    let r = s1.sync().await.unwrap();
    assert_eq!((r.applied, r.unsent_after), (3, 0), "{r:?}");
    // And S2, whose token S1's enrolment ended in turn, the same way.
    visits(&s2, "h-0002", 2);
    assert!(s2.sync().await.is_err());
    let s2 = s2.reenrolled(&hq.url, &hq.code("w-001").await).await;
    s2.sync().await.unwrap();
    hq_holds_exactly(&hq, &[&s1, &s2]).await;
    assert_eq!(hq.ids("visits").await.len(), 11);
    all_sent(&s1);
    all_sent(&s2);
    hq.stop().await;
}

/// Finding 2: worker B's code presented with worker A's device id. B gets an id of its own;
/// A's token, epoch and cursor are untouched, and A's records are all stored.
async fn another_workers_code_with_a_victims_device_id_leaves_the_victim_alone(db: Db) {
    let hq = Hq::start(db).await;
    let victim = Phone::enrol_installed(&hq.url, &hq.code("w-001").await, NOW_MS, Some("installation-victim-00")).await;
    visits(&victim, "h-0001", 3);
    victim.sync().await.unwrap();
    let device = victim.store.device();
    let thief = Phone::enrol_as(&hq.url, &hq.code("w-003").await, NOW_MS, Some(&device.device_id)).await;
    assert_ne!(thief.store.device().device_id, device.device_id);
    visits(&thief, "h-0003", 3);
    thief.sync().await.unwrap();
    visits(&victim, "h-0001", 3);
    let r = victim.sync().await.expect("the victim's token still works");
    assert_eq!((r.applied, r.duplicates), (3, 0), "{r:?}");
    assert_eq!(victim.store.device(), device, "same identity and epoch");
    hq_holds_exactly(&hq, &[&victim, &thief]).await;
    hq.stop().await;
}

/// A backup taken earlier (older seq, some of it unsent then) restored on a new phone while
/// the original goes on: nothing lost, nothing doubled — noticed at open, and not noticed.
async fn an_old_backup_restored_on_a_new_phone_loses_and_doubles_nothing(db: Db) {
    let hq = Hq::start(db).await;
    for restored_installation in [Some("installation-new-phone-0"), None] {
        let code = hq.code("w-001").await;
        let original =
            Phone::enrol_installed(&hq.url, &code, NOW_MS, restored_installation.map(|_| "installation-old-ph")).await;
        visits(&original, "h-0001", 2);
        original.sync().await.unwrap();
        visits(&original, "h-0001", 2); // unsent when the backup is taken
        let backup = original.copy(None);
        original.sync().await.unwrap();
        visits(&original, "h-0001", 3);
        original.sync().await.unwrap();
        // Restored on a new phone: the two rows unsent at backup time go again (HQ has them).
        let restored = match restored_installation {
            Some(inst) => backup.copy(Some(inst)),
            None => backup.copy(original.installation.as_deref()),
        };
        drop(backup);
        visits(&restored, "h-0002", 2);
        let r = restored.sync().await.unwrap();
        assert_eq!((r.applied, r.duplicates), (2, 2), "{r:?}");
        all_sent(&restored);
        visits(&original, "h-0001", 1);
        original.sync().await.unwrap();
        all_sent(&original);
    }
    let at_hq = hq.ids("visits").await;
    assert_eq!(at_hq.len(), 2 * (2 + 2 + 3 + 2 + 1));
    assert_eq!(at_hq.iter().collect::<BTreeSet<_>>().len(), at_hq.len());
    hq.stop().await;
}
