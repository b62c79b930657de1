//! The checklist-template importer (`Template::from_json`, what HQ publishes and phones
//! install): any text refused or accepted; an accepted one writes back to itself.
#![no_main]
use gridpatrol_protocol::template::Template;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(template) = Template::from_json(text) {
        let json = serde_json::to_string(&template).expect("an accepted template serialises");
        let again = Template::from_json(&json).expect("a written template reads back");
        assert_eq!(again, template);
    }
});
