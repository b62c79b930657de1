//! The core's one error type. Every public operation returns it; messages name the field and the
//! reason but never echo personal data (names, phone numbers, free text) back into logs.

use crate::domain::{CaseState, ClearItem, TaskStatus};

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The caller gave a value that cannot be recorded. `field` names the input field.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    /// An id that does not exist in this store (or is not visible to this worker).
    #[error("{entity} not found: {id}")]
    NotFound { entity: &'static str, id: String },

    /// A case step that the lifecycle does not allow from the case's current state.
    #[error("case cannot go from {from} to {to}")]
    IllegalTransition { from: CaseState, to: CaseState },

    /// Closing a case needs all six "clear" items (问题六清); these are still missing.
    #[error("case cannot close: missing {}", missing.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", "))]
    ClearItemsMissing { missing: Vec<ClearItem> },

    /// The role table (`protocol/src/roles.rs`) gives this step to another role: a volunteer
    /// closing a case, a worker writing the ledger. `field` names the input at fault.
    #[error("not for this role: {reason}")]
    RoleNotAllowed { field: String, reason: String },

    /// A task action that its current status does not allow.
    #[error("task is {status}; cannot {action}")]
    IllegalTaskAction { status: TaskStatus, action: String },

    /// The patrol is already finished (or another one is still in progress).
    #[error("patrol {id}: {reason}")]
    PatrolState { id: String, reason: String },

    /// The store folder has no initialised store yet.
    #[error("store is not initialised; run device init first")]
    NotInitialised,

    /// Re-initialising would switch the worker while records are still unsent.
    #[error("store holds {unsent} unsent records of another worker; sync them first")]
    UnsentWork { unsent: u64 },

    /// The store is encrypted and no key was given (`StoreOptions::key`).
    #[error("the store is encrypted; open it with its key")]
    StoreKeyMissing,

    /// The key given does not open this store (another installation's key, a key the platform
    /// lost or replaced) — or the file is damaged. Nothing was changed or created.
    #[error("the key does not open this store (wrong key, or a damaged file)")]
    StoreKeyWrong,

    /// The database was written by a newer app version.
    #[error("database schema version {found} is newer than this app supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },

    /// HQ could not be reached (no network, DNS, timeout, connection refused). Nothing is lost:
    /// the records stay queued.
    #[error("HQ is unreachable: {reason}")]
    HqUnreachable { reason: String },

    /// The enrolment code was wrong, expired or already used.
    #[error("the enrolment code was not accepted (wrong, expired or already used)")]
    EnrolmentCodeInvalid,

    /// HQ revoked this device (lost phone): it must be enrolled again.
    #[error("this device was revoked by HQ; enrol it again")]
    DeviceRevoked,

    /// HQ ordered this phone wiped (lost or handed back): its store and photos were erased and
    /// nothing more can be done with it. Reinstall the app (or clear its data) to use the phone
    /// again.
    #[error("this phone was wiped on the street office's order; nothing is stored on it any more")]
    DeviceWiped,

    /// Sync was asked for on a store that was never enrolled with HQ.
    #[error("this store is not enrolled with HQ")]
    NotEnrolled,

    /// HQ asked us to slow down; sync again after this many seconds.
    #[error("HQ is busy; try again in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },

    /// HQ answered with an error this app did not expect (`code` is HQ's stable code).
    #[error("HQ refused the request ({status} {code}): {message}")]
    HqRefused { status: u16, code: String, message: String },

    /// A photo that cannot be stored: not a JPEG or PNG, cut short, undecodable, HEIC (hand
    /// over JPEG), or more than 100 megapixels. `field` names the input, e.g. `"photos[1]"`.
    #[error("invalid {field}: {error}")]
    PhotoRefused { field: String, error: crate::photo::PhotoError },

    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),

    #[error("file error: {0}")]
    Io(#[from] std::io::Error),

    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl CoreError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::InvalidInput { field: field.into(), reason: reason.into() }
    }
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        CoreError::NotFound { entity, id: id.into() }
    }
    /// A stable machine-readable code, for `--json` output and (later) the FFI and wire.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::InvalidInput { .. } => "invalid_input",
            CoreError::NotFound { .. } => "not_found",
            CoreError::IllegalTransition { .. } => "illegal_transition",
            CoreError::ClearItemsMissing { .. } => "clear_items_missing",
            CoreError::RoleNotAllowed { .. } => "role_not_allowed",
            CoreError::IllegalTaskAction { .. } => "illegal_task_action",
            CoreError::PatrolState { .. } => "patrol_state",
            CoreError::NotInitialised => "not_initialised",
            CoreError::UnsentWork { .. } => "unsent_work",
            CoreError::StoreKeyMissing => "store_key_missing",
            CoreError::StoreKeyWrong => "store_key_wrong",
            CoreError::SchemaTooNew { .. } => "schema_too_new",
            CoreError::HqUnreachable { .. } => "hq_unreachable",
            CoreError::EnrolmentCodeInvalid => "enrolment_code_invalid",
            CoreError::DeviceRevoked => "device_revoked",
            CoreError::DeviceWiped => "device_wiped",
            CoreError::NotEnrolled => "not_enrolled",
            CoreError::RateLimited { .. } => "rate_limited",
            CoreError::HqRefused { .. } => "hq_refused",
            CoreError::PhotoRefused { .. } => "photo_refused",
            CoreError::Storage(_) => "storage",
            CoreError::Io(_) => "io",
            CoreError::Corrupt(_) => "corrupt",
        }
    }
}

impl From<gridpatrol_protocol::InvalidValue> for CoreError {
    fn from(e: gridpatrol_protocol::InvalidValue) -> Self {
        CoreError::InvalidInput { field: e.field, reason: e.reason }
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::Corrupt(format!("json: {e}"))
    }
}
