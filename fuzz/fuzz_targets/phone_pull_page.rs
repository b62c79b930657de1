//! The phone's pull-page reader: a page as HQ would send it, applied as a sync applies it,
//! then the screens that show pulled data rendered (`core/src/sync/fuzz.rs`).
#![no_main]
use std::sync::OnceLock;

use gridpatrol_core::{GridConfig, Store, StoreOptions};

fn store() -> &'static Store {
    static STORE: OnceLock<(tempfile::TempDir, Store)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::init(dir.path(), &GridConfig::sample(), "w-001", StoreOptions::default()).unwrap();
            (dir, store)
        })
        .1
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = store().fuzz_pull_page(data);
});
