//! Input checks shared by every public operation. Each names the field it refuses.

use chrono::{DateTime, Utc};

use crate::{InvalidValue, Result};

/// Required free text: trimmed, non-empty, at most `max` characters, no control characters
/// except newlines and tabs.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(InvalidValue::new(field, "must not be empty"));
    }
    checked(field, v, max)
}

/// Optional free text: empty becomes None.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => checked(field, v, max).map(Some),
    }
}

fn checked(field: &str, v: &str, max: usize) -> Result<String> {
    let n = v.chars().count();
    if n > max {
        return Err(InvalidValue::new(field, format!("is {n} characters; at most {max} allowed")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(InvalidValue::new(field, "contains control characters"));
    }
    Ok(v.to_string())
}

/// An id given by a caller: 1..64 characters of letters, digits, '-', '_' or '.'.
pub fn id(field: &str, value: &str) -> Result<String> {
    check_id(field, value).map(|()| value.to_string())
}

/// `id` without the copy (HQ checks every id of every pushed record).
pub fn check_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 {
        return Err(InvalidValue::new(field, "must be 1..64 characters"));
    }
    if !value.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')) {
        return Err(InvalidValue::new(field, "may contain only letters, digits, '-', '_' and '.'"));
    }
    Ok(())
}

/// A time a person entered (a deadline, a backdated visit): must lie in 2000..2100.
/// Device "now" is never validated: a phone in 1970 still records (docs/SYNC.md, guarantee 7).
pub fn plausible_time(field: &str, t: DateTime<Utc>) -> Result<i64> {
    let ms = t.timestamp_millis();
    const Y2000: i64 = 946_684_800_000;
    const Y2100: i64 = 4_102_444_800_000;
    if !(Y2000..Y2100).contains(&ms) {
        return Err(InvalidValue::new(field, "must be between the years 2000 and 2100"));
    }
    Ok(ms)
}

/// Digits-only code of an exact length (area codes: street 9, community 12, grid 15).
pub fn area_code(field: &str, value: &str, len: usize) -> Result<String> {
    if value.len() != len || !value.chars().all(|c| c.is_ascii_digit()) {
        return Err(InvalidValue::new(field, format!("must be {len} digits")));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert!(required_text("note", "  ", 10).is_err());
        assert!(required_text("note", "abc\u{0}", 10).is_err());
        assert_eq!(required_text("note", " 消防通道 ", 4).unwrap(), "消防通道");
        assert!(required_text("note", "消防通道堵", 4).is_err());
        assert_eq!(optional_text("n", Some(" "), 3).unwrap(), None);
        assert!(id("id", "a b").is_err());
        assert!(area_code("code", "12345678", 9).is_err());
    }
}
