//! HQ's push-body reader (`POST /v1/push`'s JSON, `hq/src/phone/push_body.rs`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gridpatrol_hq::fuzz::push_body(data));
