//! What every console handler takes: the language, the signed-in user (from the session
//! cookie, resolved by `auth::operator` like an API token), a posted form whose CSRF token was
//! checked, and the error page every refusal becomes.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::session::{self, csrf_token};
use super::{layout, CSRF_FAILED};
use crate::auth::{self, Operator};
use crate::error::ApiError;
use crate::http::AppState;

pub const SESSION_COOKIE: &str = "gp_session";
pub const LANG_COOKIE: &str = "gp_lang";
/// Double-submit token of the sign-in form (there is no session yet to derive one from).
pub const LOGIN_CSRF_COOKIE: &str = "gp_login_csrf";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The label in this language; both are written side by side at each use.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let q = parts.uri.query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()?.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn lang_of(parts: &Parts) -> Lang {
    let chosen = query_param(parts, "lang").or_else(|| cookie(&parts.headers, LANG_COOKIE));
    match chosen.as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(lang_of(parts))
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, and Secure when HQ is behind TLS
/// (configured, or the proxy in front says so).
pub fn set_cookie(secure: bool, name: &str, value: &str, max_age_s: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(a) = max_age_s {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("x=; Path=/"))
}

pub fn is_secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.console_secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// `GET /lang?to=en&back=/board`: remember the language and go back (to a local page only).
pub async fn switch_lang(
    axum::extract::State(s): axum::extract::State<AppState>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let lang = if q.get("to").map(String::as_str) == Some("en") { "en" } else { "zh" };
    let back = q.get("back").filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'));
    let mut resp = Redirect::to(back.map(String::as_str).unwrap_or("/")).into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(is_secure(&s, &headers), LANG_COOKIE, lang, Some(365 * 24 * 3600)));
    resp
}

/// The signed-in user of a page.
pub struct User {
    pub session_id: String,
    pub op: Operator,
    pub username: String,
    pub name: String,
    pub lang: Lang,
    /// The path asked for (the language switch returns to it).
    pub path: String,
}

impl User {
    pub fn csrf(&self) -> String {
        csrf_token(&self.session_id)
    }
    /// The credential the API's handlers take.
    pub fn bearer(&self) -> crate::http::Bearer {
        crate::http::Bearer(Some(self.session_id.clone()))
    }
}

/// A refusal shown as a page: its status, the API's stable code and message.
pub struct PageError {
    pub err: ApiError,
    pub lang: Lang,
}

impl PageError {
    pub fn new(err: ApiError, lang: Lang) -> PageError {
        PageError { err, lang }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let l = self.lang;
        if self.err.status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let body = layout::bare(
            l,
            l.t("出错了", "Something went wrong"),
            html! {
                main.narrow {
                    h1 { (l.t("出错了", "Something went wrong")) }
                    p.error role="alert" { (self.err.message) }
                    p { (l.t("错误代码", "Error code")) ": " code #error-code { (self.err.code) } }
                    p { a href="/" { (l.t("返回首页", "Back to the console")) } }
                }
            },
        );
        let mut resp = (self.err.status, body).into_response();
        if let Ok(v) = HeaderValue::from_str(self.err.code) {
            resp.headers_mut().insert("x-gridpatrol-error", v);
        }
        resp
    }
}

pub type PageResult = Result<Response, PageError>;

/// Resolve the session cookie to its operator (the API's own lookup) or refuse with 401.
async fn user_of(parts: &Parts, state: &AppState) -> Result<User, PageError> {
    let lang = lang_of(parts);
    let sid = cookie(&parts.headers, SESSION_COOKIE)
        .filter(|s| s.starts_with(auth::SESSION_PREFIX))
        .ok_or_else(|| PageError::new(ApiError::unauthorized(), lang))?;
    let sid2 = sid.clone();
    let (op, (username, name)) = state
        .db
        .read(move |tx| {
            let op = auth::operator(tx, Some(&sid2))?;
            let names = session::names(tx, &op.id)?;
            Ok((op, names))
        })
        .await
        .map_err(|e| PageError::new(e, lang))?;
    let path = parts.uri.path().to_string();
    Ok(User { session_id: sid, op, username, name, lang, path })
}

impl FromRequestParts<AppState> for User {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        user_of(parts, state).await
    }
}

/// A posted form (`application/x-www-form-urlencoded`) from a signed-in user whose CSRF token
/// matched; otherwise 403 `csrf_failed`.
pub struct Posted {
    pub user: User,
    pub form: Form,
}

/// Form fields in order; a name may repeat (checkbox lists).
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// A field, trimmed, None when empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

pub async fn read_form(req: Request, lang: Lang) -> Result<Form, PageError> {
    let bytes = axum::body::Bytes::from_request(req, &())
        .await
        .map_err(|_| PageError::new(ApiError::bad_request("could not read the form"), lang))?;
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .map(Form)
        .map_err(|_| PageError::new(ApiError::bad_request("malformed form"), lang))
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn csrf_refused(lang: Lang) -> PageError {
    PageError::new(
        ApiError::new(
            StatusCode::FORBIDDEN,
            CSRF_FAILED,
            lang.t(
                "表单缺少有效的安全令牌（CSRF），已拒绝。请刷新页面后重试。",
                "The form had no valid security (CSRF) token and was refused. Reload the page and try again.",
            ),
        ),
        lang,
    )
}

impl FromRequest<AppState> for Posted {
    type Rejection = PageError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let user = user_of(&parts, state).await?;
        let lang = user.lang;
        let form = read_form(Request::from_parts(parts.clone(), body), lang).await?;
        let _ = &mut parts;
        match form.get("_csrf") {
            Some(t) if same_token(t, &user.csrf()) => Ok(Posted { user, form }),
            _ => Err(csrf_refused(lang)),
        }
    }
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's CSP with another `img-src` directive.
pub fn csp(img_src: &str) -> String {
    CSP.replace("img-src 'self' data:", img_src)
}

/// Console responses: no framing by other sites, scripts and styles from HQ only, no caching
/// of pages that hold personal data.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page may widen img-src (the map, to a configured tile server); nothing else.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !is_asset && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
