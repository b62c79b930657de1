//! Screen watches for the apps: one object per screen model with an async `next()` that yields
//! the model now, then each time the core's change events make it differ (`core::ScreenWatch`).
//! Kotlin wraps one in a `Flow`, Swift in an `AsyncThrowingStream`, Python in an async
//! iterator (bindings/README.md shows the one-line adapters). Only FFI plumbing here: which
//! store the folder has now, and one typed object per model (uniffi has no generics).

use std::sync::Arc;

use gridpatrol_core as core;
use gridpatrol_core::screens::{Screen, ScreenModel, ScreenWatch};

use crate::error::GridPatrolError;
use crate::store::Shared;

struct WatchState {
    shared: Arc<Shared>,
    watch: ScreenWatch,
    /// The store `watch` follows (compared by address: a re-enrolment swaps it).
    following: usize,
}

pub(crate) struct Watch(Arc<tokio::sync::Mutex<WatchState>>);

fn address(store: &Arc<core::Store>) -> usize {
    Arc::as_ptr(store) as usize
}

impl Watch {
    pub(crate) fn new(shared: Arc<Shared>, screen: Screen) -> Watch {
        let store = shared.current();
        let watch = ScreenWatch::new(&store, screen);
        Watch(Arc::new(tokio::sync::Mutex::new(WatchState { shared, watch, following: address(&store) })))
    }

    pub(crate) async fn next(&self) -> Result<ScreenModel, GridPatrolError> {
        let state = self.0.clone();
        crate::store::run_on_runtime(async move {
            let mut s = state.lock().await;
            loop {
                let alive = s.watch.changed().await;
                let store = s.shared.current();
                if !alive || address(&store) != s.following {
                    s.following = address(&store);
                    s.watch.follow(&store);
                    if !alive {
                        continue;
                    }
                }
                if let Some(m) = s.watch.render_new(&store)? {
                    return Ok(m);
                }
            }
        })
        .await
    }
}

macro_rules! screen_watch {
    ($(#[$doc:meta])* $name:ident => $variant:ident($model:ty)) => {
        $(#[$doc])*
        #[derive(uniffi::Object)]
        pub struct $name(pub(crate) Watch);

        #[uniffi::export]
        impl $name {
            /// The screen now on the first call; afterwards, the next time it changes. Cancel
            /// the awaiting coroutine / task to stop watching.
            pub async fn next(&self) -> Result<$model, GridPatrolError> {
                match self.0.next().await? {
                    ScreenModel::$variant(m) => Ok(m),
                    _ => Err(GridPatrolError::internal("a watch yielded another screen")),
                }
            }
        }
    };
}

screen_watch!(
    /// Follows the home screen (`today`).
    TodayWatch => Today(core::TodayView)
);
screen_watch!(
    /// Follows one grid's screen.
    GridWatch => Grid(core::GridScreen)
);
screen_watch!(
    /// Follows one patrol.
    PatrolWatch => Patrol(core::PatrolScreen)
);
screen_watch!(
    /// Follows the case inbox.
    CaseInboxWatch => CaseInbox(core::CaseInbox)
);
screen_watch!(
    /// Follows one case.
    CaseWatch => Case(core::CaseTimeline)
);
screen_watch!(
    /// Follows the task inbox: a task HQ sends arrives here after the sync that brought it.
    TaskInboxWatch => TaskInbox(core::TaskInbox)
);
screen_watch!(
    /// Follows one task.
    TaskWatch => Task(core::TaskDetail)
);
screen_watch!(
    /// Follows the sync status screen.
    SyncStatusWatch => SyncStatus(core::SyncStatusScreen)
);
