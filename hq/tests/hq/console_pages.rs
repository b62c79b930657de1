//! The console's pages over real HTTP, each through the API's own handlers: a community
//! office sees its own cases only (by URL too), a report's `<script>` is text, a case step is
//! posted as a form and its photo comes back as an image, a 110 task goes to a unit whose
//! staff see and work only their own, the board shows the figures, exports open as CSV and
//! XLSX, and the English switch.

use std::io::Cursor;

use calamine::Reader;
use gridpatrol_protocol::domain::*;
use gridpatrol_protocol::records::Command;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;
use crate::console::{create_user, Browser};

both!(
    a_community_office_sees_its_own_cases_and_a_script_is_text,
    a_110_task_goes_to_a_unit_that_acts_on_its_own_tasks_only,
    the_board_exports_and_english_switch,
    the_map_meetings_and_templates,
    a_street_imports_from_xlsx_whole_or_not_at_all,
    a_template_is_edited_in_its_form_previewed_and_published,
    the_map_marks_reports_by_category_and_flagged_checkins_by_layer,
    map_tiles_only_when_configured,
    the_case_inbox_shows_a_hundred_cases_a_page,
);

/// The fields of the template form as the page fills them, to post back changed.
fn template_form(html: &str) -> Vec<(String, String)> {
    let form = &html[html.find(r#"id="publish""#).unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    let mut out = Vec::new();
    for part in form.split("<input").skip(1) {
        let attr = |k: &str| {
            let at = part.find(&format!(r#"{k}=""#))? + k.len() + 2;
            Some(part[at..at + part[at..].find('"')?].replace("&quot;", "\"").replace("&amp;", "&"))
        };
        let (Some(name), ty) = (attr("name"), attr("type")) else { continue };
        let checkbox = ty.as_deref() == Some("checkbox");
        let tag_end = part.find('>').unwrap_or(part.len());
        if name == "_csrf" || (checkbox && !part[..tag_end].contains("checked")) {
            continue;
        }
        out.push((name, attr("value").unwrap_or_default()));
    }
    out
}

async fn a_template_is_edited_in_its_form_previewed_and_published(hq: &Hq) {
    hq.seed().await;
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let html = admin.get("/templates").await.text();
    assert!(html.contains(r#"id="phone-preview""#) && html.contains(r#"id="template-items""#), "{html}");
    let fields = template_form(&html);
    let items = fields.iter().filter(|(k, v)| k == "item_id" && !v.is_empty()).count();
    assert!(items > 0 && fields.iter().any(|(k, _)| k == "required"), "{fields:?}");
    let with = |changes: &[(&str, &str)], extra: &[(&str, &str)]| {
        let mut f: Vec<(String, String)> = fields.clone();
        for (k, v) in changes {
            if let Some(x) = f.iter_mut().find(|(n, _)| n == k) {
                x.1 = v.to_string();
            }
        }
        // A new item in the first empty row.
        let blank = f.iter().position(|(k, v)| k == "item_id" && v.is_empty()).unwrap();
        for (i, (k, v)) in extra.iter().enumerate() {
            f[blank + i] = (k.to_string(), v.to_string());
        }
        f
    };
    let new_item = [("item_id", "fire_lane"), ("item_zh", "消防通道畅通"), ("item_en", "fire lane clear")];
    // Preview: the phone's view of the draft, nothing published.
    let mut f = with(&[("name", "3456 巡查 (form)")], &new_item);
    f.push(("do".into(), "preview".into()));
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = admin.submit("/templates", "/templates", &f).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text());
    let page = p.text();
    let preview = &page[page.find(r#"id="phone-preview""#).unwrap()..];
    assert!(preview.contains("消防通道畅通") && preview.contains("3456 巡查 (form)"), "{preview}");
    let before = hq.admin(Method::GET, "/v1/admin/templates", Value::Null).await.as_array().unwrap().len();
    assert_eq!(before, 1, "a preview publishes nothing");
    // A draft that breaks the template's rules: refused with why, the draft kept in the form.
    let mut f = with(&[("min_checkins", "0")], &new_item);
    f.push(("do".into(), "publish".into()));
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = admin.submit("/templates", "/templates", &f).await;
    assert_eq!((p.status, p.error.as_deref()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    assert!(p.text().contains("min_checkins") && p.text().contains("消防通道畅通"));
    let mut f = with(&[("min_checkins", "two")], &[]);
    f.push(("do".into(), "publish".into()));
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(admin.submit("/templates", "/templates", &f).await.status, StatusCode::BAD_REQUEST, "not a number");
    // Published: the next version, with the new item and only the clear items left ticked.
    let mut f = with(&[("name", "3456 巡查 (form)"), ("min_checkins", "3")], &new_item);
    f.retain(|(k, v)| !(k == "required" && v == "feedback"));
    f.push(("do".into(), "publish".into()));
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = admin.submit("/templates", "/templates", &f).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text());
    let templates = hq.admin(Method::GET, "/v1/admin/templates", Value::Null).await;
    let active = templates.as_array().unwrap().iter().find(|t| t["active"] == true).unwrap().clone();
    assert_eq!(active["version"], 2);
    let t = &active["template"];
    assert_eq!((t["name"].as_str(), t["patrol"]["min_checkins"].as_u64()), (Some("3456 巡查 (form)"), Some(3)));
    assert_eq!(t["patrol"]["checklist"].as_array().unwrap().len(), items + 1);
    assert!(!t["resolution"]["required"].as_array().unwrap().contains(&json!("feedback")));
    // Only the street admin; CSRF as everywhere.
    let pw = create_user(&mut admin, "东湖社区", "donghu", "community", "c-01").await;
    let mut c = Browser::signed_in(&hq.url, "donghu", &pw).await;
    assert!(!c.get("/templates").await.text().contains(r#"id="publish""#));
    assert_eq!(c.submit("/templates", "/templates", &f).await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.post("/templates", &f).await.status, StatusCode::FORBIDDEN, "no CSRF token");
}

/// A `multipart/form-data` post of a CSRF token and a workbook file.
async fn upload(b: &Browser, token: Option<&str>, workbook: Vec<u8>) -> (StatusCode, String) {
    let boundary = "gpboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    if let Some(t) = token {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{t}\r\n").into_bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"workbook\"; filename=\"street.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .into_bytes(),
    );
    body.extend(workbook);
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

async fn a_street_imports_from_xlsx_whole_or_not_at_all(hq: &Hq) {
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let template = admin.get("/import/template.xlsx").await;
    assert_eq!(template.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let token = admin.get("/import").await.csrf();
    assert_eq!(upload(&admin, None, template.body.clone()).await.0, StatusCode::FORBIDDEN, "CSRF on uploads too");

    // A workbook whose worker names a grid that does not exist, and a row with a bad role:
    // each named by sheet and row, nothing imported (not even the good communities).
    let mut book = calamine::Xlsx::new(Cursor::new(template.body.clone())).unwrap();
    let mut w = rust_xlsxwriter::Workbook::new();
    for name in ["street", "communities", "grids", "workers", "households"] {
        let range = book.worksheet_range(name).unwrap();
        let ws = w.add_worksheet();
        ws.set_name(name).unwrap();
        for (r, row) in range.rows().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, v.to_string()).unwrap();
            }
        }
        if name == "workers" {
            ws.write_string(3, 0, "w-009").unwrap();
            ws.write_string(3, 1, "孙网格").unwrap();
            ws.write_string(3, 2, "captain").unwrap();
            ws.write_string(3, 3, "g-0101").unwrap();
        }
    }
    let (s, page) = upload(&admin, Some(&token), w.save_to_buffer().unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("workers 第4行") && page.contains("captain"), "{page}");
    assert_eq!(hq.admin(Method::GET, "/v1/admin/communities", Value::Null).await, json!([]), "nothing half-imported");
    assert!(!admin.get("/people").await.text().contains("东湖社区"));

    // The template as it is: the whole sample street.
    let (s, page) = upload(&admin, Some(&token), template.body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains(r#"id="import-done""#));
    let communities = hq.admin(Method::GET, "/v1/admin/communities", Value::Null).await;
    assert_eq!(communities.as_array().unwrap().len(), 2);
    let workers = hq.admin(Method::GET, "/v1/admin/workers", Value::Null).await;
    assert_eq!(workers.as_array().unwrap().len(), 2);
    let people = admin.get("/people").await.text();
    assert!(people.contains("东湖社区") && people.contains("李网格") && people.contains("3栋2单元301"), "{people}");
    assert!(people.contains("138****5678") && !people.contains("13812345678"), "phones masked");
    // Not a workbook at all: a 400 page, not a 500.
    let (s, page) = upload(&admin, Some(&token), b"hello".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    // Only the street admin imports a whole street.
    let password = create_user(&mut admin, "东湖社区", "donghu", "community", "c-01").await;
    let community = Browser::signed_in(&hq.url, "donghu", &password).await;
    let mut c2 = community;
    let t2 = c2.get("/board").await.csrf();
    assert_eq!(upload(&c2, Some(&t2), template.body).await.0, StatusCode::FORBIDDEN, "a whole street: admin only");
    assert_eq!(upload(&c2, Some(&t2), vec![]).await.0, StatusCode::BAD_REQUEST, "no file");
    // An office imports rows of its own area (console_people.rs); a unit's account nothing.
    assert_eq!(c2.get("/import").await.status, StatusCode::OK);
}

async fn the_map_meetings_and_templates(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let (rep, case_id) = report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]);
    phone.push(&[rep]).await;
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let map = admin.get("/map").await;
    assert_eq!(map.status, StatusCode::OK);
    let svg = map.text();
    for g in ["g-0101", "g-0102", "g-0201"] {
        assert!(svg.contains(&format!(r#"data-grid="{g}""#)), "{g} drawn");
    }
    assert!(
        svg.contains(&format!(r#"href="/cases/{case_id}""#)) && svg.contains(r#"class="case""#),
        "the open case marked"
    );
    assert!(svg.contains(r##"fill="#e8837e""##), "no patrol this month yet: grids coloured below 60%");
    let password = create_user(&mut admin, "东湖社区", "donghu", "community", "c-01").await;
    let mut community = Browser::signed_in(&hq.url, "donghu", &password).await;
    let theirs = community.get("/map").await.text();
    assert!(
        theirs.contains(r#"data-grid="g-0101""#) && !theirs.contains(r#"data-grid="g-0201""#),
        "its own grids only"
    );

    // 相约星期五: a meeting with one list item becomes a task, shown open.
    let deadline = (chrono::Utc::now() + chrono::Duration::days(7)).with_timezone(&chrono_tz::Asia::Shanghai);
    let deadline = deadline.format("%Y-%m-%dT%H:%M").to_string();
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d").to_string();
    let p = community
        .submit(
            "/meetings",
            "/meetings",
            &[
                ("community_id", "c-01"),
                ("held_on", &today),
                ("attendees", "12"),
                ("topic0", "小区路灯不亮"),
                ("raised_by0", "居民代表"),
                ("grid_id0", "g-0101"),
                ("assignee_id0", "w-001"),
                ("unit_id0", ""),
                ("deadline0", &deadline),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text());
    let list = community.get("/meetings").await.text();
    assert!(list.contains("小区路灯不亮") && list.contains("居民代表"));
    let tasks = hq.admin(Method::GET, "/v1/admin/tasks", Value::Null).await;
    assert_eq!(tasks[0]["source"], "weekly_meeting");
    let far = [
        ("community_id", "c-02"),
        ("held_on", today.as_str()),
        ("topic0", "x"),
        ("grid_id0", "g-0201"),
        ("assignee_id0", "w-201"),
        ("deadline0", deadline.as_str()),
    ];
    let bad = community.submit("/meetings", "/meetings", &far).await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN, "another community's meeting");

    // Templates: the active one previewed; the admin publishes the next version from the form.
    let page = admin.get("/templates").await;
    let html = page.text();
    assert!(html.contains(r#"id="publish""#) && html.contains("当前使用"));
    let draft = {
        let at = html.find(r#"name="template""#).unwrap();
        let start = html[at..].find('>').unwrap() + at + 1;
        let end = html[start..].find("</textarea>").unwrap() + start;
        html[start..end].replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    };
    let mut t: Value = serde_json::from_str(&draft).expect("the draft is the active template as JSON");
    let version = t["version"].as_u64().unwrap();
    t["name"] = Value::from("3456 巡查 (console edit)");
    let p = admin.submit("/templates", "/templates", &[("template", &t.to_string())]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text());
    let templates = hq.admin(Method::GET, "/v1/admin/templates", Value::Null).await;
    let active: Vec<&Value> = templates.as_array().unwrap().iter().filter(|t| t["active"] == true).collect();
    assert_eq!((active.len(), active[0]["version"].as_u64()), (1, Some(version)));
    assert_eq!(active[0]["name"], "3456 巡查 (console edit)");
    let broken = admin.submit("/templates", "/templates", &[("template", "{not json")]).await;
    assert_eq!((broken.status, broken.error.as_deref()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    assert!(!community.get("/templates").await.text().contains(r#"id="publish""#));
    let refused = community.submit("/templates", "/templates", &[("template", &t.to_string())]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn a_community_office_sees_its_own_cases_and_a_script_is_text(hq: &Hq) {
    hq.seed().await;
    let jpeg = gridpatrol_testing::tiny_jpeg(1);
    let photo = sha(&jpeg);
    let mut phone = hq.phone("w-001").await;
    let (mut own, own_id) = report("w-001", "g-0101", ReportCategory::SafetyHazard, None, vec![photo.clone()]);
    if let Command::FileReport { report } = &mut own {
        report.description = "<script>alert('x')</script> 楼道堆物".into();
    }
    let mut far = hq.phone("w-201").await;
    let (other, other_id) = report("w-201", "g-0201", ReportCategory::Dispute, None, vec![]);
    phone.push(&[own]).await;
    far.push(&[other]).await;
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

    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let password = create_user(&mut admin, "东湖社区 (Donghu)", "donghu", "community", "c-01").await;
    let mut b = Browser::signed_in(&hq.url, "donghu", &password).await;
    let inbox = b.get("/cases").await.text();
    assert!(inbox.contains(&format!("/cases/{own_id}")), "its own case is listed");
    assert!(!inbox.contains(&format!("/cases/{other_id}")), "another community's is not");
    // By URL: refused by the API's own scope check, with its code.
    let far_page = b.get(&format!("/cases/{other_id}")).await;
    assert_eq!((far_page.status, far_page.error.as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert!(!far_page.text().contains("西湖"), "nothing of it shown");

    let page = b.get(&format!("/cases/{own_id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt; 楼道堆物"), "escaped");
    assert!(!html.contains("<script>alert"), "never markup");
    assert!(html.contains(&format!(r#"src="/photos/{photo}""#)), "the photo inline");
    assert!(html.contains("事实清") && html.contains("台账清"), "the six clear items");
    // The steps offered are the role table's for a community office on a reported case.
    assert!(html.contains(r#"name="action" value="accept""#) && html.contains(r#"name="action" value="reject""#));
    assert!(!html.contains(r#"value="close""#), "a reported case is not the office's to close at once");
    let img = b.get(&format!("/photos/{photo}")).await;
    assert_eq!((img.status, img.content_type.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(img.body, jpeg);
    let (s, _) = hq.get(&format!("/v1/admin/attachments/{photo}"), &hq.admin).await;
    assert_eq!(s, StatusCode::OK);
    let api =
        hq.client.get(format!("{}/v1/admin/attachments/{photo}", hq.url)).bearer_auth(&hq.admin).send().await.unwrap();
    assert_eq!(api.headers()["content-type"], "image/jpeg", "the API's photos carry their type too");

    // A step as a form: accepted, with the facts, through the API's state machine.
    let token = page.csrf();
    let done = b
        .post(&format!("/cases/{own_id}/act"), &[("_csrf", &token), ("action", "accept"), ("facts", "楼道堆放杂物")])
        .await;
    assert_eq!((done.status, done.location.clone()), (StatusCode::SEE_OTHER, Some(format!("/cases/{own_id}"))));
    let after = b.get(&format!("/cases/{own_id}")).await.text();
    assert!(after.contains("楼道堆放杂物") && after.contains("受理"));
    // An illegal step is refused with the API's code, not a 500.
    let again = b.post(&format!("/cases/{own_id}/act"), &[("_csrf", &token), ("action", "accept")]).await;
    assert_eq!((again.status, again.error.as_deref()), (StatusCode::CONFLICT, Some("conflict")));
    let bogus = b.post(&format!("/cases/{own_id}/act"), &[("_csrf", &token), ("action", "explode")]).await;
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST);
    // Filters: state, and overdue (nothing is).
    assert!(b.get("/cases?state=accepted").await.text().contains(&own_id));
    assert!(!b.get("/cases?state=reported").await.text().contains(&own_id));
    assert!(!b.get("/cases?overdue=1").await.text().contains(&own_id));
    assert_eq!(b.get("/cases?state=nonsense").await.status, StatusCode::BAD_REQUEST);
    // By responsible unit (责任清), once the case is opened and dispatched to one.
    let due = (chrono::Utc::now() + chrono::Duration::days(3)).with_timezone(&chrono_tz::Asia::Shanghai);
    let due = due.format("%Y-%m-%dT%H:%M").to_string();
    for (action, extra) in
        [("open", vec![]), ("dispatch", vec![("responsible_unit", "东湖物业"), ("deadline", due.as_str())])]
    {
        let mut f = vec![("_csrf", token.as_str()), ("action", action)];
        f.extend(extra);
        assert_eq!(b.post(&format!("/cases/{own_id}/act"), &f).await.status, StatusCode::SEE_OTHER, "{action}");
    }
    assert!(b.get("/cases?unit=物业").await.text().contains(&own_id));
    assert!(!b.get("/cases?unit=城管").await.text().contains(&own_id));
    // The community office's trail: the console's reads and its step are the API's audit entries.
    let trail = hq.admin(Method::GET, "/v1/admin/audit?action=case.act", Value::Null).await;
    assert_eq!(trail.as_array().unwrap().len(), 3, "accept, open, dispatch");
}

async fn a_110_task_goes_to_a_unit_that_acts_on_its_own_tasks_only(hq: &Hq) {
    hq.seed().await;
    let unit = |name: &str| json!({ "kind": "justice", "name": name, "community_ids": ["c-01"] });
    let a = hq.admin(Method::POST, "/v1/admin/units", unit("东湖司法所")).await["id"].as_str().unwrap().to_string();
    let other = hq.admin(Method::POST, "/v1/admin/units", unit("城管中队")).await["id"].as_str().unwrap().to_string();
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    // A unit added from the console's form (the API's checks: at least one community served).
    let p = admin
        .submit("/units", "/units", &[("name", "东湖律师工作室"), ("kind", "lawyer"), ("community_ids", "c-01")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text());
    assert!(admin.get("/units").await.text().contains("东湖律师工作室"));
    let none = admin.submit("/units", "/units", &[("name", "无社区"), ("kind", "lawyer")]).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    let pw_a = create_user(&mut admin, "司法所值班", "justice", "unit", &a).await;
    let pw_o = create_user(&mut admin, "城管值班", "urban", "unit", &other).await;

    let deadline = (chrono::Utc::now() + chrono::Duration::hours(30)).with_timezone(&chrono_tz::Asia::Shanghai);
    let deadline = deadline.format("%Y-%m-%dT%H:%M").to_string();
    let p = admin
        .submit(
            "/desk",
            "/desk",
            &[
                ("title", "邻里噪音纠纷"),
                ("caller", "13812345678"),
                ("address", "东湖小区3栋"),
                ("category", "dispute"),
                ("unit_id", &a),
                ("assignee_id", "w-001"),
                ("deadline", &deadline),
            ],
        )
        .await;
    assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/desk")), "{}", p.text());
    let queue = admin.get("/desk").await.text();
    assert!(queue.contains("邻里噪音纠纷") && queue.contains("138****5678"), "the caller masked");
    assert!(!queue.contains("13812345678"));
    let tasks = hq.admin(Method::GET, "/v1/admin/tasks", Value::Null).await;
    let task_id = tasks[0]["id"].as_str().unwrap().to_string();
    assert_eq!(tasks[0]["source"], "diversion_110");
    assert_eq!(tasks[0]["target_unit"], "东湖司法所");

    // The other unit sees nothing and cannot act on it by URL.
    let mut o = Browser::signed_in(&hq.url, "urban", &pw_o).await;
    assert_eq!(o.get("/").await.location.as_deref(), Some("/desk"), "a unit starts at its queue");
    assert!(!o.get("/desk").await.text().contains("邻里噪音纠纷"));
    assert_eq!(o.get("/cases").await.status, StatusCode::FORBIDDEN, "a unit sees no area's cases");
    let refused = o.submit("/desk", &format!("/desk/{task_id}/step"), &[("action", "acknowledge")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The unit acknowledges, arrives with a fix, and completes.
    let mut u = Browser::signed_in(&hq.url, "justice", &pw_a).await;
    let desk = u.get("/desk").await.text();
    assert!(desk.contains("邻里噪音纠纷") && desk.contains(r#"data-step="acknowledge""#));
    assert!(!desk.contains(r#"id="new-task""#), "a unit does not dispatch");
    for (action, extra) in [
        ("acknowledge", vec![]),
        ("arrive", vec![("lat", "31.005"), ("lng", "121.005")]),
        ("complete", vec![("result", "已调解 (mediated)")]),
    ] {
        let mut f = vec![("action", action)];
        f.extend(extra);
        let p = u.submit("/desk", &format!("/desk/{task_id}/step"), &f).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{action}: {}", p.text());
    }
    let t = hq.admin(Method::GET, "/v1/admin/tasks", Value::Null).await;
    assert_eq!((t[0]["status"].as_str(), t[0]["result"].as_str()), (Some("done"), Some("已调解 (mediated)")));
    // Arriving needs its fix (the API's rule): a step without one is a 400, not a 500.
    let p = u.submit("/desk", &format!("/desk/{task_id}/step"), &[("action", "complete"), ("result", "again")]).await;
    assert_eq!(p.status, StatusCode::CONFLICT, "done is done");
}

async fn the_board_exports_and_english_switch(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let (rep, _) = report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]);
    phone.push(&[rep, visit("w-001", "h-0001", "g-0101", VisitType::MustVisit)]).await;
    // A petition in Xihu (c-02): its ✗ on the board, with the incident behind it.
    hq.admin(
        Method::POST,
        "/v1/admin/incidents",
        json!({ "community_id": "c-02", "kind": "petition", "occurred_at": now().to_rfc3339(), "note": "越级上访一起" }),
    )
    .await;
    let mut b = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let board = b.get("/board").await.text();
    assert!(board.contains("东湖社区") && board.contains("西湖社区"), "every community");
    assert_eq!(board.matches(r#"<span class="ok">✓</span>"#).count(), 1, "Donghu makes 三零");
    assert_eq!(board.matches(r#"<span class="bad">✗</span>"#).count(), 1, "Xihu does not");
    assert!(board.contains("越级上访一起"), "the incident behind the ✗");
    assert!(board.contains(r#"href="/board?from="#) && board.contains("community=c-01"), "drill down");
    let grids = b.get("/board?from=2026-01-01&to=2026-12-31&community=c-01").await.text();
    assert!(grids.contains("东湖一网格") && !grids.contains("西湖一网格"));
    // Down to the workers of the community's grids.
    assert!(grids.contains(r#"id="workers""#) && grids.contains("李网格") && !grids.contains("赵网格"), "{grids}");
    // The trend: twelve months of each figure as an SVG chart, for the street or one community.
    let trend = b.get("/board/trend").await.text();
    assert_eq!(trend.matches(r#"<figure class="trend">"#).count(), 8, "{trend}");
    let this_month = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m").to_string();
    assert!(trend.contains(&format!("{this_month} ")), "the current month is the last point");
    assert_eq!(trend.matches("<polyline").count(), 8);
    assert_eq!(b.get("/board/trend?community=c-01").await.status, StatusCode::OK);
    let bad = b.get("/board?from=2026-02-01&to=2026-01-01").await;
    assert_eq!((bad.status, bad.error.as_deref()), (StatusCode::BAD_REQUEST, Some("invalid_input")));

    let csv = b.get("/export/reports.csv").await;
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    let csv = csv.text();
    assert!(csv.contains("电动车在楼道充电"), "{csv}");
    let xlsx = b.get("/export/visits.xlsx").await;
    assert_eq!(xlsx.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let mut book = calamine::Xlsx::new(Cursor::new(xlsx.body)).expect("a workbook");
    let sheet = book.worksheet_range("visits").expect("the visits sheet");
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 2, "a heading and the one visit: {rows:?}");
    assert!(rows[0].iter().any(|h| h.contains("(")), "bilingual headings");
    assert!(rows[1].iter().any(|c| c == "3栋2单元301"), "{rows:?}");
    assert!(rows[1].iter().any(|c| c == "138****5678") && !rows[1].iter().any(|c| c.contains("13812345678")), "masked");
    assert_eq!(b.get("/export/nothing.csv").await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/export/visits.pdf").await.status, StatusCode::NOT_FOUND);
    let exports = hq.admin(Method::GET, "/v1/admin/audit?action=export", Value::Null).await;
    assert_eq!(exports.as_array().unwrap().len(), 2, "each download in the trail");

    // English: by the switch (remembered in a cookie) or ?lang=en.
    let sw = b.get("/lang?to=en&back=/board").await;
    assert_eq!(sw.location.as_deref(), Some("/board"));
    assert!(b.get("/board").await.text().contains("三零 board"));
    assert_eq!(b.get("/lang?to=zh&back=//evil.example").await.location.as_deref(), Some("/"), "local pages only");
    assert!(b.get("/board").await.text().contains("三零看板"));
    assert!(b.get("/cases?lang=en").await.text().contains("Overdue only"));
    // Assets are in the binary; pages forbid outside scripts.
    let css = b.get("/assets/console.css").await;
    assert_eq!((css.status, css.content_type.as_str()), (StatusCode::OK, "text/css; charset=utf-8"));
    let resp = reqwest::get(format!("{}/login", hq.url)).await.unwrap();
    assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
}

/// The map's layers: reports of the period by category (linked to their case), flagged
/// check-ins, open cases; the layer form turns each off; a community office sees its own only.
async fn the_map_marks_reports_by_category_and_flagged_checkins_by_layer(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let (hazard, hazard_case) = report("w-001", "g-0101", ReportCategory::SafetyHazard, None, vec![]);
    let (dispute, _) = report("w-001", "g-0101", ReportCategory::Dispute, None, vec![]);
    let patrol = new_id();
    let mut far = check_in(&patrol, GeoPoint { lat: 31.5, lng: 121.5 }, &[]);
    if let Command::CheckIn { checkpoint } = &mut far {
        checkpoint.accuracy_m = Some(5.0);
    }
    phone.push(&[hazard, dispute, start_patrol("w-001", "g-0101", &patrol), far]).await;
    let mut w2 = hq.phone("w-201").await;
    let (theirs, theirs_case) = report("w-201", "g-0201", ReportCategory::Emergency, None, vec![]);
    w2.push(&[theirs]).await;

    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let map = admin.get("/map").await;
    assert_eq!(map.status, StatusCode::OK);
    let svg = map.text();
    assert!(
        svg.contains(r#"id="layer-reports""#)
            && svg.contains(r#"id="layer-flagged""#)
            && svg.contains(r#"id="layer-cases""#)
    );
    assert_eq!(svg.matches(r#"class="report""#).count(), 3, "three reports this month");
    assert!(svg.contains(r#"data-category="safety_hazard""#) && svg.contains(r#"data-category="emergency""#));
    assert!(svg.contains(&format!(r#"href="/cases/{hazard_case}""#)), "a report links to its case");
    assert_eq!(svg.matches(r#"class="flagged""#).count(), 1, "the check-in outside the grid");
    // The legend names every category (情况五报), in Chinese first.
    for c in ReportCategory::ALL {
        assert!(svg.contains(c.zh()), "legend: {}", c.zh());
    }
    assert!(svg.contains(r#"<span id="count-reports">3</span>"#), "the count shown");
    // Only the reports layer.
    let only = admin.get("/map?layers=1&reports=1").await.text();
    assert!(only.contains(r#"class="report""#));
    assert!(!only.contains(r#"class="case""#) && !only.contains(r#"class="flagged""#), "other layers off");
    assert!(
        only.contains(r#"name="reports" value="1" checked"#) && !only.contains(r#"name="cases" value="1" checked"#)
    );
    // None of the markers.
    let none = admin.get("/map?layers=1").await.text();
    assert!(!none.contains(r#"class="report""#) && !none.contains(r#"class="case""#));
    // Another period: last year's has none of these reports.
    let old = admin.get("/map?from=2020-01-01&to=2020-02-01").await.text();
    assert_eq!(old.matches(r#"class="report""#).count(), 0);
    // A bad date is the operator's mistake, not HQ's.
    assert_eq!(admin.get("/map?from=yesterday").await.status, StatusCode::BAD_REQUEST);
    // A community office: Donghu's reports, not Xihu's.
    let password = create_user(&mut admin, "东湖社区", "donghumap", "community", "c-01").await;
    let mut community = Browser::signed_in(&hq.url, "donghumap", &password).await;
    let mine = community.get("/map").await.text();
    assert_eq!(mine.matches(r#"class="report""#).count(), 2);
    assert!(!mine.contains(&format!("/cases/{theirs_case}")), "Xihu's report is not on Donghu's map");
}

/// No tile server by default (no image from outside, CSP images from HQ only); with
/// `map_tiles` the map lays its tiles beneath the grids and the CSP allows that origin alone.
async fn map_tiles_only_when_configured(hq: &Hq) {
    hq.seed().await;
    let csp_and_body = |url: String, b: &Browser| {
        let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = b.client.get(format!("{url}/map")).header("cookie", jar.join("; "));
        async move {
            let r = req.send().await.unwrap();
            let csp = r.headers().get("content-security-policy").unwrap().to_str().unwrap().to_string();
            (csp, r.text().await.unwrap())
        }
    };
    let admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let (csp, body) = csp_and_body(hq.url.clone(), &admin).await;
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");
    assert!(!body.contains("<image"), "no tiles by default");
    let mut c = config(hq.place.database());
    c.map_tiles = Some("https://tiles.example.test/osm/{z}/{x}/{y}.png".into());
    let tiled = gridpatrol_hq::start(c).await.unwrap();
    let b = Browser::signed_in(&tiled.url(), "admin", ADMIN_PASSWORD).await;
    let (csp, body) = csp_and_body(tiled.url(), &b).await;
    assert!(csp.contains("img-src 'self' data: https://tiles.example.test;"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "the rest of the policy unchanged: {csp}");
    assert!(body.contains(r#"<image href="https://tiles.example.test/osm/"#), "tiles drawn");
    tiled.stop().await.unwrap();
    assert!(gridpatrol_hq::map_tile_origin("ftp://x/{z}/{x}/{y}").is_err());
    assert!(gridpatrol_hq::map_tile_origin("https://x.test/tiles.png").is_err(), "needs {{z}}/{{x}}/{{y}}");
    assert!(gridpatrol_hq::map_tile_origin("https://x.test\"; script-src *; /{z}/{x}/{y}").is_err());
}

/// A year's cases do not make one endless page: 100 a page, newest first, the filters kept in
/// the links between pages, and a page past the end shows the last.
async fn the_case_inbox_shows_a_hundred_cases_a_page(hq: &Hq) {
    hq.seed().await;
    let mut phone = hq.phone("w-001").await;
    let reports: Vec<(Command, String)> =
        (0..130).map(|_| report("w-001", "g-0101", ReportCategory::Dispute, None, vec![])).collect();
    phone.push(&reports.iter().map(|r| r.0.clone()).collect::<Vec<_>>()).await;
    // One dispatched to 物业 with yesterday as its deadline: overdue.
    let late = &reports[7].1;
    let path = format!("/v1/admin/cases/{late}/actions");
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    for body in [
        json!({ "action": "accept" }),
        json!({ "action": "open" }),
        json!({ "action": "dispatch", "deadline": yesterday, "responsible_unit": "物业 (property management)" }),
    ] {
        hq.admin(Method::POST, &path, body).await;
    }
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let rows = |html: &str| html.matches(r#"<td><a href="/cases/"#).count();
    let first = admin.get("/cases?category=dispute").await.text();
    assert_eq!(rows(&first), 100);
    assert!(first.contains("130 件") && first.contains("第 1 / 2 页"), "the whole count and the page");
    assert!(first.contains(r#"href="/cases?page=2&amp;category=dispute""#), "the next page keeps the filter");
    let second = admin.get("/cases?page=2&category=dispute").await.text();
    assert_eq!(rows(&second), 30);
    assert!(second.contains(r#"rel="prev""#) && !second.contains(r#"rel="next""#));
    assert_eq!(rows(&admin.get("/cases?page=99&category=dispute").await.text()), 30, "past the end: the last page");
    assert_eq!(rows(&admin.get("/cases?category=emergency").await.text()), 0);
    // The other filters, in the database now: overdue, state, community, grid, unit.
    for (query, n) in [
        ("overdue=1", 1),
        ("state=dispatched", 1),
        ("state=reported", 100),
        ("community=c-01&overdue=1", 1),
        ("community=c-02", 0),
        ("grid=g-0102", 0),
        ("unit=物业", 1),
        ("unit=物业&overdue=1&page=3", 1),
    ] {
        let html = admin.get(&format!("/cases?{query}")).await.text();
        assert_eq!(rows(&html), n, "{query}");
    }
    assert!(admin.get("/cases?overdue=1").await.text().contains(&format!("/cases/{late}")));
}
