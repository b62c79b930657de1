//! The console's sign-in over real HTTP: argon2id passwords, sessions kept (hashed) in the
//! database and shared by instances, the cookie's flags, CSRF on every form, the lockout after
//! five wrong passwords, sign-out, password change and an admin's reset.

use std::collections::HashMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};

use crate::common::*;

/// A browser without JavaScript: its own cookie jar, redirects not followed.
pub struct Browser {
    pub url: String,
    pub client: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// The `Set-Cookie` headers of the last answer, as sent.
    pub last_set_cookies: Vec<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub error: Option<String>,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Page {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let t = self.text();
        let at = t.find(r#"name="_csrf" value=""#).expect("a form with a CSRF token") + r#"name="_csrf" value=""#.len();
        t[at..at + 32].to_string()
    }
}

impl Browser {
    pub fn new(url: &str) -> Browser {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { url: url.to_string(), client, cookies: HashMap::new(), last_set_cookies: Vec::new() }
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(COOKIE, jar.join("; "));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let resp = req.send().await.expect("HQ answers");
        self.last_set_cookies =
            resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        for c in &self.last_set_cookies {
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = resp.status();
        let header = |n: &str| resp.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        let (location, error, content_type) =
            (header(LOCATION.as_str()), header("x-gridpatrol-error"), header("content-type"));
        Page {
            status,
            location,
            error,
            content_type: content_type.unwrap_or_default(),
            body: resp.bytes().await.unwrap().to_vec(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), &[]).await
    }

    /// A form posted with the CSRF token of the page at `from`.
    pub async fn submit(&mut self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get(from).await.csrf();
        let mut f = vec![("_csrf", token.as_str())];
        f.extend_from_slice(form);
        self.post(path, &f).await
    }

    pub async fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let token = self.get("/login").await.csrf();
        self.post("/login", &[("_csrf", &token), ("username", user), ("password", password)]).await
    }

    pub async fn signed_in(url: &str, user: &str, password: &str) -> Browser {
        let mut b = Browser::new(url);
        let p = b.sign_in(user, password).await;
        assert_eq!((p.status, p.location.as_deref()), (StatusCode::SEE_OTHER, Some("/")), "{}", p.text());
        b
    }

    pub fn session(&self) -> String {
        self.cookies.get("gp_session").cloned().expect("signed in")
    }
}

/// The street admin creates a console user through the console; returns its password.
pub async fn create_user(admin: &mut Browser, name: &str, username: &str, role: &str, scope: &str) -> String {
    let p = admin
        .submit("/users", "/users", &[("name", name), ("username", username), ("role", role), ("scope_ids", scope)])
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text());
    let t = p.text();
    let at = t.find("<code>").expect("the password shown once") + 6;
    t[at..at + 16].to_string()
}

both!(
    sign_in_gives_a_strict_http_only_session_kept_only_as_a_hash,
    every_form_refuses_a_post_without_its_csrf_token,
    five_wrong_passwords_lock_until_an_admin_resets,
    a_session_is_shared_by_instances_and_dies_at_sign_out,
    a_password_change_ends_the_other_sessions,
);

both!(sign_in_attempts_are_rate_limited_per_address);

async fn sign_in_attempts_are_rate_limited_per_address(hq: &Hq) {
    // Its own instance with the default limit (the harness lifts it for the other tests).
    let mut c = config(hq.place.database());
    let strict_limit =
        gridpatrol_hq::HqConfig::new("127.0.0.1:0".parse().unwrap(), hq.place.database()).console_login_limit;
    c.console_login_limit = strict_limit;
    let strict = gridpatrol_hq::start(c).await.expect("HQ starts");
    let mut b = Browser::new(&strict.url());
    // Ten tries in a burst (different names, so no account locks), then 429 with Retry-After.
    for i in 0..10 {
        let p = b.sign_in(&format!("guess{i}"), "x").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "try {i}");
    }
    let p = b.sign_in("admin", ADMIN_PASSWORD).await;
    assert_eq!((p.status, p.error.as_deref()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(!b.cookies.contains_key("gp_session"), "not even the right password gets through");
    if hq.db == Db::Postgres {
        // Instances on one PostgreSQL share the address's bucket: the next one refuses too.
        let mut c = config(hq.place.database());
        c.console_login_limit = strict_limit;
        let other = gridpatrol_hq::start(c).await.expect("HQ starts");
        let p = Browser::new(&other.url()).sign_in("admin", ADMIN_PASSWORD).await;
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
        other.stop().await.unwrap();
    }
    strict.stop().await.unwrap();
}

async fn sign_in_gives_a_strict_http_only_session_kept_only_as_a_hash(hq: &Hq) {
    let mut b = Browser::new(&hq.url);
    // Not signed in: every page sends to the sign-in form.
    assert_eq!(b.get("/board").await.location.as_deref(), Some("/login"));
    assert_eq!(b.get("/").await.location.as_deref(), Some("/login"));
    let login = b.get("/login").await;
    assert!(login.text().contains("登录") && login.text().contains(r#"lang="zh-CN""#), "zh-CN first");
    assert!(b.get("/login?lang=en").await.text().contains("Sign in"));
    let wrong = b.sign_in("admin", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text().contains("用户名或密码错误"));
    let unknown = b.sign_in("nobody", ADMIN_PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "an unknown name is answered alike");
    assert!(!b.cookies.contains_key("gp_session"));

    let ok = b.sign_in("admin", ADMIN_PASSWORD).await;
    assert_eq!((ok.status, ok.location.as_deref()), (StatusCode::SEE_OTHER, Some("/")));
    let cookie = b.last_set_cookies.iter().find(|c| c.starts_with("gp_session=")).unwrap().clone();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: {cookie}");
    let board = b.get("/board").await;
    assert_eq!(board.status, StatusCode::OK);
    assert!(board.text().contains("三零看板"));
    assert_eq!(b.get("/").await.location.as_deref(), Some("/board"));
    // Behind a TLS proxy the cookie is Secure.
    let mut tls = Browser::new(&hq.url);
    let token = tls.get("/login").await.csrf();
    tls.send(
        Method::POST,
        "/login",
        Some(&[("_csrf", &token), ("username", "admin"), ("password", ADMIN_PASSWORD)]),
        &[("x-forwarded-proto", "https")],
    )
    .await;
    assert!(tls.last_set_cookies.iter().any(|c| c.starts_with("gp_session=") && c.ends_with("; Secure")));
    // Or when HQ is configured as served over TLS (`--secure-cookies`).
    let mut c = config(hq.place.database());
    c.console_secure_cookies = true;
    let behind_tls = gridpatrol_hq::start(c).await.expect("HQ starts");
    let mut s = Browser::new(&behind_tls.url());
    s.sign_in("admin", ADMIN_PASSWORD).await;
    assert!(
        s.last_set_cookies.iter().any(|c| c.starts_with("gp_session=") && c.ends_with("; Secure")),
        "{:?}",
        s.last_set_cookies
    );
    behind_tls.stop().await.unwrap();

    // The database holds the session's hash, never the id; the password as argon2id.
    let sid = b.session();
    let sid_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(sid.as_bytes()))
    };
    let (hashes, password_hash) = read_db(
        hq,
        "SELECT id_hash FROM console_session",
        "SELECT password_hash FROM operator WHERE username = 'admin'",
    )
    .await;
    assert!(hashes.contains(&sid_hash), "{hashes:?}");
    assert!(!hashes.iter().any(|h| h.contains(&sid[4..])), "the session id itself is not stored");
    assert!(password_hash.starts_with("$argon2id$"), "{password_hash}");
    // The session is an operator credential of the same operator as the API's token.
    let me: serde_json::Value = hq.get("/v1/admin/me", &sid).await.1;
    assert_eq!(me["id"], "street-admin");
}

/// Rows of two single-column queries, read straight from the test's database.
pub async fn read_db(hq: &Hq, a: &str, b: &str) -> (Vec<String>, String) {
    let (a, b) = (a.to_string(), b.to_string());
    match &hq.place {
        Place::Sqlite(dir) => {
            let path = dir.path().join("hq.db");
            tokio::task::spawn_blocking(move || {
                let c = rusqlite::Connection::open(path).unwrap();
                let rows: Vec<String> =
                    c.prepare(&a).unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
                let one: String = c.query_row(&b, [], |r| r.get(0)).unwrap();
                (rows, one)
            })
            .await
            .unwrap()
        }
        Place::Postgres(s) => {
            let url = s.url();
            tokio::task::spawn_blocking(move || {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let rows = c.query(&a, &[]).unwrap().iter().map(|r| r.get::<_, String>(0)).collect();
                let one = c.query_one(&b, &[]).unwrap().get::<_, String>(0);
                (rows, one)
            })
            .await
            .unwrap()
        }
    }
}

async fn every_form_refuses_a_post_without_its_csrf_token(hq: &Hq) {
    hq.seed().await;
    let mut b = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let forms = [
        "/logout",
        "/password",
        "/cases/x/act",
        "/desk",
        "/desk/x/step",
        "/enrol",
        "/devices/x/revoke",
        "/users",
        "/users/x/reset",
    ];
    for path in forms {
        for token in [None, Some("0123456789abcdef0123456789abcdef")] {
            let mut f = vec![("title", "x"), ("worker", "w-001")];
            if let Some(t) = token {
                f.push(("_csrf", t));
            }
            let p = b.post(path, &f).await;
            assert_eq!(
                (p.status, p.error.as_deref()),
                (StatusCode::FORBIDDEN, Some("csrf_failed")),
                "{path} {token:?}"
            );
            assert!(p.text().contains("CSRF"), "{path}: a clear page");
        }
    }
    // Another session's token does not do either.
    let other = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let mut other = other;
    let foreign = other.get("/desk").await.csrf();
    assert_eq!(b.post("/logout", &[("_csrf", &foreign)]).await.error.as_deref(), Some("csrf_failed"));
    // Still signed in after all that; the sign-in form wants its own token too.
    assert_eq!(b.get("/board").await.status, StatusCode::OK);
    let mut fresh = Browser::new(&hq.url);
    let p = fresh.post("/login", &[("username", "admin"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!((p.status, p.error.as_deref()), (StatusCode::FORBIDDEN, Some("csrf_failed")));
    assert!(!fresh.cookies.contains_key("gp_session"));
    // Nothing was dispatched by any of the refused posts.
    assert_eq!(hq.admin(Method::GET, "/v1/admin/tasks", serde_json::Value::Null).await, serde_json::json!([]));
}

async fn five_wrong_passwords_lock_until_an_admin_resets(hq: &Hq) {
    hq.seed().await;
    let mut admin = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let password = create_user(&mut admin, "东湖社区 (Donghu)", "donghu", "community", "c-01").await;
    let mut keeps = Browser::signed_in(&hq.url, "donghu", &password).await;
    let mut b = Browser::new(&hq.url);
    for i in 1..=4 {
        let p = b.sign_in("donghu", "wrong password").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let fifth = b.sign_in("donghu", "wrong password").await;
    assert_eq!((fifth.status, fifth.error.as_deref()), (StatusCode::FORBIDDEN, Some("account_locked")));
    assert!(fifth.text().contains("已锁定"));
    // Locked: the right password does not open it either.
    let right = b.sign_in("donghu", &password).await;
    assert_eq!(right.error.as_deref(), Some("account_locked"));
    assert!(!b.cookies.contains_key("gp_session"));
    let users = admin.get("/users").await.text();
    assert!(users.contains("已锁定"), "the admin sees the lock");
    // The admin resets: a new password shown once, the lock lifted, the user's sessions ended.
    let id = read_db(hq, "SELECT id FROM operator WHERE username = 'donghu'", "SELECT 'x'").await.0.remove(0);
    let reset = admin.submit("/users", &format!("/users/{id}/reset"), &[]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());
    let t = reset.text();
    let at = t.find("<code>").unwrap() + 6;
    let new_password = t[at..at + 16].to_string();
    assert_ne!(new_password, password);
    assert_eq!(keeps.get("/board").await.location.as_deref(), Some("/login"), "sessions end at a reset");
    assert_eq!(b.sign_in("donghu", &password).await.status, StatusCode::UNAUTHORIZED, "the old password is gone");
    Browser::signed_in(&hq.url, "donghu", &new_password).await;
    // Only the street admin manages users.
    let mut community = Browser::signed_in(&hq.url, "donghu", &new_password).await;
    assert_eq!(community.get("/users").await.status, StatusCode::FORBIDDEN);
    let token = community.get("/board").await.csrf();
    let p = community.post(&format!("/users/{id}/reset"), &[("_csrf", &token)]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

async fn a_session_is_shared_by_instances_and_dies_at_sign_out(hq: &Hq) {
    let mut b = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    // A second instance on the same database (a restart, or the instance behind the next
    // request on PostgreSQL) knows the session.
    let second = gridpatrol_hq::start(config(hq.place.database())).await.expect("second instance");
    assert!(second.created_admin_password.is_none(), "the password is set (and printed) once only");
    let mut there = Browser::new(&second.url());
    there.cookies = b.cookies.clone();
    assert_eq!(there.get("/board").await.status, StatusCode::OK);
    let token = there.get("/board").await.csrf();
    let out = there.post("/logout", &[("_csrf", &token)]).await;
    assert_eq!((out.status, out.location.as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
    assert!(there.last_set_cookies.iter().any(|c| c.starts_with("gp_session=;") && c.contains("Max-Age=0")));
    // Signed out on one instance: the cookie is worthless on the other too, and on the API.
    let sid = b.session();
    assert_eq!(b.get("/board").await.location.as_deref(), Some("/login"));
    assert_eq!(hq.get("/v1/admin/me", &sid).await.0, StatusCode::UNAUTHORIZED);
    second.stop().await.unwrap();
}

async fn a_password_change_ends_the_other_sessions(hq: &Hq) {
    let mut a = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let mut other = Browser::signed_in(&hq.url, "admin", ADMIN_PASSWORD).await;
    let short = a.submit("/password", "/password", &[("current", ADMIN_PASSWORD), ("new", "short")]).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let wrong =
        a.submit("/password", "/password", &[("current", "not it at all"), ("new", "a new long password")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.text().contains("当前密码不正确"));
    let ok = a.submit("/password", "/password", &[("current", ADMIN_PASSWORD), ("new", "a new long password")]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.text().contains("密码已修改"));
    assert_eq!(a.get("/board").await.status, StatusCode::OK, "this session stays");
    assert_eq!(other.get("/board").await.location.as_deref(), Some("/login"), "the others end");
    assert_eq!(Browser::new(&hq.url).sign_in("admin", ADMIN_PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    Browser::signed_in(&hq.url, "admin", "a new long password").await;
}
