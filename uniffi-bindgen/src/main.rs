//! `uniffi-bindgen generate --library target/<profile>/libgridpatrol_ffi.so --language …`:
//! kept in its own crate so the `cli` feature (clap, the generators) never reaches the
//! library that ships in the apps. `cargo xtask bindings` runs it.

fn main() {
    uniffi::uniffi_bindgen_main()
}
