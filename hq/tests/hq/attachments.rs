//! Photos: chunked, resumable, idempotent by hash, verified; a mismatch is discarded.

use gridpatrol_protocol::wire::{AttachmentStatus, MAX_CHUNK_BYTES, PROTOCOL_HEADER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::*;

both!(chunked_resumed_and_verified, checksum_mismatch_is_discarded);

async fn put(hq: &Hq, token: &str, sha: &str, bytes: &[u8], start: usize, total: usize) -> (StatusCode, Value) {
    let end = start + bytes.len() - 1;
    let resp = hq
        .client
        .put(format!("{}/v1/attachments/{sha}", hq.url))
        .bearer_auth(token)
        .header(PROTOCOL_HEADER, "2")
        .header("content-range", format!("bytes {start}-{end}/{total}"))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap())
}

async fn status(hq: &Hq, token: &str, sha: &str) -> AttachmentStatus {
    let (s, v) = hq.get(&format!("/v1/attachments/{sha}"), token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

fn photo(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

async fn chunked_resumed_and_verified(hq: &Hq) {
    hq.seed().await;
    let phone = hq.phone("w-001").await;
    let t = phone.token.as_str();
    let bytes = photo(MAX_CHUNK_BYTES * 2 + 1234);
    let total = bytes.len();
    let h = sha(&bytes);
    assert_eq!(status(hq, t, &h).await.received_bytes, 0);
    let c = MAX_CHUNK_BYTES;
    let (s, v) = put(hq, t, &h, &bytes[..c], 0, total).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["received_bytes"], c);
    // The connection dropped; the phone asks where to resume.
    let st = status(hq, t, &h).await;
    assert_eq!((st.received_bytes, st.complete), (c as u64, false));
    // A resent chunk is acknowledged, not stored twice.
    let (s, v) = put(hq, t, &h, &bytes[..c], 0, total).await;
    assert_eq!((s, v["received_bytes"].as_u64()), (StatusCode::OK, Some(c as u64)));
    // Skipping ahead is refused with where to resume.
    let (s, v) = put(hq, t, &h, &bytes[2 * c..], 2 * c, total).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(&c.to_string()));
    // Too big a chunk.
    let big = vec![0u8; MAX_CHUNK_BYTES + 1];
    let (s, v) = put(hq, t, &h, &big, c, total + 1).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(code(&v), "payload_too_large");
    // The rest.
    put(hq, t, &h, &bytes[c..2 * c], c, total).await;
    let (s, v) = put(hq, t, &h, &bytes[2 * c..], 2 * c, total).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["complete"], true);
    // Idempotent by hash: uploading the same photo again is a no-op.
    let (s, v) = put(hq, t, &h, &bytes[..c], 0, total).await;
    assert_eq!((s, v["complete"].as_bool()), (StatusCode::OK, Some(true)));

    // The street office can fetch it once a report in scope references it (it may have
    // been referenced before it arrived).
    let (s, _) = hq.get(&format!("/v1/admin/attachments/{h}"), &hq.admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut phone = phone;
    let (rep, _) =
        report("w-001", "g-0101", gridpatrol_protocol::domain::ReportCategory::SafetyHazard, None, vec![h.clone()]);
    phone.push(&[rep]).await;
    let resp =
        hq.client.get(format!("{}/v1/admin/attachments/{h}", hq.url)).bearer_auth(&hq.admin).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let other = hq.operator("community", &["c-02"]).await;
    let (s, _) = hq.get(&format!("/v1/admin/attachments/{h}"), &other).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let _ = Method::GET;
}

async fn checksum_mismatch_is_discarded(hq: &Hq) {
    hq.seed().await;
    let phone = hq.phone("w-001").await;
    let t = phone.token.as_str();
    let bytes = photo(1000);
    let claimed = sha(b"something else entirely");
    let (s, v) = put(hq, t, &claimed, &bytes[..600], 0, 1000).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = put(hq, t, &claimed, &bytes[600..], 600, 1000).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(code(&v), "checksum_mismatch");
    // Discarded: a new upload starts from zero.
    assert_eq!(status(hq, t, &claimed).await.received_bytes, 0);
    // Bad hash and bad range are client errors.
    let (s, v) = put(hq, t, "not-a-hash", &bytes, 0, 1000).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let resp = hq
        .client
        .put(format!("{}/v1/attachments/{}", hq.url, sha(&bytes)))
        .bearer_auth(t)
        .header("content-range", "bytes 0-10/5")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}
