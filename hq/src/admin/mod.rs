//! The street office's endpoints. Every handler authenticates the operator and checks the
//! operator's scope inside the same transaction as the read or write it guards.

pub mod access;
pub mod cases;
pub mod figures;
pub mod meetings;
pub mod org;
pub mod org_rows;
pub mod records;
pub mod rollups;
pub mod tasks;
pub mod teams;
pub mod units;
pub mod wipe;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::OnceLock;

use chrono::{SecondsFormat, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use crate::error::{ApiError, Result};
pub use crate::model::audit::audit;

/// How a row of people or places is saved: the API's create (an existing id is a conflict),
/// its update (a missing id is not found), or the console import's create-or-update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Save {
    Create,
    Update,
    Upsert,
}

impl Save {
    /// Whether the row is an update, given whether its id exists; asked after authorisation so
    /// that a refusal does not tell whether an id exists.
    pub fn resolve(self, exists: bool, what: &str) -> Result<bool> {
        match (self, exists) {
            (Save::Create, true) => Err(ApiError::conflict(format!("a {what} with this id already exists"))),
            (Save::Update, false) => Err(ApiError::not_found(what)),
            (_, exists) => Ok(exists),
        }
    }
}

/// 201 Created with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// The street's time zone (`HqConfig::time_zone`), one per HQ process.
static STREET_TZ: OnceLock<Tz> = OnceLock::new();

/// Set the street's time zone at start-up; the first setting in a process holds.
pub fn set_street_time_zone(tz: Tz) {
    let _ = STREET_TZ.set(tz);
}

/// The street's time zone: days and periods are its local days. Default Asia/Shanghai.
pub fn street_tz() -> Tz {
    STREET_TZ.get().copied().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// A time as the API, the exports and the console give it: RFC 3339 in the street's local
/// time with its offset, `2026-11-27T09:30:00+08:00` — unambiguous on any server's clock.
pub fn local_time(ms: i64) -> String {
    local_time_in(street_tz(), ms)
}

fn local_time_in(tz: Tz, ms: i64) -> String {
    tz.timestamp_millis_opt(ms).single().map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false)).unwrap_or_default()
}

/// RFC 3339, or a calendar day `YYYY-MM-DD` meaning its midnight in the street's time zone.
pub fn parse_time(field: &str, s: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        if let Some(t) = street_tz().from_local_datetime(&midnight).earliest() {
            return Ok(t.timestamp_millis());
        }
    }
    Err(ApiError::invalid(field, "expected an RFC 3339 time or a date YYYY-MM-DD"))
}

/// An optional `[from, to)` period from the query string.
pub fn period(from: Option<&str>, to: Option<&str>) -> Result<(i64, i64)> {
    let from = from.map(|s| parse_time("from", s)).transpose()?.unwrap_or(0);
    let to = to.map(|s| parse_time("to", s)).transpose()?.unwrap_or(i64::MAX);
    if from >= to {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_china_midnight() {
        assert_eq!(parse_time("from", "2026-01-01").unwrap(), parse_time("from", "2025-12-31T16:00:00Z").unwrap());
        assert!(parse_time("from", "yesterday").is_err());
        assert_eq!(local_time(0), "1970-01-01T08:00:00+08:00");
        // Another street, another zone, daylight saving included.
        let summer = parse_time("t", "2026-07-01T12:00:00Z").unwrap();
        assert_eq!(local_time_in(chrono_tz::Europe::Berlin, summer), "2026-07-01T14:00:00+02:00");
        assert_eq!(local_time_in(chrono_tz::Europe::Berlin, 0), "1970-01-01T01:00:00+01:00");
        assert!(period(Some("2026-01-02"), Some("2026-01-01")).is_err());
    }
}
