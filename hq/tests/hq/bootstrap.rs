//! First start: the street admin is created once, its token printed and (SQLite) written to
//! `<data>/admin-token` readable by the owner only; later starts create nothing.

use reqwest::StatusCode;

use crate::common::*;

mod admin_created_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::admin_created_once(crate::common::Db::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::admin_created_once(crate::common::Db::Postgres).await;
    }
}

async fn admin_created_once(db: Db) {
    let Some(place) = Place::new(db).await else { return };
    let mut c = config(place.database());
    c.bootstrap_admin_token = None;
    let first = gridpatrol_hq::start(c.clone()).await.unwrap();
    let token = first.created_admin_token.clone().expect("a fresh database gets a street admin");
    assert!(token.starts_with("gpo_") && token.len() >= 4 + 64);
    if let Place::Sqlite(dir) = &place {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.path().join("admin-token");
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    first.stop().await.unwrap();
    // A restart (migrations already applied) creates no second admin.
    let second = gridpatrol_hq::start(c).await.unwrap();
    assert!(second.created_admin_token.is_none());
    let resp = client().get(format!("{}/v1/admin/me", second.url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let me: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(me["role"], "street_admin");
    assert!(format!("{:?}", config(place.database())).contains("<set>"), "Debug never prints the token");
    second.stop().await.unwrap();
}
