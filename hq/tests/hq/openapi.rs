//! `/openapi.json` and the router agree: every documented route answers (not the "no such
//! route" fallback, not 405), and routes that are not documented do not exist.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::*;

both!(openapi_matches_the_router);

async fn openapi_matches_the_router(hq: &Hq) {
    let (s, doc) = hq.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, ops) in paths {
        let concrete: String =
            path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/");
        for (method, op) in ops.as_object().unwrap() {
            operations += 1;
            assert!(op["summary"].is_string() && op["responses"].is_object(), "{method} {path}");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (s, v) = hq.call(m, &concrete, None, None).await;
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            let fallback = s == StatusCode::NOT_FOUND && v["error"]["message"] == "no such route";
            assert!(!fallback, "{method} {path} is documented but not routed");
        }
    }
    assert!(operations >= 50, "{operations}");
    // The headers HQ reads from phones are documented, on the operations that read them.
    use gridpatrol_protocol::wire::{FOLLOWS_HEADER, PROTOCOL_HEADER};
    let headers = &doc["components"]["parameters"];
    assert_eq!(
        (headers["Protocol"]["name"].as_str(), headers["Protocol"]["in"].as_str()),
        (Some(PROTOCOL_HEADER), Some("header"))
    );
    assert_eq!(
        (headers["Follows"]["name"].as_str(), headers["Follows"]["in"].as_str()),
        (Some(FOLLOWS_HEADER), Some("header"))
    );
    let push = doc["paths"]["/v1/push"]["post"]["parameters"].to_string();
    assert!(
        push.contains("#/components/parameters/Follows") && push.contains("#/components/parameters/Protocol"),
        "{push}"
    );
    // Not documented, not routed. (`/` is the console's HTML, outside the API: tests/hq/console.rs.)
    for p in ["/v1/admin/nothing", "/v2/push", "/v1/admin/export/everything.csv", "/nothing-here"] {
        let (s, v) = hq.call(Method::GET, p, None, None).await;
        assert_eq!((s, v["error"]["message"].clone()), (StatusCode::NOT_FOUND, Value::from("no such route")), "{p}");
    }
    // The health check names the backend.
    let (_, h) = hq.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(h["database"], if hq.db == Db::Sqlite { "sqlite" } else { "postgres" });
}

/// The document is valid OpenAPI 3.1, as an independent validator reads it
/// (`openapi-spec-validator` from PyPI, installed by scripts/test.sh). Without it the test says
/// so and passes, except under CI, where it must be there.
#[test]
fn the_document_validates_as_openapi() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(std::env::var_os("CI").is_none(), "CI must install openapi-spec-validator (scripts/test.sh)");
        eprintln!("skipped: pip install openapi-spec-validator to validate the document");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&gridpatrol_hq::openapi_document()).unwrap()).unwrap();
    let out =
        std::process::Command::new("python3").arg("-m").arg("openapi_spec_validator").arg(&file).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("OK"), "{text}");
}
