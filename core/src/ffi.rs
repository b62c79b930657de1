//! What the apps' bindings need from this crate when the `uniffi` feature is on (the bindings
//! crate turns it on; the scaffolding is set up in lib.rs): the protocol's time type, and the
//! two values that cross as text — a calendar date as "YYYY-MM-DD", a photo path as a string.
//! The records and enums carry `cfg_attr(feature = "uniffi", derive(..))` where defined.

use std::path::PathBuf;

use chrono::NaiveDate;
use gridpatrol_protocol::ffi::UtcTime;

uniffi::use_remote_type!(gridpatrol_protocol::UtcTime);

uniffi::custom_type!(NaiveDate, String, {
    remote,
    lower: |d| d.format("%Y-%m-%d").to_string(),
    try_lift: |s| NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|e| uniffi::deps::anyhow::anyhow!("not a YYYY-MM-DD date: {e}")),
});

uniffi::custom_type!(PathBuf, String, {
    remote,
    lower: |p| p.to_string_lossy().into_owned(),
    try_lift: |s| Ok(PathBuf::from(s)),
});
