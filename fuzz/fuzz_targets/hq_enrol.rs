//! HQ's enrolment reader, through the real server: `POST /v1/enrol` (no credentials) and
//! `POST /v1/fork` (a phone's token), chosen by the input's first byte.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let hq = gridpatrol_fuzz::hq();
    match data.split_first() {
        Some((b, rest)) if b % 2 == 1 => hq.post_checked("/v1/fork", rest, true),
        Some((_, rest)) => hq.post_checked("/v1/enrol", rest, false),
        None => hq.post_checked("/v1/enrol", data, false),
    }
});
