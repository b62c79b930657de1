//! The street office's endpoints. Every handler authenticates the operator and checks the
//! operator's scope inside the same transaction as the read or write it guards.

pub mod access;
pub mod cases;
pub mod figures;
pub mod org;
pub mod records;
pub mod tasks;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{FixedOffset, TimeZone};
use serde::Serialize;

use crate::error::{ApiError, Result};
pub use crate::model::audit::audit;

/// 201 Created with a JSON body.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// The street office's local time (China Standard Time, no daylight saving).
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// A time as people in the street office read it: `2026-11-27 09:30:00` (UTC+8).
pub fn local_time(ms: i64) -> String {
    cst().timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

/// RFC 3339, or a calendar day `YYYY-MM-DD` meaning its midnight in UTC+8.
pub fn parse_time(field: &str, s: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        if let Some(t) = cst().from_local_datetime(&midnight).single() {
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
        assert_eq!(local_time(0), "1970-01-01 08:00:00");
        assert!(period(Some("2026-01-02"), Some("2026-01-01")).is_err());
    }
}
