//! Sign-in, sign-out and a user's own password change.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use super::extract::{
    cookie, csrf_refused, is_secure, read_form, same_token, set_cookie, Lang, PageError, PageResult, Posted, User,
    LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use super::layout::{self, csrf};
use super::session::{self, Failure};
use super::ACCOUNT_LOCKED;
use crate::error::ApiError;
use crate::http::AppState;
use crate::{auth, now_ms};

fn login_page(l: Lang, token: &str, error: Option<&str>, status: StatusCode) -> Response {
    let body = layout::bare(
        l,
        l.t("登录", "Sign in"),
        html! {
            main.narrow {
                h1 { "GridPatrol · " (l.t("登录", "Sign in")) }
                @if let Some(e) = error { p.error role="alert" #login-error { (e) } }
                form.stack method="post" action="/login" {
                    input type="hidden" name="_csrf" value=(token);
                    label { (l.t("用户名", "User name")) input type="text" name="username" autocomplete="username" required; }
                    label { (l.t("密码", "Password")) input type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" { (l.t("登录", "Sign in")) }
                }
                p { a href={ "/lang?to=" (if l == Lang::Zh { "en" } else { "zh" }) "&back=/login" } { (l.t("English", "中文")) } }
            }
        },
    );
    (status, body).into_response()
}

/// `GET /login`: the form, with a fresh double-submit CSRF cookie.
pub async fn form(State(s): State<AppState>, headers: HeaderMap, l: Lang) -> Response {
    let token = cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|t| t.len() == 32)
        .unwrap_or_else(|| auth::sha256_hex(&auth::new_token("c"))[..32].to_string());
    let mut resp = login_page(l, &token, None, StatusCode::OK);
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(is_secure(&s, &headers), LOGIN_CSRF_COOKIE, &token, None));
    resp
}

fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// `POST /login`: rate-limited per address; five wrong passwords in a row lock the account.
pub async fn submit(State(s): State<AppState>, l: Lang, req: Request) -> PageResult {
    let headers = req.headers().clone();
    let ip = client_ip(&req);
    let form = read_form(req, l).await?;
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    match (form.get("_csrf"), expected.as_deref()) {
        (Some(a), Some(b)) if same_token(a, b) => {}
        _ => return Err(csrf_refused(l)),
    }
    let token = expected.unwrap_or_default();
    let key = format!("login:{ip}");
    let limit = s.config.console_login_limit;
    let verdict = match s.db.0.backend() {
        crate::db::Backend::Sqlite => s.limiter.check(&key, limit),
        // Several instances on one PostgreSQL: one bucket per address between them.
        crate::db::Backend::Postgres => {
            let now = now_ms();
            s.db.write(move |tx| Ok(crate::ratelimit::check_shared(tx, &key, limit, now)?))
                .await
                .map_err(|e| PageError::new(e, l))?
        }
    };
    if let Err(secs) = verdict {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            gridpatrol_protocol::wire::codes::RATE_LIMITED,
            l.t("登录尝试过于频繁，请稍后再试。", "Too many sign-in attempts; wait a moment and try again."),
        );
        e.retry_after = Some(secs);
        return Err(PageError::new(e, l));
    }
    let username = form.text("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default().to_string();
    let wrong = l.t("用户名或密码错误。", "Wrong user name or password.");
    let uname = username.clone();
    let account = s.db.read(move |tx| session::account(tx, &uname)).await.map_err(|e| PageError::new(e, l))?;
    let Some(account) = account else {
        // Spend the same time as for a known name, so timing does not tell which names exist.
        let _ = session::check(Some(dummy_hash().to_string()), password).await;
        return Ok(login_page(l, &token, Some(wrong), StatusCode::UNAUTHORIZED));
    };
    let now = now_ms();
    if let Some(until) = account.locked_until_ms.filter(|u| *u > now) {
        return Ok(locked_page(l, &token, until));
    }
    let ok = session::check(account.password_hash.clone(), password).await;
    let id = account.id.clone();
    if !ok {
        let failure =
            s.db.write(move |tx| session::record_failure(tx, &id, now)).await.map_err(|e| PageError::new(e, l))?;
        return Ok(match failure {
            Failure::Wrong => login_page(l, &token, Some(wrong), StatusCode::UNAUTHORIZED),
            Failure::Locked(until) => locked_page(l, &token, until),
        });
    }
    let sid = s.db.write(move |tx| session::begin_session(tx, &id, now)).await.map_err(|e| PageError::new(e, l))?;
    let mut resp = Redirect::to("/").into_response();
    let secure = is_secure(&s, &headers);
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(secure, SESSION_COOKIE, &sid, None));
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(secure, LOGIN_CSRF_COOKIE, "", Some(0)));
    Ok(resp)
}

fn locked_page(l: Lang, token: &str, until: i64) -> Response {
    let msg = format!(
        "{} {}",
        l.t("连续5次密码错误，账号已锁定至", "Five wrong passwords in a row: the account is locked until"),
        crate::admin::local_time(until)
    );
    let mut resp = login_page(l, token, Some(&msg), StatusCode::FORBIDDEN);
    resp.headers_mut().insert("x-gridpatrol-error", header::HeaderValue::from_static(ACCOUNT_LOCKED));
    resp
}

/// A valid argon2id hash of a random password, made once: what an unknown name is checked against.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| session::hash_password(&session::new_password()).unwrap_or_default())
}

/// `POST /logout`: the session row is deleted, so the cookie is worthless everywhere.
pub async fn logout(State(s): State<AppState>, headers: HeaderMap, p: Posted) -> PageResult {
    let sid = p.user.session_id.clone();
    let op = p.user.op.id.clone();
    s.db.write(move |tx| {
        session::end_session(tx, &sid)?;
        crate::model::audit::audit(tx, &op, "console.logout", &op)
    })
    .await
    .map_err(|e| PageError::new(e, p.user.lang))?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(is_secure(&s, &headers), SESSION_COOKIE, "", Some(0)));
    Ok(resp)
}

fn password_page(user: &User, message: Option<Markup>) -> Markup {
    let l = user.lang;
    layout::page(
        user,
        l.t("修改密码", "Change password"),
        html! {
            @if let Some(m) = message { (m) }
            form.stack method="post" action="/password" {
                (csrf(user))
                label { (l.t("当前密码", "Current password")) input type="password" name="current" autocomplete="current-password" required; }
                label { (l.t("新密码（至少10个字符）", "New password (at least 10 characters)")) input type="password" name="new" autocomplete="new-password" required minlength="10"; }
                button type="submit" { (l.t("修改", "Change")) }
            }
        },
    )
}

pub async fn password_form(user: User) -> Markup {
    password_page(&user, None)
}

/// `POST /password`: the current password again, then the new one; other sessions end.
pub async fn password_change(State(s): State<AppState>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let new = p.form.get("new").unwrap_or_default().to_string();
    let current = p.form.get("current").unwrap_or_default().to_string();
    if let Err(e) = session::check_password_rules(&new) {
        return Ok((
            StatusCode::BAD_REQUEST,
            password_page(&p.user, Some(html! { p.error role="alert" { (e.message) } })),
        )
            .into_response());
    }
    let id = p.user.op.id.clone();
    let hash =
        s.db.read(move |tx| {
            Ok(tx.query_one("SELECT password_hash FROM operator WHERE id = ?", crate::p![&id])?.opt_text(0)?)
        })
        .await
        .map_err(|e| PageError::new(e, l))?;
    if !session::check(hash, current).await {
        let msg = html! { p.error role="alert" { (l.t("当前密码不正确。", "The current password is wrong.")) } };
        return Ok((StatusCode::BAD_REQUEST, password_page(&p.user, Some(msg))).into_response());
    }
    let new_hash = session::hash(new).await.map_err(|e| PageError::new(e, l))?;
    let (id, keep) = (p.user.op.id.clone(), p.user.session_id.clone());
    s.db.write(move |tx| {
        session::set_password(tx, &id, &new_hash, Some(&keep))?;
        crate::model::audit::audit(tx, &id, "console.password", &id)
    })
    .await
    .map_err(|e| PageError::new(e, l))?;
    Ok(password_page(&p.user, Some(html! { p.notice role="status" { (l.t("密码已修改。", "Password changed.")) } }))
        .into_response())
}
