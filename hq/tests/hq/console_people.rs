//! The console's people and places, exports with coordinates and photo links, and the 110
//! desk's map and timeliness over real HTTP: each kind added and changed one by one through
//! the API's rules (a bad field named beside it, another community's rows refused), rows
//! imported from CSV, XLSX and GeoJSON all or nothing, every list exported and read back, photo
//! views audited, and a unit's tasks measured against the street's limits.

use std::io::Cursor;

use calamine::Reader;
use gridpatrol_protocol::domain::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;
use crate::console::{create_user, Browser};

both!(
    each_kind_of_people_and_places_is_added_and_changed_in_its_form,
    a_community_office_cannot_edit_another_communitys_people,
    rows_import_from_csv_xlsx_and_geojson_all_or_nothing,
    every_list_exports_with_coordinates_and_photo_links_and_photo_views_are_audited,
    the_desk_picks_a_place_on_the_map_and_measures_timeliness,
);

/// A `multipart/form-data` post of a CSRF token, a CSV kind and a file.
async fn upload(b: &Browser, token: &str, kind: &str, file: Vec<u8>) -> (StatusCode, String) {
    let boundary = "gpboundary7MA4YWxkTrZu0gX";
    let mut body = Vec::new();
    for (k, v) in [("_csrf", token), ("kind", kind)] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").into_bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"workbook\"; filename=\"rows\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .into_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let resp = b
        .client
        .post(format!("{}/import", b.url))
        .header("cookie", jar.join("; "))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// A statement run straight on the test's database; the first column of its rows as text.
async fn sql(hq: &Hq, q: &str) -> Vec<String> {
    let q = q.to_string();
    match &hq.place {
        Place::Sqlite(dir) => {
            let path = dir.path().join("hq.db");
            tokio::task::spawn_blocking(move || {
                let c = rusqlite::Connection::open(path).unwrap();
                let mut st = c.prepare(&q).unwrap();
                let cols = st.column_count();
                let rows = st
                    .query_map([], |r| if cols == 0 { Ok(String::new()) } else { r.get::<_, String>(0) })
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                rows
            })
            .await
            .unwrap()
        }
        Place::Postgres(s) => {
            let url = s.url();
            tokio::task::spawn_blocking(move || {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                c.query(&q, &[])
                    .unwrap()
                    .iter()
                    .map(|r| if r.is_empty() { String::new() } else { r.get::<_, String>(0) })
                    .collect()
            })
            .await
            .unwrap()
        }
    }
}

fn xlsx_rows(body: Vec<u8>, sheet: &str) -> Vec<Vec<String>> {
    let mut book = calamine::Xlsx::new(Cursor::new(body)).expect("a workbook");
    let range = book.worksheet_range(sheet).expect("the sheet");
    range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

async fn each_kind_of_people_and_places_is_added_and_changed_in_its_form(hq: &Hq) {
    hq.seed().await;
    let mut b = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let people = b.get("/people").await.text();
    for kind in ["communities", "grids", "buildings", "workers", "units", "teams", "households"] {
        assert!(people.contains(&format!(r#"data-add="{kind}""#)), "an add link for {kind}");
        assert!(people.contains(&format!(r#"href="/export/{kind}.xlsx""#)), "an export of {kind}");
        let form = b.get(&format!("/people/{kind}/new")).await;
        assert_eq!(form.status, StatusCode::OK, "{kind}");
        assert!(form.text().contains(r#"id="edit""#));
    }
    assert_eq!(b.get("/people/planets/new").await.status, StatusCode::NOT_FOUND);

    // A community with a code outside the street: the form again, the message beside `code`.
    let bad = b
        .submit(
            "/people/communities/new",
            "/people/communities",
            &[("id", "c-03"), ("code", "999999999003"), ("name", "南湖社区")],
        )
        .await;
    assert_eq!((bad.status, bad.error.as_deref()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    let html = bad.text();
    assert!(html.contains(r#"data-field="code""#) && html.contains("street"), "{html}");
    assert!(html.contains(r#"value="南湖社区""#), "what was typed is kept");
    let ok = b
        .submit(
            "/people/communities/new",
            "/people/communities",
            &[("id", "c-03"), ("code", "310101002003"), ("name", "南湖社区")],
        )
        .await;
    assert_eq!(
        (ok.status, ok.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/people#communities")),
        "{}",
        ok.text()
    );
    let dup = b
        .submit(
            "/people/communities/new",
            "/people/communities",
            &[("id", "c-03"), ("code", "310101002004"), ("name", "又一个")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "an id taken is a conflict, not an overwrite");

    // A grid from a pasted GeoJSON Feature; a boundary that is not one is named.
    let feature = json!({ "type": "Feature", "properties": {}, "geometry": { "type": "Polygon",
        "coordinates": [[[121.3, 31.0], [121.31, 31.0], [121.31, 31.01], [121.3, 31.01], [121.3, 31.0]]] } })
    .to_string();
    let grid = [("id", "g-0301"), ("code", "310101002003001"), ("community_id", "c-03"), ("name", "南湖一网格")];
    let mut f = grid.to_vec();
    f.push(("boundary", "121.3 31.0; 121.31"));
    let bad = b.submit("/people/grids/new", "/people/grids", &f).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains(r#"data-field="boundary""#));
    let mut f = grid.to_vec();
    f.push(("boundary", &feature));
    let ok = b.submit("/people/grids/new", "/people/grids", &f).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let grids = hq.admin(Method::GET, "/v1/admin/grids", Value::Null).await;
    let g = grids.as_array().unwrap().iter().find(|g| g["id"] == "g-0301").unwrap().clone();
    assert_eq!(g["boundary"]["coordinates"][0].as_array().unwrap().len(), 5, "four corners, closed");
    // Its form shows the boundary as corners to edit; a rename keeps the boundary.
    let edit = b.get("/people/grids/g-0301").await.text();
    assert!(edit.contains("121.3 31; 121.31 31; 121.31 31.01; 121.3 31.01"), "{edit}");
    let ok = b
        .submit(
            "/people/grids/g-0301",
            "/people/grids/g-0301",
            &[
                ("code", "310101002003001"),
                ("community_id", "c-03"),
                ("name", "南湖第一网格"),
                ("boundary", "121.3 31; 121.31 31; 121.31 31.01; 121.3 31.01"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());

    // A building, a worker with two grids, a unit changed, a team, a household.
    let ok = b
        .submit("/people/buildings/new", "/people/buildings", &[("id", "b-1"), ("grid_id", "g-0301"), ("name", "1栋")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let ok = b
        .submit(
            "/people/workers/new",
            "/people/workers",
            &[
                ("id", "w-301"),
                ("name", "钱网格"),
                ("role", "full_time"),
                ("grid_ids", "g-0301"),
                ("grid_ids", "g-0101"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let bad = b
        .submit(
            "/people/workers/w-301",
            "/people/workers/w-301",
            &[("name", "钱网格"), ("role", "boss"), ("grid_ids", "g-0301")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains(r#"data-field="role""#));
    let ok = b
        .submit(
            "/people/workers/w-301",
            "/people/workers/w-301",
            &[("name", "钱网格员"), ("role", "volunteer"), ("grid_ids", "g-0301")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let workers = hq.admin(Method::GET, "/v1/admin/workers", Value::Null).await;
    let w = workers.as_array().unwrap().iter().find(|w| w["id"] == "w-301").unwrap().clone();
    assert_eq!(
        (w["name"].as_str(), w["role"].as_str(), w["grid_ids"].clone()),
        (Some("钱网格员"), Some("volunteer"), json!(["g-0301"]))
    );

    let unit = hq
        .admin(
            Method::POST,
            "/v1/admin/units",
            json!({ "kind": "justice", "name": "司法所", "community_ids": ["c-01"] }),
        )
        .await;
    let unit_id = unit["id"].as_str().unwrap().to_string();
    let path = format!("/people/units/{unit_id}");
    let bad = b.submit(&path, &path, &[("kind", "justice"), ("name", "司法所")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "a unit serves at least one community");
    assert!(bad.text().contains(r#"data-field="community_ids""#));
    let ok = b
        .submit(
            &path,
            &path,
            &[("kind", "urban_management"), ("name", "城管中队"), ("contact", "021-1234"), ("community_ids", "c-03")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let units = hq.admin(Method::GET, "/v1/admin/units", Value::Null).await;
    assert_eq!((units[0]["name"].as_str(), units[0]["community_ids"].clone()), (Some("城管中队"), json!(["c-03"])));

    let ok = b
        .submit(
            "/people/teams/new",
            "/people/teams",
            &[("id", "t-1"), ("community_id", "c-03"), ("name", "南湖志愿队"), ("member_ids", "w-301")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let ok = b
        .submit(
            "/people/households/new",
            "/people/households",
            &[
                ("id", "h-301"),
                ("grid_id", "g-0301"),
                ("label", "1栋101"),
                ("name", "吴阿婆"),
                ("phone", "13700001111"),
                ("care_tags", "elderly"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    // Changed without a number: the number on file is kept (the form never shows it).
    let edit = b.get("/people/households/h-301").await.text();
    assert!(edit.contains("137****1111") && !edit.contains("13700001111"), "masked in the form too");
    let ok = b
        .submit(
            "/people/households/h-301",
            "/people/households/h-301",
            &[("grid_id", "g-0301"), ("label", "1栋102"), ("name", "吴阿婆")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    assert_eq!(sql(hq, "SELECT phone FROM household WHERE id = 'h-301'").await, ["13700001111"]);
    let people = b.get("/people").await.text();
    for s in ["南湖社区", "南湖第一网格", "1栋", "钱网格员", "城管中队", "南湖志愿队", "1栋102"]
    {
        assert!(people.contains(s), "{s} listed");
    }
    // Each change in the trail, by the console's user.
    let trail = hq.admin(Method::GET, "/v1/admin/audit?target=h-301", Value::Null).await;
    let actions: Vec<&str> = trail.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"household.create") && actions.contains(&"household.update"), "{actions:?}");
    // CSRF: a form posted without its token changes nothing.
    let p = b.post("/people/households/h-301", &[("grid_id", "g-0301"), ("label", "x"), ("name", "y")]).await;
    assert_eq!((p.status, p.error.as_deref()), (StatusCode::FORBIDDEN, Some("csrf_failed")));
}

async fn a_community_office_cannot_edit_another_communitys_people(hq: &Hq) {
    hq.seed().await;
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let password = create_user(&mut admin, "东湖社区", "donghu", "community", "c-01").await;
    let mut b = Browser::signed_in(&hq.url, "donghu", &password).await;
    // Its own: changed. Xihu's: not shown, not changed by URL or by post.
    let ok = b
        .submit(
            "/people/households/h-0002",
            "/people/households/h-0002",
            &[("grid_id", "g-0101"), ("label", "3栋2单元402"), ("name", "刘老师")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let far = b.get("/people/households/h-0201").await;
    assert_eq!(far.status, StatusCode::NOT_FOUND, "not in its lists at all");
    assert!(!far.text().contains("周先生"));
    for (path, form) in [
        ("/people/households/h-0201", vec![("grid_id", "g-0201"), ("label", "1栋101"), ("name", "改名")]),
        ("/people/households/h-0201", vec![("grid_id", "g-0101"), ("label", "1栋101"), ("name", "搬走")]),
        ("/people/workers/w-201", vec![("name", "改名"), ("role", "full_time"), ("grid_ids", "g-0201")]),
        (
            "/people/grids/g-0201",
            vec![
                ("code", "310101002002001"),
                ("community_id", "c-02"),
                ("name", "改名"),
                ("boundary", "121.2 31; 121.21 31; 121.21 31.01"),
            ],
        ),
        ("/people/buildings", vec![("id", "b-x"), ("grid_id", "g-0201"), ("name", "1栋")]),
        ("/people/teams", vec![("id", "t-x"), ("community_id", "c-02"), ("name", "西湖队")]),
    ] {
        let p = b.submit("/people", path, &form).await;
        assert_eq!((p.status, p.error.as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")), "{path}: {}", p.text());
    }
    assert_eq!(sql(hq, "SELECT name FROM household WHERE id = 'h-0201'").await, ["周先生"]);
    assert_eq!(hq.admin(Method::GET, "/v1/admin/buildings", Value::Null).await, json!([]));
    // A community: the street admin's only.
    let p = b.submit("/people", "/people/communities/c-01", &[("code", "310101002001"), ("name", "改名")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Rows imported by the office: another community's row refuses them all.
    let token = b.get("/import").await.csrf();
    let csv = "id,grid_id,label,name\nh-0003,g-0101,5栋1单元101,赵大爷\nh-0201,g-0201,1栋101,改名\n";
    let (s, page) = upload(&b, &token, "households", csv.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("households 第3行") && page.contains("forbidden"), "{page}");
    // A unit's account has no people pages.
    let unit = hq
        .admin(
            Method::POST,
            "/v1/admin/units",
            json!({ "kind": "justice", "name": "司法所", "community_ids": ["c-01"] }),
        )
        .await;
    let pw = create_user(&mut admin, "司法所", "justice", "unit", unit["id"].as_str().unwrap()).await;
    let mut u = Browser::signed_in(&hq.url, "justice", &pw).await;
    assert_eq!(u.get("/people").await.status, StatusCode::FORBIDDEN);
    assert_eq!(u.get("/import").await.status, StatusCode::FORBIDDEN);
    assert_eq!(u.get("/export/households.csv").await.status, StatusCode::FORBIDDEN);
}

async fn rows_import_from_csv_xlsx_and_geojson_all_or_nothing(hq: &Hq) {
    hq.seed().await;
    let mut b = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let token = b.get("/import").await.csrf();
    // The households' own export, edited and read back: a masked number keeps the one on file.
    let csv = b.get("/export/households.csv").await;
    assert!(csv.body.starts_with("\u{feff}".as_bytes()), "a UTF-8 BOM for Excel");
    let text = csv.text().replace("3栋2单元402", "3栋2单元403");
    let (s, page) = upload(&b, &token, "households", text.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains(r#"id="import-done""#) && page.contains("5"), "{page}");
    assert_eq!(sql(hq, "SELECT label FROM household WHERE id = 'h-0002'").await, ["3栋2单元403"]);
    assert_eq!(sql(hq, "SELECT phone FROM household WHERE id = 'h-0002'").await, ["13987654321"], "kept");

    // Rows with errors: each named, nothing of the file saved (not even the good rows).
    let csv = "id,grid_id,label,name,phone,care_tags\n\
               h-9001,g-0101,9栋101,新住户,,\n\
               h-9002,g-9999,9栋102,无网格,,\n\
               h-9003,g-0101,,无门牌,,\n\
               h-9004,g-0101,9栋104,坏电话,12ab,\n";
    let (s, page) = upload(&b, &token, "households", csv.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    for row in ["第3行", "第4行", "第5行"] {
        assert!(page.contains(&format!("households {row}")), "{row}: {page}");
    }
    assert!(!page.contains("households 第2行"), "the good row is not an error");
    assert!(sql(hq, "SELECT id FROM household WHERE id LIKE 'h-9%'").await.is_empty(), "nothing half-imported");

    // A workbook without a street: buildings, units and teams with every kind's rows.
    let mut w = rust_xlsxwriter::Workbook::new();
    for (sheet, rows) in [
        ("buildings", vec![vec!["id", "grid_id", "name"], vec!["b-1", "g-0101", "3栋"], vec!["b-2", "g-0102", "8栋"]]),
        (
            "units",
            vec![
                vec!["id", "kind", "name", "contact", "community_ids"],
                vec!["u-1", "justice", "东湖司法所", "", "c-01"],
            ],
        ),
        (
            "teams",
            vec![vec!["id", "community_id", "name", "member_ids"], vec!["t-1", "c-01", "东湖志愿队", "w-002, w-001"]],
        ),
    ] {
        let ws = w.add_worksheet();
        ws.set_name(sheet).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    let (s, page) = upload(&b, &token, "households", w.save_to_buffer().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(hq.admin(Method::GET, "/v1/admin/buildings", Value::Null).await.as_array().unwrap().len(), 2);
    let teams = hq.admin(Method::GET, "/v1/admin/teams", Value::Null).await;
    assert_eq!(teams[0]["member_ids"], json!(["w-001", "w-002"]));
    let units = hq.admin(Method::GET, "/v1/admin/units", Value::Null).await;
    assert_eq!((units[0]["id"].as_str(), units[0]["kind"].as_str()), (Some("u-1"), Some("justice")));

    // A GeoJSON FeatureCollection of grids: a new one and a changed boundary.
    let square = |x: f64| json!([[[x, 31.0], [x + 0.02, 31.0], [x + 0.02, 31.02], [x, 31.02], [x, 31.0]]]);
    let fc = json!({ "type": "FeatureCollection", "features": [
        { "type": "Feature", "properties": { "id": "g-0101", "code": "310101002001001", "community_id": "c-01", "name": "东湖一网格" },
          "geometry": { "type": "Polygon", "coordinates": square(121.0) } },
        { "type": "Feature", "properties": { "id": "g-0103", "code": "310101002001003", "community_id": "c-01", "name": "东湖三网格" },
          "geometry": { "type": "Polygon", "coordinates": square(121.05) } }
    ]});
    let (s, page) = upload(&b, &token, "grids", fc.to_string().into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let grids = hq.admin(Method::GET, "/v1/admin/grids", Value::Null).await;
    assert_eq!(grids.as_array().unwrap().len(), 4);
    let g = grids.as_array().unwrap().iter().find(|g| g["id"] == "g-0101").unwrap();
    assert_eq!(g["boundary"]["coordinates"][0][2], json!([121.02, 31.02]), "the boundary replaced");
    // One feature in a community that does not exist: none of them saved.
    let fc = json!({ "type": "FeatureCollection", "features": [
        { "type": "Feature", "properties": { "id": "g-0104", "code": "310101002001004", "community_id": "c-01", "name": "四" },
          "geometry": { "type": "Polygon", "coordinates": square(121.3) } },
        { "type": "Feature", "properties": { "id": "g-0901", "code": "310101002009001", "community_id": "c-09", "name": "九" },
          "geometry": { "type": "Polygon", "coordinates": square(121.4) } }
    ]});
    let (s, page) = upload(&b, &token, "grids", fc.to_string().into_bytes()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("grids 第3行") && page.contains("community"), "{page}");
    assert_eq!(hq.admin(Method::GET, "/v1/admin/grids", Value::Null).await.as_array().unwrap().len(), 4);
    // The trail has the import.
    let trail = hq.admin(Method::GET, "/v1/admin/audit?action=import.rows", Value::Null).await;
    assert_eq!(trail.as_array().unwrap().len(), 3, "{trail}");
}

async fn every_list_exports_with_coordinates_and_photo_links_and_photo_views_are_audited(hq: &Hq) {
    hq.seed().await;
    let jpeg = gridpatrol_testing::tiny_jpeg(2);
    let photo = sha(&jpeg);
    let mut phone = hq.phone("w-001").await;
    let (rep, case_id) = report("w-001", "g-0101", ReportCategory::SafetyHazard, None, vec![photo.clone()]);
    phone.push(&[rep]).await;
    let put = hq
        .client
        .put(format!("{}/v1/attachments/{photo}", hq.url))
        .bearer_auth(&phone.token)
        .header(gridpatrol_protocol::wire::PROTOCOL_HEADER, "2")
        .header("content-range", format!("bytes 0-{}/{}", jpeg.len() - 1, jpeg.len()))
        .body(jpeg.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let mut b = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let host = hq.url.trim_start_matches("http://").to_string();

    // Reports and cases: coordinates as numbers, the photo a link to the console's photo.
    let link = format!("http://{host}/photos/{photo}");
    for list in ["reports", "cases"] {
        let rows = xlsx_rows(b.get(&format!("/export/{list}.xlsx")).await.body, list);
        let col =
            |name: &str| rows[0].iter().position(|h| h.contains(name)).unwrap_or_else(|| panic!("{name} in {list}"));
        assert_eq!(rows.len(), 2, "{list}: {rows:?}");
        assert_eq!(rows[1][col("(latitude, WGS-84)")], inside_g0101().lat.to_string(), "{list}");
        assert_eq!(rows[1][col("(longitude, WGS-84)")], inside_g0101().lng.to_string());
        assert_eq!(rows[1][col("(photo links)")], link, "{list}");
        let csv = b.get(&format!("/export/{list}.csv")).await;
        assert!(csv.body.starts_with("\u{feff}".as_bytes()));
        assert!(csv.text().contains(&link));
    }
    assert!(b.get("/export/cases.csv").await.text().contains(&case_id));
    // The link opens the photo for a signed-in operator, as an image, and the view is audited.
    let img = b.get(&format!("/photos/{photo}")).await;
    assert_eq!((img.status, img.content_type.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(img.body, jpeg);
    assert_eq!(
        Browser::new(&hq.url).get(&format!("/photos/{photo}")).await.status,
        StatusCode::SEE_OTHER,
        "signed out: sign in first"
    );
    let views = hq.admin(Method::GET, &format!("/v1/admin/audit?action=photo.view&target={photo}"), Value::Null).await;
    assert_eq!(views.as_array().unwrap().len(), 1, "{views}");

    // Every list of people and places, readable in both formats.
    let expect = [
        ("communities", 2, "东湖社区 (Donghu)"),
        ("grids", 3, "121 31; 121.01 31; 121.01 31.01; 121 31.01"),
        ("buildings", 0, ""),
        ("workers", 4, "张网格长"),
        ("units", 0, ""),
        ("teams", 0, ""),
        ("households", 5, "138****5678"),
    ];
    for (list, n, cell) in expect {
        let x = b.get(&format!("/export/{list}.xlsx")).await;
        assert_eq!(x.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        let rows = xlsx_rows(x.body, list);
        assert_eq!(rows.len(), n + 1, "{list}: {rows:?}");
        assert!(n == 0 || rows.iter().flatten().any(|c| c == cell), "{list}: {rows:?}");
        assert!(!rows.iter().flatten().any(|c| c.contains("13812345678")), "phones masked");
        let c = b.get(&format!("/export/{list}.csv")).await;
        assert_eq!(c.content_type, "text/csv; charset=utf-8");
        assert!(c.body.starts_with("\u{feff}".as_bytes()));
    }
    let exports = hq.admin(Method::GET, "/v1/admin/audit?action=export&target=households", Value::Null).await;
    assert_eq!(exports.as_array().unwrap().len(), 2, "each download in the trail: {exports}");

    // Another community's office: no photo, no rows of it in the exports.
    let password = create_user(&mut b, "西湖社区", "xihu", "community", "c-02").await;
    let mut x = Browser::signed_in(&hq.url, "xihu", &password).await;
    let p = x.get(&format!("/photos/{photo}")).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body != jpeg);
    assert_eq!(xlsx_rows(x.get("/export/reports.xlsx").await.body, "reports").len(), 1, "the heading only");
    let hh = xlsx_rows(x.get("/export/households.xlsx").await.body, "households");
    assert_eq!(hh.len(), 2, "Xihu's one household: {hh:?}");
    let views = hq.admin(Method::GET, "/v1/admin/audit?action=photo.view", Value::Null).await;
    assert_eq!(views.as_array().unwrap().len(), 1, "a refused view shows nothing and records no view");
}

async fn the_desk_picks_a_place_on_the_map_and_measures_timeliness(hq: &Hq) {
    hq.seed().await;
    hq.admin(
        Method::PUT,
        "/v1/admin/settings/timeliness",
        json!({ "acknowledge_within_minutes": 15, "arrive_within_minutes": 45 }),
    )
    .await;
    let unit = hq
        .admin(
            Method::POST,
            "/v1/admin/units",
            json!({ "kind": "justice", "name": "司法所", "community_ids": ["c-01"] }),
        )
        .await;
    let unit_id = unit["id"].as_str().unwrap().to_string();
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let desk = admin.get("/desk").await.text();
    // The grids drawn from their boundaries, with the projection the click is inverted by.
    assert!(desk.contains(r#"id="pick-map""#) && desk.contains(r#"data-pick="lat,lng""#), "{desk}");
    assert_eq!(desk.matches("<polygon data-grid=").count(), 3, "each grid drawn");
    assert!(desk.contains("data-min-lng=") && desk.contains("data-k="));
    assert!(desk.contains("15") && desk.contains("45"), "the street's limits shown");
    let at = |hours: i64| {
        (chrono::Utc::now() + chrono::Duration::hours(hours))
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    // The place by a click (its lat/lng fields) or by address; both reach the task.
    let p = admin
        .submit(
            "/desk",
            "/desk",
            &[
                ("title", "占道经营"),
                ("lat", "31.005"),
                ("lng", "121.005"),
                ("unit_id", &unit_id),
                ("deadline", &at(2)),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text());
    let p = admin
        .submit(
            "/desk",
            "/desk",
            &[("title", "半个坐标"), ("lat", "31.005"), ("unit_id", &unit_id), ("deadline", &at(2))],
        )
        .await;
    assert_eq!((p.status, p.error.as_deref()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "lat without lng");
    let tasks = hq.admin(Method::GET, "/v1/admin/tasks", Value::Null).await;
    assert_eq!(tasks[0]["details"]["location"], json!({ "lat": 31.005, "lng": 121.005 }));
    let task_id = tasks[0]["id"].as_str().unwrap().to_string();
    // Fresh: all three due, none late.
    let row = |html: &str| {
        let at = html.find(&format!(r#"data-task="{task_id}""#)).expect("the task's row");
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    let r = row(&admin.get("/desk").await.text());
    assert_eq!(r.matches("待办").count(), 3, "{r}");
    // Dispatched an hour ago (the clock moved for the test): acknowledge and arrive are late.
    let hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
    sql(hq, &format!("UPDATE task SET dispatched_ms = {hour_ago} WHERE id = '{task_id}'")).await;
    let pw = create_user(&mut admin, "司法所", "justice", "unit", &unit_id).await;
    let mut u = Browser::signed_in(&hq.url, "justice", &pw).await;
    let r = row(&u.get("/desk").await.text());
    assert!(r.contains(r#"data-timely="acknowledge""#), "{r}");
    assert_eq!(r.matches("已超时").count(), 2, "acknowledge and arrive overdue: {r}");
    assert!(r.contains("45 分钟") && r.contains("15 分钟"), "by how much: {r}");
    let p = u.submit("/desk", &format!("/desk/{task_id}/step"), &[("action", "acknowledge")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let r = row(&u.get("/desk").await.text());
    assert!(r.contains("超时") && r.contains("已超时"), "acknowledged late, arrival still overdue: {r}");
    assert!(!r.contains("按时"), "{r}");
    // In English too.
    assert!(u.get("/desk?lang=en").await.text().contains("Timeliness"));
}
