//! Turning command-line strings into core inputs. Only parsing happens here: ranges, lengths
//! and every domain rule are checked by the core, so the CLI cannot drift from the phones.
//! Field names follow the core's (e.g. `location.lat`) so an error names one field either way.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use gridpatrol_core::{Answer, ChecklistAnswer, CoreError, Datum, GeoPoint, Result};

/// A number; what it may be (1..5, -90..90…) is the core's call.
pub fn number<T: FromStr>(field: &str, raw: &str) -> Result<T> {
    raw.trim().parse().map_err(|_| CoreError::invalid(field, "is not a valid number"))
}

/// A position from `--lat`/`--lng`; `field` is the core's name for it (`location`, `points[0]`).
pub fn location(field: &str, lat: &str, lng: &str) -> Result<GeoPoint> {
    Ok(GeoPoint { lat: number(&format!("{field}.lat"), lat)?, lng: number(&format!("{field}.lng"), lng)? })
}

/// `--datum`: the coordinate system a position is given in (None: WGS-84).
pub fn datum(d: Option<&str>) -> Result<Option<Datum>> {
    Ok(d.map(|d| Datum::parse("datum", d)).transpose()?)
}

/// An optional position: both `--lat` and `--lng`, or neither.
pub fn optional_location(lat: Option<&str>, lng: Option<&str>) -> Result<Option<GeoPoint>> {
    match (lat, lng) {
        (Some(lat), Some(lng)) => location("location", lat, lng).map(Some),
        (None, None) => Ok(None),
        _ => Err(CoreError::invalid("location", "give both --lat and --lng, or neither")),
    }
}

pub fn accuracy(field: &str, raw: Option<&str>) -> Result<Option<f64>> {
    raw.map(|a| number(field, a)).transpose()
}

/// A list of codes, each parsed with the core enum's `parse` (error names `field[i]`).
pub fn codes<T>(
    field: &str,
    raw: &[String],
    parse: fn(&str, &str) -> std::result::Result<T, gridpatrol_protocol::InvalidValue>,
) -> Result<Vec<T>> {
    raw.iter().enumerate().map(|(i, c)| Ok(parse(&format!("{field}[{i}]"), c)?)).collect()
}

/// An RFC 3339 time, e.g. `2030-01-01T18:00:00+08:00`.
pub fn time(field: &str, raw: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| CoreError::invalid(field, "is not an RFC 3339 time, e.g. 2030-01-01T18:00:00+08:00"))
}

/// `--answer ITEM=ANSWER`… and `--answer-note ITEM=TEXT`… as checklist answers. Whether an
/// item belongs to the patrol's checklist (or is answered twice) is checked by the core.
pub fn answers(answers: &[String], notes: &[String]) -> Result<Vec<ChecklistAnswer>> {
    let mut out = Vec::with_capacity(answers.len());
    for (i, raw) in answers.iter().enumerate() {
        let (item, answer) = pair(&format!("answers[{i}]"), raw, "ITEM=ok|issue|not_applicable")?;
        let answer = Answer::parse(&format!("answers[{i}].answer"), answer)?;
        out.push(ChecklistAnswer { item_id: item.to_string(), answer, note: None });
    }
    for (j, raw) in notes.iter().enumerate() {
        let field = format!("answer_notes[{j}]");
        let (item, text) = pair(&field, raw, "ITEM=TEXT")?;
        let answer = out
            .iter_mut()
            .find(|a| a.item_id == item)
            .ok_or_else(|| CoreError::invalid(&field, "names an item that has no --answer"))?;
        if answer.note.is_some() {
            return Err(CoreError::invalid(&field, "a second note for the same item"));
        }
        answer.note = Some(text.to_string());
    }
    Ok(out)
}

fn pair<'a>(field: &str, raw: &'a str, shape: &str) -> Result<(&'a str, &'a str)> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim(), v.trim())),
        _ => Err(CoreError::invalid(field, format!("must be {shape}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: CoreError) -> String {
        match e {
            CoreError::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_pair_with_their_notes() {
        let a = answers(
            &["fire_passage=issue".into(), "sanitation=ok".into()],
            &["fire_passage=车棚堵塞 = blocked".into()],
        )
        .unwrap();
        assert_eq!(a[0].answer, Answer::Issue);
        assert_eq!(a[0].note.as_deref(), Some("车棚堵塞 = blocked"));
        assert_eq!(a[1].note, None);
        assert_eq!(field(answers(&["fire_passage".into()], &[]).unwrap_err()), "answers[0]");
        assert_eq!(field(answers(&["x=maybe".into()], &[]).unwrap_err()), "answers[0].answer");
        assert_eq!(field(answers(&[], &["x=note".into()]).unwrap_err()), "answer_notes[0]");
    }

    #[test]
    fn numbers_locations_and_times() {
        assert_eq!(location("location", "-33.5", "151").unwrap(), GeoPoint { lat: -33.5, lng: 151.0 });
        assert_eq!(field(location("location", "31.2", "east").unwrap_err()), "location.lng");
        assert_eq!(field(optional_location(Some("1"), None).unwrap_err()), "location");
        assert_eq!(optional_location(None, None).unwrap(), None);
        assert_eq!(field(number::<u8>("satisfaction", "300").unwrap_err()), "satisfaction");
        assert_eq!(time("d", "2030-01-01T18:00:00+08:00").unwrap().to_rfc3339(), "2030-01-01T10:00:00+00:00");
        assert!(time("d", "tomorrow").is_err());
    }
}
