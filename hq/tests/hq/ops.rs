//! Operating HQ: `/metrics` counts what phones did (pushes, operations by outcome, push latency,
//! pull bytes) in Prometheus text format, for operators only; `/readyz` says ready.

use gridpatrol_protocol::domain::*;
use reqwest::StatusCode;

use crate::common::*;

both!(metrics_count_what_phones_did_and_readiness_answers);

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn metrics_count_what_phones_did_and_readiness_answers(hq: &Hq) {
    hq.seed().await;
    let before = hq.client.get(format!("{}/metrics", hq.url)).bearer_auth(&hq.admin).send().await.unwrap();
    assert_eq!(before.status(), StatusCode::OK);
    assert!(before.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let before = before.text().await.unwrap();

    let mut a = hq.phone("w-001").await;
    // One visit applied; one refused (h-0004 is in a grid not the worker's).
    a.push(&[visit("w-001", "h-0001", "g-0101", VisitType::Routine)]).await;
    a.push(&[visit("w-001", "h-0004", "g-0102", VisitType::Routine)]).await;
    let mut cursors = a.cursors();
    a.pull_all(&mut cursors).await;

    let after = hq.client.get(format!("{}/metrics", hq.url)).bearer_auth(&hq.admin).send().await.unwrap();
    let after = after.text().await.unwrap();
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert!(delta("gridpatrol_pushes_total") >= 2.0, "{after}");
    assert_eq!(delta("gridpatrol_push_ops_total{status=\"applied\"}"), 1.0, "{after}");
    assert_eq!(delta("gridpatrol_push_ops_total{status=\"rejected\"}"), 1.0, "{after}");
    assert_eq!(delta("gridpatrol_push_seconds_count"), delta("gridpatrol_pushes_total"));
    assert_eq!(
        value(&after, "gridpatrol_push_seconds_bucket{le=\"+Inf\"}"),
        value(&after, "gridpatrol_push_seconds_count")
    );
    assert!(delta("gridpatrol_pulls_total") >= 1.0);
    assert!(delta("gridpatrol_pull_bytes_total") > 0.0);
    assert!(delta("gridpatrol_http_requests_total{class=\"2xx\"}") >= 4.0);
    // Nothing personal: no names, households or tokens in the metrics.
    assert!(!after.contains("w-001") && !after.contains("h-0001") && !after.contains("gpd_"));

    // Operators only: a phone's token and no token are refused.
    let (s, _) = hq.get("/metrics", &a.token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let resp = hq.client.get(format!("{}/readyz", hq.url)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["ready"], true);
}
