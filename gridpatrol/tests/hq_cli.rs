//! `gridpatrol hq serve` refuses a time zone it does not know before touching any data.

use std::process::Command;

#[test]
fn an_unknown_time_zone_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args(["hq", "serve", "--listen", "127.0.0.1:0", "--time-zone", "Mars/Olympus_Mons", "--database"])
        .arg(dir.path().join("hq"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Mars/Olympus_Mons") && err.contains("IANA"), "{err}");
    assert!(!dir.path().join("hq").exists(), "nothing was created");
}
