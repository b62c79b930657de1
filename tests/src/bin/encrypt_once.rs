//! Fault-injection helper for the encryption crash test: opens a clear-text store with a key,
//! which encrypts it in place (`core/src/key.rs`) and moves older photo files into the
//! database, printing `opening` before and `encrypted <ms>` after. The test SIGKILLs it at
//! random moments in between.
//!
//! Usage: `encrypt-once <store-dir> <key: 64 hex digits>`

use std::io::Write;
use std::path::PathBuf;

use gridpatrol_core::{Store, StoreKey, StoreOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("store dir"));
    let key = StoreKey::from_hex(&args.next().expect("key")).expect("key is 64 hex digits");
    let mut out = std::io::stdout();
    writeln!(out, "opening").and_then(|_| out.flush()).expect("stdout");
    let start = std::time::Instant::now();
    let store = Store::open(&dir, StoreOptions { key: Some(key), ..StoreOptions::default() }).expect("open with key");
    drop(store);
    writeln!(out, "encrypted {}", start.elapsed().as_millis()).and_then(|_| out.flush()).expect("stdout");
}
