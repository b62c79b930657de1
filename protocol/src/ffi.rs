//! What the apps' bindings need from this crate when the `uniffi` feature is on (the
//! scaffolding itself is set up in lib.rs, where uniffi needs it): how a time crosses the FFI (as the platform's instant: Kotlin
//! `java.time.Instant`, Swift `Date`, Python `datetime`). The records and enums themselves
//! carry `cfg_attr(feature = "uniffi", derive(..))` where they are defined.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// A platform instant to a UTC time; one chrono cannot hold is refused, never a panic.
pub fn utc_from_system(t: SystemTime) -> Result<DateTime<Utc>, String> {
    let out_of_range = || "time out of range".to_string();
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).map_err(|_| out_of_range())?, d.subsec_nanos()),
        Err(before) => {
            let d: Duration = before.duration();
            let secs = i64::try_from(d.as_secs()).map_err(|_| out_of_range())?;
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - n),
            }
        }
    };
    DateTime::<Utc>::from_timestamp(secs, nanos).ok_or_else(out_of_range)
}

/// uniffi names a custom type by one identifier, so the time gets one.
pub type UtcTime = DateTime<Utc>;

uniffi::custom_type!(UtcTime, SystemTime, {
    remote,
    lower: |t| SystemTime::from(t),
    try_lift: |t| utc_from_system(t).map_err(uniffi::deps::anyhow::Error::msg),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_cross_both_ways_and_out_of_range_is_an_error() {
        for s in ["1970-01-01T00:00:00Z", "1969-12-31T23:59:59.250Z", "2026-11-30T09:00:00.123456789Z"] {
            let t: DateTime<Utc> = s.parse().unwrap();
            assert_eq!(utc_from_system(SystemTime::from(t)).unwrap(), t, "{s}");
        }
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert!(utc_from_system(far).is_err());
    }
}
