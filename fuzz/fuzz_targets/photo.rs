//! The photo sanitiser (`core/src/photo.rs`): any bytes refused or rewritten, never a panic;
//! what it writes is itself a clean photo that sanitises to the same bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(clean) = gridpatrol_core::photo::sanitize(data) {
        let again = gridpatrol_core::photo::sanitize(&clean.bytes).expect("a sanitised photo sanitises");
        assert_eq!(again.bytes, clean.bytes, "sanitising is idempotent");
        assert_eq!(again.gps, clean.gps, "the location survives");
    }
});
