//! Enrolment: one-time, expiring codes; one answer for wrong, expired and used codes;
//! re-enrolment of a reinstalled phone gets a new epoch, the same store keeps its own.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

both!(enrol_codes_good_wrong_expired_reused, reenrol_assigns_epochs);

async fn enrol_codes_good_wrong_expired_reused(hq: &Hq) {
    hq.seed().await;
    let good = hq.code("w-001").await;
    let device = new_id();
    let body = json!({ "code": good.to_lowercase(), "device_id": device, "epoch": 0, "app_version": "1.0" });
    let (s, v) = hq.call(Method::POST, "/v1/enrol", None, Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["device_token"].as_str().unwrap();
    assert!(token.len() >= 64, "a token of 32 random bytes or more");
    assert_eq!(v["worker_id"], "w-001");
    assert_eq!(v["epoch"], 1);
    // Minimum necessary: households of the worker's grid only, and the active template.
    let households: Vec<&str> =
        v["reference"]["households"].as_array().unwrap().iter().map(|h| h["grid_id"].as_str().unwrap()).collect();
    assert_eq!(households, vec!["g-0101"; 3]);
    assert_eq!(v["reference"]["template"]["id"], "3456-default");
    assert!(v["reference_version"].as_i64().unwrap() > 0);

    // The same code again: used.
    let again = json!({ "code": good, "device_id": new_id(), "epoch": 0 });
    let (s, used) = hq.call(Method::POST, "/v1/enrol", None, Some(&again)).await;
    // A code never issued.
    let wrong = json!({ "code": "ZZZZ-ZZZZ-ZZZZ", "device_id": new_id(), "epoch": 0 });
    let (s2, wrong_v) = hq.call(Method::POST, "/v1/enrol", None, Some(&wrong)).await;
    // An expired code.
    let short = hq.admin(Method::POST, "/v1/admin/workers/w-001/enrolment-codes", json!({ "ttl_seconds": 1 })).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let expired = json!({ "code": short["code"], "device_id": new_id(), "epoch": 0 });
    let (s3, expired_v) = hq.call(Method::POST, "/v1/enrol", None, Some(&expired)).await;
    for (s, v) in [(s, &used), (s2, &wrong_v), (s3, &expired_v)] {
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(code(v), "enrolment_code_invalid");
    }
    // One and the same answer: nothing tells which of the three it was.
    assert_eq!(used, wrong_v);
    assert_eq!(wrong_v, expired_v);

    // The token works for the phone endpoints.
    let (s, _) = hq.call(Method::POST, "/v1/pull", Some(token), Some(&json!({ "cursors": {} }))).await;
    assert_eq!(s, StatusCode::OK);
}

async fn reenrol_assigns_epochs(hq: &Hq) {
    hq.seed().await;
    let device = new_id();
    let first = Phone::enrol(hq, "w-001", &device, 0).await;
    assert_eq!(first.epoch, 1);
    // The same store re-enrols (e.g. after a revoke): it keeps its epoch.
    let same = Phone::enrol(hq, "w-001", &device, 1).await;
    assert_eq!(same.epoch, 1);
    // A reinstalled phone (new store, epoch 0): a new epoch.
    let reinstalled = Phone::enrol(hq, "w-001", &device, 0).await;
    assert_eq!(reinstalled.epoch, 2);
    // An epoch HQ never saw for this device counts as a new store too.
    let odd = Phone::enrol(hq, "w-001", &device, 7).await;
    assert_eq!(odd.epoch, 3);
    // Only the newest token works.
    let (s, v) = first.send("/v1/pull", &json!({ "cursors": {} })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = odd.send("/v1/pull", &json!({ "cursors": {} })).await;
    assert_eq!(s, StatusCode::OK);
}
