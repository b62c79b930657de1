//! Organisation beyond grids: volunteer teams (a worker in one at most) and buildings, imported
//! or added by the community's office, seen within scope, and figures per team.

use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::wire::OpStatus;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

both!(teams_and_buildings_are_kept_and_figures_group_by_team);

async fn teams_and_buildings_are_kept_and_figures_group_by_team(hq: &Hq) {
    let mut config = street();
    config["teams"] = json!([
        { "id": "team-donghu", "name": "东湖志愿服务队", "community_id": "c-01", "member_ids": ["w-002", "w-003"] },
        { "id": "team-xihu", "name": "西湖志愿服务队", "community_id": "c-02", "member_ids": ["w-002"] }
    ]);
    config["buildings"] = json!([{ "id": "b-3", "grid_id": "g-0101", "name": "3栋" }]);
    // w-002 in two teams: the whole file is refused, naming the field.
    let (s, v) = hq.post("/v1/admin/import", &hq.admin, config.clone()).await;
    assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("teams[1].member_ids")), "{v}");
    config["teams"][1]["member_ids"] = json!(["w-201"]);
    let summary = hq.admin(Method::POST, "/v1/admin/import", config).await;
    assert_eq!((summary["teams"].as_i64(), summary["buildings"].as_i64()), (Some(2), Some(1)));

    let donghu = hq.operator("community", &["c-01"]).await;
    let (_, teams) = hq.get("/v1/admin/teams", &donghu).await;
    assert_eq!(teams.as_array().map(Vec::len), Some(1), "a community's office sees its own teams: {teams}");
    assert_eq!(teams[0]["member_ids"], json!(["w-002", "w-003"]));
    // Another community's office may not change Donghu's team, nor take it over under its own
    // community; Donghu's office may not enlist Xihu's worker; the street admin may, and moving a
    // worker into a team takes them out of their old one.
    let xihu = hq.operator("community", &["c-02"]).await;
    let team = json!({ "id": "team-donghu", "name": "东湖志愿服务队", "community_id": "c-01", "member_ids": ["w-002", "w-201"] });
    assert_eq!(hq.call(Method::PUT, "/v1/admin/teams", Some(&xihu), Some(&team)).await.0, StatusCode::FORBIDDEN);
    let hijack = json!({ "id": "team-donghu", "name": "x", "community_id": "c-02", "member_ids": [] });
    assert_eq!(hq.call(Method::PUT, "/v1/admin/teams", Some(&xihu), Some(&hijack)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(hq.call(Method::PUT, "/v1/admin/teams", Some(&donghu), Some(&team)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(hq.call(Method::PUT, "/v1/admin/teams", Some(&hq.admin), Some(&team)).await.0, StatusCode::CREATED);
    // Nor may Xihu's office move Donghu's building into its own grid.
    let grab = json!({ "id": "b-3", "grid_id": "g-0201", "name": "3栋" });
    assert_eq!(hq.call(Method::PUT, "/v1/admin/buildings", Some(&xihu), Some(&grab)).await.0, StatusCode::FORBIDDEN);
    let (_, all) = hq.get("/v1/admin/teams", &hq.admin).await;
    let xihu_team = all.as_array().unwrap().iter().find(|t| t["id"] == "team-xihu").unwrap();
    assert_eq!(xihu_team["member_ids"], json!([]), "w-201 moved to Donghu's team");
    let (_, buildings) = hq.get("/v1/admin/buildings?grid_id=g-0101", &donghu).await;
    assert_eq!(buildings, json!([{ "id": "b-3", "grid_id": "g-0101", "name": "3栋" }]));
    assert_eq!(hq.get("/v1/admin/buildings", &xihu).await.1, json!([]), "not Xihu's grid");

    // Figures per team: w-002 (a volunteer) reports and visits; the team sums its members.
    let mut b = hq.phone("w-002").await;
    let r = b
        .push(&[
            visit("w-002", "h-0004", "g-0102", VisitType::MustVisit),
            report("w-002", "g-0102", ReportCategory::Dispute, None, vec![]).0,
        ])
        .await;
    assert!(statuses(&r).iter().all(|s| *s == OpStatus::Applied), "{r:?}");
    let from = (now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let to = (now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let f = hq.admin(Method::GET, &format!("/v1/admin/figures?from={from}&to={to}"), Value::Null).await;
    let t = f["teams"].as_array().unwrap().iter().find(|t| t["team_id"] == "team-donghu").unwrap();
    assert_eq!((t["members"].as_i64(), t["visits"].as_i64(), t["reports"].as_i64()), (Some(2), Some(1), Some(1)));
}
