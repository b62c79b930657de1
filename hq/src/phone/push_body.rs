//! Reading a push body (`wire::PushRequest`) into what `push` settles: the request, and each
//! operation's command parsed into a `records::Command` — or, for one HQ cannot read, the
//! reason and the `op` it claims, so that it alone is rejected and the rest apply.
//!
//! Parsing is the largest cost of a push outside the database, and it runs on the request's
//! own task (SQLite has one writer: everything kept off it is time it can write). The body is
//! read in one pass straight into typed commands; visits, the bulk of what phones send, go
//! straight into their struct (serde's own decoding of the internally tagged `Command` first
//! buffers each object into an intermediate tree). Only when that pass fails somewhere is the
//! body read again, each command kept as raw text and parsed on its own, to find which
//! operations are unreadable and why.

use std::borrow::Cow;

use gridpatrol_protocol::records::{Command, Visit};
use gridpatrol_protocol::wire::{PushOp, PushRequest};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{ApiError, Result};

/// A push as the writer settles it: `wire::PushRequest` with its commands taken out (`read`
/// gives them beside it, parsed).
pub type PushIn = PushRequest<()>;
pub type OpIn = PushOp<()>;

/// A command HQ could not read: why, and the `op` it says it is (at most 32 characters).
#[derive(Debug)]
pub struct Unreadable {
    pub reason: String,
    pub kind: String,
}

pub type Parsed = std::result::Result<Command, Unreadable>;

/// The request and its commands, in operation order.
pub fn read(body: &[u8]) -> Result<(PushIn, Vec<Parsed>)> {
    if let Ok(push) = serde_json::from_slice::<PushRequest<Typed>>(body) {
        return Ok(split(push, |c| Ok(c.0)));
    }
    let push: PushRequest<Box<RawValue>> = serde_json::from_slice(body).map_err(|e| {
        // serde's message names the field and line; it may quote the client's own value,
        // which goes back to that client only, never to the log.
        ApiError::bad_request(format!("malformed JSON body: {e}"))
    })?;
    Ok(split(push, |raw| {
        serde_json::from_str::<Command>(raw.get())
            .map_err(|e| Unreadable { reason: format!("unreadable command: {e}"), kind: claimed_kind(raw.get()) })
    }))
}

fn split<C>(push: PushRequest<C>, mut parse: impl FnMut(C) -> Parsed) -> (PushIn, Vec<Parsed>) {
    let mut commands = Vec::with_capacity(push.ops.len());
    let ops = push
        .ops
        .into_iter()
        .map(|o| {
            commands.push(parse(o.command));
            PushOp { seq: o.seq, mutation_id: o.mutation_id, hlc: o.hlc, device_ms: o.device_ms, command: () }
        })
        .collect();
    let req = PushRequest {
        device_id: push.device_id,
        epoch: push.epoch,
        device_time_ms: push.device_time_ms,
        device_hlc: push.device_hlc,
        ops,
    };
    (req, commands)
}

/// A command read in one pass: `{"op":"record_visit","visit":{…}}` straight into a `Visit`;
/// any other shape gathered into a JSON object and read as a `Command` (so its messages are
/// serde's own).
struct Typed(Command);

impl<'de> Deserialize<'de> for Typed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Typed, D::Error> {
        d.deserialize_map(TypedVisitor)
    }
}

struct TypedVisitor;

impl<'de> Visitor<'de> for TypedVisitor {
    type Value = Typed;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a command object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Typed, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if fields.is_empty() && key == "op" {
                let Text(op) = map.next_value::<Text<'de>>()?;
                if op == "record_visit" {
                    match map.next_key::<Text<'de>>()? {
                        Some(Text(k)) if k == "visit" => {
                            let visit: Visit = map.next_value()?;
                            if map.next_key::<IgnoredAny>()?.is_some() {
                                return Err(de::Error::custom("unexpected field after `visit`"));
                            }
                            return Ok(Typed(Command::RecordVisit { visit }));
                        }
                        Some(Text(k)) => {
                            fields.insert("op".into(), op.into_owned().into());
                            fields.insert(k.into_owned(), map.next_value()?);
                            continue;
                        }
                        None => {}
                    }
                }
                fields.insert("op".into(), op.into_owned().into());
                continue;
            }
            let value: serde_json::Value = map.next_value()?;
            fields.insert(key.into_owned(), value);
        }
        serde_json::from_value::<Command>(serde_json::Value::Object(fields)).map(Typed).map_err(de::Error::custom)
    }
}

/// A JSON string borrowed from the body when it can be (no escapes): the keys of every
/// command and the `op` of the common ones are read without allocating.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The `op` an unreadable command says it is (kept with the rejection), at most 32 characters.
fn claimed_kind(raw: &str) -> String {
    #[derive(Deserialize)]
    struct Tag {
        op: Option<serde_json::Value>,
    }
    let op = serde_json::from_str::<Tag>(raw).ok().and_then(|t| t.op);
    op.as_ref().and_then(|v| v.as_str()).unwrap_or("unknown").chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(commands: &[&str]) -> Vec<u8> {
        let ops: Vec<String> = commands
            .iter()
            .enumerate()
            .map(|(i, c)| format!(r#"{{"seq":{},"mutation_id":"m-{i}","hlc":"h","device_ms":1,"command":{c}}}"#, i + 1))
            .collect();
        format!(r#"{{"device_id":"d-1","epoch":1,"device_time_ms":5,"ops":[{}]}}"#, ops.join(",")).into_bytes()
    }

    const VISIT: &str = r#"{"op":"record_visit","visit":{"id":"v-1","worker_id":"w-1","household_id":"h-1","grid_id":"g-1","visit_type":"routine","outcome":"met","needs":["living"],"note":null,"satisfaction":null,"case_id":null,"location":null,"occurred_at":"2026-11-27T08:00:00Z"}}"#;

    /// Both readings give the same commands: the one-pass reading of a good body, and the
    /// per-command reading that a single bad command forces.
    #[test]
    fn one_pass_and_per_command_readings_agree() {
        let other = r#"{"op":"finish_patrol","patrol_id":"p-1","outcome":"nothing_found","note":null,"finished_at":"2026-11-27T09:00:00Z"}"#;
        let visit_op_last = r#"{"visit":{"id":"v-1","worker_id":"w-1","household_id":"h-1","grid_id":"g-1","visit_type":"routine","outcome":"met","needs":[],"occurred_at":"2026-11-27T08:00:00Z"},"op":"record_visit"}"#;
        let (req, good) = read(&body(&[VISIT, other, visit_op_last])).unwrap();
        assert_eq!((req.device_id.as_str(), req.ops.len(), req.ops[2].seq), ("d-1", 3, 3));
        let good: Vec<Command> = good.into_iter().map(|c| c.unwrap()).collect();
        assert!(matches!(&good[0], Command::RecordVisit { visit } if visit.household_id == "h-1"));
        assert!(matches!(&good[1], Command::FinishPatrol { patrol_id, .. } if patrol_id == "p-1"));
        assert!(matches!(&good[2], Command::RecordVisit { visit } if visit.needs.is_empty()));

        let (_, mixed) = read(&body(&[VISIT, r#"{"op":"record_visit","visit":{"id":7}}"#, other])).unwrap();
        assert_eq!(format!("{:?}", mixed[0].as_ref().unwrap()), format!("{:?}", good[0]));
        assert_eq!(format!("{:?}", mixed[2].as_ref().unwrap()), format!("{:?}", good[1]));
        let bad = mixed[1].as_ref().unwrap_err();
        assert_eq!(bad.kind, "record_visit");
        assert!(bad.reason.starts_with("unreadable command"), "{}", bad.reason);
    }

    /// Keys written with escapes, and a visit's `op` followed by something else than its
    /// `visit`, read as serde reads them.
    #[test]
    fn escaped_keys_and_odd_orders_read_as_serde_would() {
        let escaped = VISIT.replace(r#""op":"record_visit","visit""#, r#""o\u0070":"record\u005fvisit","vis\u0069t""#);
        let (_, parsed) = read(&body(&[&escaped])).unwrap();
        assert!(matches!(&parsed[0], Ok(Command::RecordVisit { visit }) if visit.id == "v-1"), "{parsed:?}");
        let odd = r#"{"op":"record_visit","extra":1,"visit":{}}"#;
        let (_, parsed) = read(&body(&[odd, VISIT])).unwrap();
        assert_eq!(parsed[0].as_ref().unwrap_err().kind, "record_visit");
        assert!(parsed[1].is_ok());
    }

    /// A body that is not a push at all is the client's mistake, said in words.
    #[test]
    fn a_malformed_body_is_a_bad_request() {
        for b in [&b"{"[..], b"[]", br#"{"device_id":"d","epoch":1,"device_time_ms":1,"ops":[{"seq":1}]}"#] {
            let e = read(b).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
            assert!(e.message.starts_with("malformed JSON body"), "{}", e.message);
        }
    }

    /// What serde writes from a `wire::PushRequest` (tools, tests, any client) reads alike.
    #[test]
    fn serdes_push_request_reads() {
        let visit: serde_json::Value = serde_json::from_str(VISIT).unwrap();
        let req = PushRequest {
            device_id: "d-1".into(),
            epoch: 2,
            device_time_ms: 9,
            device_hlc: Some("h".into()),
            ops: vec![PushOp { seq: 4, mutation_id: "m-4".into(), hlc: "h4".into(), device_ms: 3, command: visit }],
        };
        let (read_req, commands) = read(&serde_json::to_vec(&req).unwrap()).unwrap();
        assert_eq!((read_req.device_id.as_str(), read_req.epoch, read_req.device_time_ms), ("d-1", 2, 9));
        assert_eq!((read_req.ops[0].seq, read_req.ops[0].mutation_id.as_str()), (4, "m-4"));
        assert!(matches!(&commands[0], Ok(Command::RecordVisit { visit }) if visit.id == "v-1"));
    }

    /// An unknown op and a non-object command are rejected on their own, with what they claim.
    #[test]
    fn unreadable_commands_keep_their_claimed_op() {
        let (_, parsed) = read(&body(&[r#"{"op":"launch_rocket"}"#, "42", VISIT])).unwrap();
        assert_eq!(parsed[0].as_ref().unwrap_err().kind, "launch_rocket");
        assert_eq!(parsed[1].as_ref().unwrap_err().kind, "unknown");
        assert!(parsed[2].is_ok());
    }
}
