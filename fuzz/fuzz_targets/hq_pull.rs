//! HQ's pull-request reader, through the real server: `POST /v1/pull` with a phone's token.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gridpatrol_fuzz::hq().post_checked("/v1/pull", data, true));
