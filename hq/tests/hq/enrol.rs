//! Enrolment: one-time, expiring codes; one answer for wrong, expired and used codes;
//! re-enrolment gets a fresh epoch; an enrolled device id is never handed to another installation.

use reqwest::{Method, StatusCode};
use serde_json::json;

use gridpatrol_protocol::domain::VisitType;
use gridpatrol_protocol::records::Command;
use gridpatrol_protocol::wire::OpStatus;

use crate::common::*;

both!(
    enrol_codes_good_wrong_expired_reused,
    reenrol_assigns_epochs,
    an_enrolled_device_id_is_never_taken_over,
    enrol_refuses_bad_epoch_and_installation
);

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
    assert_eq!((first.device_id.as_str(), first.epoch), (device.as_str(), 1));
    // The same installation re-enrols (e.g. after a revoke): its own device id, a fresh epoch
    // (never the one it asks for), and only the newest token works.
    let same = Phone::enrol(hq, "w-001", &device, 1).await;
    assert_eq!((same.device_id.as_str(), same.epoch), (device.as_str(), 2));
    let odd = Phone::enrol(hq, "w-001", &device, 7).await;
    assert_eq!((odd.device_id.as_str(), odd.epoch), (device.as_str(), 3));
    let (s, v) = first.send("/v1/pull", &json!({ "cursors": {} })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = odd.send("/v1/pull", &json!({ "cursors": {} })).await;
    assert_eq!(s, StatusCode::OK);
}

/// The identity rule: a device id enrolled by another installation, or for another worker, is
/// never handed over. The newcomer gets an id of its own; the device keeps its token and cursor.
async fn an_enrolled_device_id_is_never_taken_over(hq: &Hq) {
    hq.seed().await;
    let device = new_id();
    let mut victim = Phone::enrol(hq, "w-001", &device, 0).await;
    let cmds: Vec<Command> = (0..2).map(|_| visit("w-001", "h-0001", "g-0101", VisitType::Routine)).collect();
    victim.push(&cmds).await;

    // Another installation of the same worker (a cloned store, say), asking for the id.
    let clone = Phone::enrol_installation(hq, "w-001", &device, 1, Some("another-installation-1")).await;
    assert_ne!(clone.device_id, device);
    assert_eq!(clone.epoch, 1);
    // Another worker's code with the victim's device id and epoch, and even its installation id.
    let thief = Phone::enrol_installation(hq, "w-002", &device, 1, Some(&format!("installation-{device}"))).await;
    assert_ne!(thief.device_id, device);
    // An older phone that sends no installation id.
    let legacy = Phone::enrol_installation(hq, "w-001", &device, 1, None).await;
    assert_ne!(legacy.device_id, device);

    // The victim is unaffected: its token works and its cursor moved on from where it was.
    let resp = victim.push(&[visit("w-001", "h-0001", "g-0101", VisitType::Routine)]).await;
    assert_eq!(resp.acked_through_seq, 3);
    assert_eq!(resp.results[0].status, OpStatus::Applied);
}

/// `epoch` is ignored but still checked; an installation id is 16..64 id characters.
async fn enrol_refuses_bad_epoch_and_installation(hq: &Hq) {
    hq.seed().await;
    for (body, field) in [
        (json!({ "code": "X", "device_id": "d-1", "epoch": -1 }), "epoch"),
        (json!({ "code": "X", "device_id": "d-1", "installation_id": "short" }), "installation_id"),
        (
            json!({ "code": "X", "device_id": "d-1", "installation_id": "has spaces in it, sixteen+" }),
            "installation_id",
        ),
    ] {
        let (s, v) = hq.call(reqwest::Method::POST, "/v1/enrol", None, Some(&body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!((v["error"]["code"].as_str(), v["error"]["field"].as_str()), (Some("invalid_input"), Some(field)));
    }
}
