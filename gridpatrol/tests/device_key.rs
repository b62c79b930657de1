//! The terminal shell's store key, as a phone's key provider gives it: 64 hex digits from
//! `GRIDPATROL_STORE_KEY` or from the file `GRIDPATROL_STORE_KEY_FILE` names. With a key the
//! store on disk is encrypted; without it, or with another one, every command exits 2 with a
//! typed code and the store is left as it was.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn device(store: &Path, key: Option<(&str, &str)>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridpatrol"));
    cmd.arg("device").arg("--store").arg(store).args(args).arg("--json");
    cmd.env_remove("GRIDPATROL_STORE_KEY").env_remove("GRIDPATROL_STORE_KEY_FILE");
    if let Some((var, value)) = key {
        cmd.env(var, value);
    }
    let out = cmd.output().expect("run gridpatrol");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    out
}

fn error_code(out: &Output) -> (i32, String) {
    assert!(!out.status.success(), "should have failed: {}", String::from_utf8_lossy(&out.stdout));
    let v: Value = serde_json::from_slice(&out.stdout).expect("error is JSON on stdout");
    (out.status.code().unwrap(), v["error"]["code"].as_str().unwrap().to_string())
}

#[test]
fn a_key_from_a_file_or_the_environment_encrypts_the_store_and_is_required_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = dir.path().join("config.json");
    let sample = Command::new(env!("CARGO_BIN_EXE_gridpatrol")).args(["device", "sample-config"]).output().unwrap();
    std::fs::write(&config, &sample.stdout).unwrap();
    let key_file = dir.path().join("store.key");
    let hex = "5a".repeat(32);
    std::fs::write(&key_file, format!("{hex}\n")).unwrap();
    let by_file = Some(("GRIDPATROL_STORE_KEY_FILE", key_file.to_str().unwrap()));
    let by_env = Some(("GRIDPATROL_STORE_KEY", hex.as_str()));

    let out = device(&store, by_file, &["init", "--config", config.to_str().unwrap(), "--worker", "w-001"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = device(&store, by_env, &["today"]);
    assert!(out.status.success(), "the same key from the environment opens it");

    let db = std::fs::read(store.join("gridpatrol.db")).unwrap();
    assert!(!db.starts_with(b"SQLite format 3"));
    for secret in ["陈阿姨", "13812345678"] {
        assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} readable");
    }

    assert_eq!(error_code(&device(&store, None, &["today"])), (2, "store_key_missing".into()));
    let other = "a5".repeat(32);
    let wrong = device(&store, Some(("GRIDPATROL_STORE_KEY", &other)), &["today"]);
    assert_eq!(error_code(&wrong), (2, "store_key_wrong".into()));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!stderr.contains("hmac check failed"), "SQLCipher's own log is silenced: {stderr}");
    let (code, err) = error_code(&device(&store, Some(("GRIDPATROL_STORE_KEY", "not-hex")), &["today"]));
    assert_eq!((code, err.as_str()), (2, "invalid_input"));
    let missing = dir.path().join("nowhere.key");
    let (code, err) =
        error_code(&device(&store, Some(("GRIDPATROL_STORE_KEY_FILE", missing.to_str().unwrap())), &["today"]));
    assert_eq!((code, err.as_str()), (2, "invalid_input"));
    // Still there and still opening with its key.
    assert!(device(&store, by_env, &["today"]).status.success());
}
