//! The one record that exists only for the apps: how a store behaves on this device (the
//! core takes it as `StoreOptions` and `SyncOptions`). Every other type the apps see is the
//! protocol's or the core's own, exported where it is defined (`cfg_attr(feature = "uniffi")`).

/// How a store behaves on this device. Every field has a default: `DeviceSettings()`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DeviceSettings {
    /// Offset of the worker's local time from UTC in minutes, for "today" (China: +480).
    #[uniffi(default = 480)]
    pub tz_offset_minutes: i32,
    /// The platform's stable device id (Android's ANDROID_ID, iOS's identifierForVendor), used
    /// only when enrolling a fresh store, so a reinstalled app keeps its id. None: a new UUID.
    #[uniffi(default = None)]
    pub device_id: Option<String>,
    /// This installation's id: random (16..64 letters, digits, `-`, `_`, `.`), made once by the
    /// app and kept where backups and copies of the app's files do not reach — Android: a file
    /// in `Context.noBackupFilesDir`; iOS: a Keychain item with
    /// `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`. A store opened with another id than
    /// the one it was made with is a copy (a cloned phone, a restored backup) and takes a device
    /// identity of its own at its next sync. None: the store keeps an id of its own (HQ still
    /// catches copies when they push, see docs/SYNC.md).
    #[uniffi(default = None)]
    pub installation_id: Option<String>,
    /// Timeout of one HTTP request to HQ, in milliseconds.
    #[uniffi(default = 30000)]
    pub sync_timeout_ms: u32,
    /// Tries per request before a sync gives up (the records stay queued).
    #[uniffi(default = 4)]
    pub sync_max_attempts: u32,
    /// The language screens are labelled in (`set_language` changes it later). None: both,
    /// "中文 (English)".
    #[uniffi(default = None)]
    pub language: Option<gridpatrol_core::Lang>,
    /// How photos are stored at capture: longest side, JPEG quality, thumbnail size. None: 1600
    /// px, quality 80, 320 px thumbnails. Checked when the store opens (`InvalidInput`).
    #[uniffi(default = None)]
    pub photos: Option<gridpatrol_core::photo::PhotoOptions>,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            tz_offset_minutes: 480,
            device_id: None,
            installation_id: None,
            sync_timeout_ms: 30_000,
            sync_max_attempts: 4,
            language: None,
            photos: None,
        }
    }
}
