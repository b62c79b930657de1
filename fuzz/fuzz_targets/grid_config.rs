//! The grid-configuration importer (`GridConfig::from_json`, what `device init` and HQ's
//! import take): any text refused or accepted; an accepted one writes back to itself.
#![no_main]
use gridpatrol_protocol::config::GridConfig;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = GridConfig::from_json(text) {
        let json = serde_json::to_string(&config).expect("an accepted configuration serialises");
        let again = GridConfig::from_json(&json).expect("a written configuration reads back");
        assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&config).unwrap());
    }
});
