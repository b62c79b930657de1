//! GridPatrol's core for app developers: Kotlin (Android), Swift (iOS) and Python, generated
//! by uniffi from these proc-macros. Everything here is a thin wrapper that forwards to
//! `gridpatrol-core` — no domain logic and no copies of types: the records and enums the apps see are the
//! protocol's and the core's own (exported where defined, under their `uniffi` feature). Here:
//! the device settings (`settings`), the public error (`error`), and the `GridPatrolStore`
//! object with the app's listeners (`store`). `cargo xtask bindings` builds the library and generates the sources;
//! `cargo xtask test-bindings` runs the Kotlin, Swift and Python suites against a live HQ.
//! See bindings/README.md.

uniffi::setup_scaffolding!();

pub mod error;
pub mod settings;
pub mod store;
pub mod watch;

pub use error::GridPatrolError;
pub use settings::DeviceSettings;
pub use store::{
    DataChange, DataChangedListener, GridPatrolStore, RecordKind, SyncProgressListener, SyncReason, SyncScheduler,
};

/// The version of the GridPatrol core these bindings wrap.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
