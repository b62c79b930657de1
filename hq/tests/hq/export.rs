//! CSV exports open in Excel: UTF-8 with a BOM, "中文 (English)" headers, one line per
//! record, phones masked, within the operator's scope.

use gridpatrol_protocol::domain::*;
use reqwest::StatusCode;

use crate::common::*;

both!(csv_exports_open_in_excel);

async fn csv(hq: &Hq, token: &str, kind: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let resp = hq.client.get(format!("{}/v1/admin/export/{kind}.csv", hq.url)).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header = lines.next().unwrap().split(',').map(String::from).collect::<Vec<_>>();
    // Simple split is enough for these rows (no commas in the test data).
    let rows = lines.map(|l| l.split(',').map(String::from).collect()).collect();
    (header, rows)
}

async fn csv_exports_open_in_excel(hq: &Hq) {
    hq.seed().await;
    let mut a = hq.phone("w-001").await;
    let patrol = new_id();
    a.push(&[
        start_patrol("w-001", "g-0101", &patrol),
        check_in(&patrol, inside_g0101(), &CHECKLIST),
        finish_patrol(&patrol, PatrolOutcome::NothingFound),
        visit("w-001", "h-0001", "g-0101", VisitType::MustVisit),
        visit("w-001", "h-0002", "g-0101", VisitType::Routine),
        report("w-001", "g-0101", ReportCategory::ResidentRequest, None, vec![]).0,
    ])
    .await;
    let (h, rows) = csv(hq, &hq.admin, "visits").await;
    let visits_header = h.clone();
    assert_eq!(h[0], "走访编号 (visit id)");
    assert!(h.iter().all(|c| c.contains(" (") && c.ends_with(')')), "{h:?}");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.len() == h.len()));
    let text: String = rows.concat().join(",");
    assert!(text.contains("138****5678"), "masked phone: {text}");
    assert!(!text.contains("13812345678"), "never the full number");
    assert!(text.contains("重点必访 (must-visit)"));
    // Times are RFC 3339 in the street's zone (Asia/Shanghai by default), with the offset.
    let visited = &rows[0][h.iter().position(|c| c.starts_with("走访时间")).unwrap()];
    assert!(chrono::DateTime::parse_from_rfc3339(visited).is_ok() && visited.ends_with("+08:00"), "{visited}");

    let (h, rows) = csv(hq, &hq.admin, "patrols").await;
    assert_eq!(rows.len(), 1);
    let col = |name: &str| h.iter().position(|c| c.starts_with(name)).unwrap();
    // One check-in is fewer than the template's two: 人到 not met, so not complete.
    assert_eq!(rows[0][col("人到")], "否 (no)");
    assert_eq!(rows[0][col("眼到")], "是 (yes)");
    assert_eq!(rows[0][col("记到")], "是 (yes)");
    assert_eq!(rows[0][col("三到齐全")], "否 (no)");

    assert_eq!(csv(hq, &hq.admin, "reports").await.1.len(), 1);
    assert_eq!(csv(hq, &hq.admin, "cases").await.1.len(), 1);
    assert_eq!(csv(hq, &hq.admin, "tasks").await.1.len(), 0);
    // Another community's operator: the header, no rows.
    let other = hq.operator("community", &["c-02"]).await;
    let (h2, rows) = csv(hq, &other, "visits").await;
    assert_eq!(h2, visits_header);
    assert!(rows.is_empty());
    // A period that holds nothing.
    let resp = hq
        .client
        .get(format!("{}/v1/admin/export/visits.csv?from=2001-01-01&to=2001-02-01", hq.url))
        .bearer_auth(&hq.admin)
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    assert_eq!(body.trim_end().lines().count(), 1);
}
