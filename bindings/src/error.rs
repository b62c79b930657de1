//! The public error that crosses the FFI (application-services' `ApiError` idea): typed
//! variants whose fields the apps read (`e.field`, `e.reason`, …), mapped from the core's
//! `CoreError` in exactly one place. Messages never carry personal data: the core already
//! names fields and ids, never the values a person typed; storage and file errors are
//! reduced to their kind.
//!
//! Kotlin: `GridPatrolException.InvalidInput` (a sealed class), Swift: `GridPatrolError.invalidInput(field:reason:)`,
//! Python: `GridPatrolError.InvalidInput` (an exception class).

use gridpatrol_core::CoreError;

use gridpatrol_core::{CaseState, ClearItem, TaskStatus};

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GridPatrolError {
    /// A value that cannot be recorded. `field` names the input field, e.g. "location.lat".
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    /// An id that does not exist in this store (or is not visible to this worker).
    #[error("{entity} not found: {id}")]
    NotFound { entity: String, id: String },

    /// A case step the lifecycle does not allow from the case's current state.
    #[error("case cannot go from {from:?} to {to:?}")]
    IllegalTransition { from: CaseState, to: CaseState },

    /// Closing a case needs all six "clear" items (问题六清); these are still missing.
    #[error("case cannot close: {} clear items missing", missing.len())]
    ClearItemsMissing { missing: Vec<ClearItem> },

    /// This worker's role may not take the step (the role table: a volunteer closing a case,
    /// a worker writing the ledger). `field` names the input at fault.
    #[error("not for this role: {reason}")]
    RoleNotAllowed { field: String, reason: String },

    /// A task action its current status does not allow.
    #[error("task is {status:?}; cannot {action}")]
    IllegalTaskAction { status: TaskStatus, action: String },

    /// The patrol is already finished, or another one is still in progress.
    #[error("patrol {patrol_id}: {reason}")]
    PatrolState { patrol_id: String, reason: String },

    /// The folder holds no store yet: enrol first.
    #[error("no store in this folder; enrol first")]
    NotInitialised,

    /// Enrolling as another worker while this phone still holds unsent records.
    #[error("{unsent} unsent records of another worker; sync them first")]
    UnsentWork { unsent: u64 },

    /// The store is encrypted and the key provider gave no key for it.
    #[error("the store is encrypted; its key is needed")]
    StoreKeyMissing,

    /// The key provider's key does not open this store (the platform lost or replaced the key,
    /// or the file is damaged). Nothing was changed: the store is still there, unreadable
    /// without its key; do not delete it unless HQ has everything (see `sync_status`).
    #[error("the key does not open this store")]
    StoreKeyWrong,

    /// The app's `KeyProvider` could not give the key (Keystore/Keychain locked or failed).
    #[error("the store key is unavailable: {reason}")]
    KeyUnavailable { reason: String },

    /// The database was written by a newer app version.
    #[error("database schema {found} is newer than this app supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },

    /// HQ could not be reached (no network, DNS, timeout, refused). Nothing is lost: the
    /// records stay queued; sync again when the network is back.
    #[error("HQ is unreachable: {reason}")]
    HqUnreachable { reason: String },

    /// The enrolment code was wrong, expired or already used.
    #[error("the enrolment code was not accepted")]
    EnrolmentCodeInvalid,

    /// HQ revoked this device (lost phone): enrol it again.
    #[error("this device was revoked by HQ")]
    DeviceRevoked,

    /// HQ ordered this phone wiped (lost or handed back): its store and photos were erased and
    /// every operation ends here from now on. Reinstall the app (or clear its data) to use the
    /// phone again. `GridPatrolStore::wipe_status` says whether HQ has been told.
    #[error("this phone was wiped on the street office's order")]
    DeviceWiped,

    /// Sync on a store that was never enrolled with HQ.
    #[error("this store is not enrolled with HQ")]
    NotEnrolled,

    /// HQ asked the phone to slow down; sync again after this many seconds.
    #[error("HQ is busy; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },

    /// HQ answered with an error this app version does not expect (`code` is HQ's stable code).
    /// (Not `message`: that name clashes with Kotlin's `Throwable.message`.)
    #[error("HQ refused the request ({status} {code}): {detail}")]
    HqRefused { status: u16, code: String, detail: String },

    /// A photo that cannot be stored. `field` names the input (`"photos[1]"`); `kind` is stable:
    /// "not_a_photo", "truncated", "malformed", "unsupported_format" (HEIC/HEIF/AVIF: hand
    /// over JPEG), "too_many_pixels" (over 100 megapixels).
    #[error("invalid {field}: {reason}")]
    PhotoRefused { field: String, kind: String, reason: String },

    /// Storage, file or internal failure. `kind` is stable ("storage", "io", "corrupt",
    /// "internal"), `reason` is for logs; neither carries personal data.
    #[error("{kind} error: {reason}")]
    Internal { kind: String, reason: String },
}

impl GridPatrolError {
    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        GridPatrolError::Internal { kind: "internal".into(), reason: reason.into() }
    }
}

/// The one mapping from the core's error to the public one.
impl From<CoreError> for GridPatrolError {
    fn from(e: CoreError) -> Self {
        use GridPatrolError as E;
        match e {
            CoreError::InvalidInput { field, reason } => E::InvalidInput { field, reason },
            CoreError::NotFound { entity, id } => E::NotFound { entity: entity.to_string(), id },
            CoreError::IllegalTransition { from, to } => E::IllegalTransition { from, to },
            CoreError::RoleNotAllowed { field, reason } => E::RoleNotAllowed { field, reason },
            CoreError::ClearItemsMissing { missing } => E::ClearItemsMissing { missing },
            CoreError::IllegalTaskAction { status, action } => E::IllegalTaskAction { status, action },
            CoreError::PatrolState { id, reason } => E::PatrolState { patrol_id: id, reason },
            CoreError::NotInitialised => E::NotInitialised,
            CoreError::UnsentWork { unsent } => E::UnsentWork { unsent },
            CoreError::SchemaTooNew { found, supported } => E::SchemaTooNew { found, supported },
            CoreError::StoreKeyMissing => E::StoreKeyMissing,
            CoreError::StoreKeyWrong => E::StoreKeyWrong,
            CoreError::HqUnreachable { reason } => E::HqUnreachable { reason },
            CoreError::EnrolmentCodeInvalid => E::EnrolmentCodeInvalid,
            CoreError::DeviceRevoked => E::DeviceRevoked,
            CoreError::DeviceWiped => E::DeviceWiped,
            CoreError::NotEnrolled => E::NotEnrolled,
            CoreError::RateLimited { retry_after_s } => E::RateLimited { retry_after_s },
            CoreError::HqRefused { status, code, message } => E::HqRefused { status, code, detail: message },
            CoreError::PhotoRefused { field, error } => {
                E::PhotoRefused { field, kind: error.code().into(), reason: error.to_string() }
            }
            // SQLite's and the OS's messages name no values; the file path is not in io::Error's text.
            CoreError::Storage(e) => E::Internal { kind: "storage".into(), reason: e.to_string() },
            CoreError::Io(e) => E::Internal { kind: "io".into(), reason: e.kind().to_string() },
            CoreError::Corrupt(reason) => E::Internal { kind: "corrupt".into(), reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridpatrol_core::domain;

    #[test]
    fn fields_survive_the_mapping() {
        match GridPatrolError::from(CoreError::invalid("location.lat", "latitude must be between -90 and 90")) {
            GridPatrolError::InvalidInput { field, .. } => assert_eq!(field, "location.lat"),
            other => panic!("{other:?}"),
        }
        match GridPatrolError::from(CoreError::ClearItemsMissing { missing: vec![domain::ClearItem::Ledger] }) {
            GridPatrolError::ClearItemsMissing { missing } => assert_eq!(missing, vec![ClearItem::Ledger]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(GridPatrolError::from(CoreError::DeviceWiped), GridPatrolError::DeviceWiped));
        let io = CoreError::Io(std::io::Error::new(std::io::ErrorKind::NotFound, "/secret/path/张三.jpg"));
        let text = GridPatrolError::from(io).to_string();
        assert!(!text.contains("张三") && !text.contains("/secret"), "{text}");
    }
}
