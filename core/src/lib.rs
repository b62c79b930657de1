//! GridPatrol core: records a grid worker's 3456 field work (巡查三到, 居民四访, 情况五报,
//! 问题六清) durably in local SQLite, with a transactional outbox for sync to HQ, and owns
//! the view state the phone shells render.

// The vocabulary, records and commands are the wire protocol's, shared with HQ.
pub use gridpatrol_protocol::{case_flow, config, datum, domain, geo, hlc, records, roles, template, validate};

// The apps' bindings (the bindings crate turns the feature on): uniffi's per-crate scaffolding.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("gridpatrol_core");
#[cfg(feature = "uniffi")]
mod ffi;

pub mod attachments;
pub mod clock;
pub mod error;
pub mod inputs;
pub mod key;
pub mod outbox;
pub mod photo;
mod recording;
mod rows;
pub mod schema;
pub mod screens;
pub mod store;
pub mod sync;
pub mod wipe;

pub use case_flow::ClearItems;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::GridConfig;
pub use domain::*;
pub use error::{CoreError, Result};
pub use inputs::*;
pub use key::StoreKey;
pub use outbox::OutboxEntry;
pub use records::*;
pub use screens::*;
pub use store::{DeviceInfo, Durability, Store, StoreOptions};
pub use template::Template;

/// A new record id: UUIDv7 (time-ordered for index locality; identity only, never ordering).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
