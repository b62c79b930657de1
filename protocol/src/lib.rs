//! The GridPatrol wire protocol: the vocabulary of the 3456 model (with Chinese and English
//! labels), the records a phone makes, the domain commands an outbox row carries, the case
//! lifecycle both sides enforce, and the hybrid logical clock. Phone and HQ compile against
//! the same types, so they cannot drift apart.

// The apps' bindings (the bindings crate turns the feature on): uniffi's per-crate scaffolding.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("gridpatrol_protocol");

pub mod case_flow;
pub mod config;
pub mod datum;
pub mod domain;
#[cfg(feature = "uniffi")]
pub mod ffi;
pub mod geo;
pub mod hlc;
pub mod records;
pub mod roles;
pub mod rules;
pub mod template;
pub mod validate;

pub type Result<T, E = InvalidValue> = std::result::Result<T, E>;

/// A value that does not fit its field: which field, and why. The core turns it into its
/// `InvalidInput` error, HQ into a 400 with code `invalid_input`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct InvalidValue {
    pub field: String,
    pub reason: String,
}

impl InvalidValue {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidValue { field: field.into(), reason: reason.into() }
    }
}
pub mod wire;
