//! The order of each phone's pushes in this HQ instance (`PushOrder`): shared state of the
//! server, used by the push handler.

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth;

/// The order of a phone's pushes, in this HQ instance. A phone may send its next push before
/// the answer to the previous one has come back (`SyncOptions::in_flight`); the two then race
/// to HQ on separate connections. Such a push names the last seq of the one before it
/// (`wire::FOLLOWS_HEADER`) and waits (at most `PUSH_ORDER_WAIT`) until this instance has
/// handed that one to the database, so that the database sees them in sequence order; a push
/// without the header never waits. This is only about speed: the database's cursor
/// check stays the rule (a push still out of order after the wait gets the usual `seq_gap`,
/// and the phone resends from HQ's cursor), and nothing here is trusted for exactly-once.
/// Keyed by the bearer token's hash, so only the phone itself can affect its own order.
/// A device's slot lives while it is in use or was used in the last `SLOT_IDLE`; slots are
/// pruned when there are more than `SLOTS_BEFORE_PRUNING` (one per device token ever seen
/// would otherwise pile up for as long as HQ runs).
#[derive(Default)]
pub struct PushOrder {
    slots: std::sync::Mutex<HashMap<String, (Arc<PushSlot>, std::time::Instant)>>,
}

const SLOT_IDLE: std::time::Duration = std::time::Duration::from_secs(60);
const SLOTS_BEFORE_PRUNING: usize = 1024;

pub const PUSH_ORDER_WAIT: std::time::Duration = std::time::Duration::from_millis(1000);

#[derive(Default)]
pub struct PushSlot {
    /// The first seq after every push handed to the database (0: none seen yet).
    pub(crate) next: std::sync::Mutex<i64>,
    pub(crate) turn: tokio::sync::Notify,
}

impl PushOrder {
    pub(crate) fn slot(&self, token: &str) -> Arc<PushSlot> {
        let key = auth::sha256_hex(token);
        let now = std::time::Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= SLOTS_BEFORE_PRUNING && !slots.contains_key(&key) {
            slots.retain(|_, (slot, used)| Arc::strong_count(slot) > 1 || now.duration_since(*used) < SLOT_IDLE);
        }
        let (slot, used) = slots.entry(key).or_insert_with(|| (Arc::default(), now));
        *used = now;
        slot.clone()
    }

    /// Slots held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl PushSlot {
    /// Until the pushes before `first` are in the database's hands (or the wait is over).
    pub(crate) async fn wait_turn(&self, first: i64) {
        let deadline = tokio::time::Instant::now() + PUSH_ORDER_WAIT;
        loop {
            let notified = self.turn.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next = *self.next.lock().unwrap_or_else(|p| p.into_inner());
            if next >= first {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    pub(crate) fn advance(&self, next: i64) {
        let mut n = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *n = (*n).max(next);
        drop(n);
        self.turn.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots of devices gone quiet are dropped once there are many; one in use never is.
    #[test]
    fn idle_slots_are_pruned_and_busy_ones_kept() {
        let order = PushOrder::default();
        let busy = order.slot("gpd_busy");
        for i in 0..SLOTS_BEFORE_PRUNING + 10 {
            order.slot(&format!("gpd_{i}"));
        }
        assert_eq!(order.len(), SLOTS_BEFORE_PRUNING + 11, "recently used slots stay");
        // Make every slot but the busy one look idle for longer than SLOT_IDLE.
        let long_ago = std::time::Instant::now() - SLOT_IDLE - std::time::Duration::from_secs(1);
        for (_, used) in order.slots.lock().unwrap().values_mut() {
            *used = long_ago;
        }
        order.slot("gpd_new");
        assert_eq!(order.len(), 2, "the busy slot and the new one");
        assert!(Arc::ptr_eq(&busy, &order.slot("gpd_busy")));
    }
}
