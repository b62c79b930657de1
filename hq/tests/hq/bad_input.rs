//! Client mistakes on every route get a 4xx JSON error with a stable code, never a 500:
//! malformed JSON, wrong types, unknown fields, oversized and bad-gzip bodies, unknown
//! routes and methods, an unsupported protocol version.

use std::io::Write;

use gridpatrol_protocol::wire::{MAX_BODY_BYTES, PROTOCOL_HEADER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(
    garbage_on_every_route_is_a_json_4xx,
    specific_mistakes_have_specific_codes,
    credentials_first_and_unsupported_encodings
);

fn concrete(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { "x" } else { seg }).collect::<Vec<_>>().join("/")
}

async fn garbage_on_every_route_is_a_json_4xx(hq: &Hq) {
    hq.seed().await;
    let phone = hq.phone("w-001").await;
    let (_, doc) = hq.get("/openapi.json", &hq.admin).await;
    let bodies: [&[u8]; 5] =
        [b"{", b"[]", b"{\"unknown_field\": 1}", b"\"a string\"", b"{\"cursors\": {\"tasks\": \"seven\"}}"];
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, _) in ops.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for token in [&hq.admin, &phone.token] {
                for body in bodies {
                    let url = format!("{}{}?from=yesterday&to=%ZZ", hq.url, concrete(path));
                    let resp = hq
                        .client
                        .request(method.clone(), url)
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .header("content-range", "bytes nonsense")
                        .body(body.to_vec())
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status();
                    let text = resp.text().await.unwrap();
                    assert!(!status.is_server_error(), "{method} {path} → {status} {text}");
                    if !status.is_success() {
                        let v: Value =
                            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
                        assert!(
                            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                            "{method} {path}: {text}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 400, "{checked}");
}

async fn specific_mistakes_have_specific_codes(hq: &Hq) {
    hq.seed().await;
    let phone = hq.phone("w-001").await;
    // Unknown route and method: JSON 404 / 405.
    let (s, v) = hq.get("/v1/nope", &hq.admin).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = hq.call(Method::DELETE, "/v1/push", Some(&phone.token), None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{v}");
    assert!(v["error"]["code"].is_string());
    // Wrong types and unknown fields.
    let (s, v) = phone.send("/v1/pull", &json!({ "cursors": { "tasks": "seven" } })).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    let (s, v) = hq
        .post(
            "/v1/admin/communities",
            &hq.admin,
            json!({ "id": "c-9", "code": "310101002009", "name": "x", "extra": 1 }),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"), "{v}");
    let (s, v) =
        hq.post("/v1/admin/communities", &hq.admin, json!({ "id": "c-9", "code": "999999999999", "name": "x" })).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")), "{v}");
    let (s, v) = hq
        .post(
            "/v1/admin/grids",
            &hq.admin,
            json!({ "id": "g-9", "code": "310101002001009", "community_id": "c-01", "name": "x",
        "boundary": { "type": "Point", "coordinates": [] } }),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"), "{v}");
    let (s, v) = hq
        .post(
            "/v1/admin/tasks",
            &hq.admin,
            json!({ "source": "pigeon", "title": "t", "target_unit": "u",
        "assignee_id": "w-001", "deadline": "2030-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"), "{v}");
    let (s, v) = hq
        .post(
            "/v1/admin/tasks",
            &hq.admin,
            json!({ "source": "street", "title": "t", "target_unit": "u",
        "assignee_id": "w-001", "deadline": "2001-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("task.deadline")), "{v}");
    let (s, v) = hq
        .post("/v1/admin/communities", &hq.admin, json!({ "id": "c-01", "code": "310101002001", "name": "dup" }))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"), "{v}");
    let (s, _) = hq.get("/v1/admin/cases/does-not-exist", &hq.admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Protocol versions: 1 and 2 accepted, missing means 1, others refused.
    for (version, ok) in [
        (Some("1"), true),
        (Some("2"), true),
        (None, true),
        (Some("3"), false),
        (Some("0"), false),
        (Some("two"), false),
    ] {
        let mut req =
            hq.client.post(format!("{}/v1/pull", hq.url)).bearer_auth(&phone.token).json(&json!({ "cursors": {} }));
        if let Some(v) = version {
            req = req.header(PROTOCOL_HEADER, v);
        }
        let resp = req.send().await.unwrap();
        let s = resp.status();
        let v: Value = resp.json().await.unwrap();
        if ok {
            assert_eq!(s, StatusCode::OK, "{version:?} {v}");
        } else {
            assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "unsupported_protocol"), "{version:?}");
        }
    }
    // Gzip accepted (and produced).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"{"cursors": {}}"#).unwrap();
    let resp = hq
        .client
        .post(format!("{}/v1/pull", hq.url))
        .bearer_auth(&phone.token)
        .header("content-encoding", "gzip")
        .header("content-type", "application/json")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let raw = reqwest::Client::builder().gzip(false).build().unwrap();
    let resp = raw
        .post(format!("{}/v1/pull", hq.url))
        .bearer_auth(&phone.token)
        .header("accept-encoding", "gzip")
        .json(&json!({ "cursors": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    // Broken gzip: 400, not 500.
    let resp = hq
        .client
        .post(format!("{}/v1/pull", hq.url))
        .bearer_auth(&phone.token)
        .header("content-encoding", "gzip")
        .body(b"definitely not gzip".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Oversized bodies: 413, also when a small gzip body inflates past the limit.
    let big = vec![b' '; MAX_BODY_BYTES + 10];
    let resp = hq
        .client
        .post(format!("{}/v1/admin/import", hq.url))
        .bearer_auth(&hq.admin)
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "payload_too_large");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&big).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 100_000);
    let resp = hq
        .client
        .post(format!("{}/v1/push", hq.url))
        .bearer_auth(&phone.token)
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Too many operations in one push.
    let ops: Vec<Value> = (1..=1001)
        .map(|i| json!({ "seq": i, "mutation_id": format!("m{i}"), "hlc": "0", "device_ms": 0, "command": {} }))
        .collect();
    let (s, v) = phone
        .send(
            "/v1/push",
            &json!({ "device_id": phone.device_id, "epoch": phone.epoch, "device_time_ms": 0, "ops": ops }),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    // A device pushing for another device id.
    let (s, v) = phone
        .send("/v1/push", &json!({ "device_id": "someone-else", "epoch": phone.epoch, "device_time_ms": 0, "ops": [] }))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
}

/// Every credentialed route hears about its credential first: no token (or an unknown one, or a
/// revoked phone's) with a bad body is a 401, never the body's 400. An unsupported
/// `Content-Encoding` is a 415 with the JSON error body on every route.
async fn credentials_first_and_unsupported_encodings(hq: &Hq) {
    hq.seed().await;
    let phone = hq.phone("w-001").await;
    let revoked = hq.phone("w-001").await;
    hq.admin(Method::POST, &format!("/v1/admin/devices/{}/revoke", revoked.device_id), json!({})).await;
    let routes = [
        (Method::POST, "/v1/push"),
        (Method::POST, "/v1/pull"),
        (Method::POST, "/v1/fork"),
        (Method::POST, "/v1/admin/import"),
        (Method::POST, "/v1/admin/tasks"),
    ];
    for (method, path) in &routes {
        for (token, code) in [
            (None, "unauthorized"),
            (Some("gpd_not-a-token-HQ-issued"), "unauthorized"),
            (Some("gpo_not-a-token-HQ-issued"), "unauthorized"),
            (Some(revoked.token.as_str()), "device_revoked"),
        ] {
            let mut req = hq.client.request(method.clone(), format!("{}{path}", hq.url)).body("{ not json");
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let v: Value = resp.json().await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with {token:?}: {v}");
            assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        }
    }
    let mut all = routes.to_vec();
    all.push((Method::POST, "/v1/enrol"));
    for (method, path) in &all {
        for encoding in ["br", "deflate", "x-unknown", "gzip, gzip", "compress"] {
            for token in [&phone.token, &hq.admin] {
                let resp = hq
                    .client
                    .request(method.clone(), format!("{}{path}", hq.url))
                    .bearer_auth(token)
                    .header("content-encoding", encoding)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let text = resp.text().await.unwrap();
                assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{method} {path} {encoding}: {text}");
                let v: Value = serde_json::from_str(&text).expect("a JSON error body");
                assert_eq!(v["error"]["code"], "unsupported_encoding", "{text}");
            }
        }
    }
    // gzip (any case) and identity are read as before.
    let (s, v) = phone.send("/v1/pull", &json!({ "cursors": {} })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let resp = hq
        .client
        .post(format!("{}/v1/pull", hq.url))
        .bearer_auth(&phone.token)
        .header(PROTOCOL_HEADER, "2")
        .header("content-encoding", "identity")
        .json(&json!({ "cursors": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
