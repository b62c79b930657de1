//! A device over its token bucket gets 429 `rate_limited` with Retry-After.

use gridpatrol_protocol::wire::PROTOCOL_HEADER;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

mod device_bucket {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::device_over_its_bucket_gets_429(crate::common::Db::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::device_over_its_bucket_gets_429(crate::common::Db::Postgres).await;
    }
}

async fn device_over_its_bucket_gets_429(db: Db) {
    let Some(hq) = Hq::start_with(db, |c| {
        c.rate_limit_per_device = (3, 0.5);
        c.rate_limit_per_operator = (1000, 1000.0);
    })
    .await
    else {
        return;
    };
    hq.seed().await;
    let phone = hq.phone("w-001").await;
    let other = hq.phone("w-002").await;
    let pull = |token: String| {
        let client = hq.client.clone();
        let url = format!("{}/v1/pull", hq.url);
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header(PROTOCOL_HEADER, "2")
                .json(&json!({ "cursors": {} }))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(pull(phone.token.clone()).await.status(), StatusCode::OK);
    }
    let resp = pull(phone.token.clone()).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "rate_limited");
    // Buckets are per device.
    assert_eq!(pull(other.token.clone()).await.status(), StatusCode::OK);
    // Health checks are never limited.
    for _ in 0..5 {
        assert_eq!(hq.client.get(format!("{}/healthz", hq.url)).send().await.unwrap().status(), StatusCode::OK);
    }
    hq.stop().await;
}
