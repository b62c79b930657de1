//! The router and its middleware stack: panic guard, request log, gzip both ways, credentials
//! before bodies, the encodings accepted, body limit, rate limit, protocol version on phone
//! routes. Built from the route table (`routes.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use gridpatrol_protocol::wire::{codes, MAX_BODY_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::auth::DEVICE_TOKEN_PREFIX;
use crate::error::ApiError;
use crate::http::{bearer_token, AppState};
use crate::routes;

pub const ROUTE_NOT_FOUND: &str = "no such route";

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, ROUTE_NOT_FOUND)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, codes::INVALID_INPUT, "this route does not take that method")
}

/// Phone routes: `x-gridpatrol-protocol` within MIN..=CURRENT (missing means version 1).
pub async fn protocol_version(req: Request, next: Next) -> Response {
    let version = match req.headers().get(PROTOCOL_HEADER) {
        None => Some(1),
        Some(v) => v.to_str().ok().and_then(|s| s.trim().parse::<u32>().ok()),
    };
    match version {
        Some(v) if (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&v) => {
            let mut resp = next.run(req).await;
            resp.headers_mut().insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL_VERSION));
            resp
        }
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::UNSUPPORTED_PROTOCOL,
            format!("this HQ speaks protocol versions {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}; update the app"),
        )
        .into_response(),
    }
}

/// Routes that take no credential (every other route does).
fn is_public(route: &str) -> bool {
    static PUBLIC: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    PUBLIC
        .get_or_init(|| {
            routes::table().into_iter().filter(|r| r.access == routes::Access::Public).map(|r| r.path).collect()
        })
        .contains(&route)
}

/// Authentication before the body is read: a request to a credentialed route without a token
/// is refused at once (401), whatever its body or encoding. One with a token that turns out to
/// be refused for its content (4xx) has its token checked before that answer goes out: a
/// token HQ does not know gets 401, so a client always learns about its credential first.
/// Valid requests pay nothing here (their handler checks the token in its own transaction).
async fn credentials_first(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Not a route (a 404 follows) or a public one: nothing to check.
    match req.extensions().get::<MatchedPath>() {
        // The console's pages authenticate by their session cookie, in their own handlers.
        Some(route) if !is_public(route.as_str()) && !crate::console::is_console_route(route.as_str()) => {}
        _ => return next.run(req).await,
    }
    let Some(token) = bearer_token(req.headers()) else {
        return ApiError::unauthorized().into_response();
    };
    let resp = next.run(req).await;
    let status = resp.status();
    let about_credential = matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS | StatusCode::NOT_FOUND
    );
    if status.is_client_error() && !about_credential {
        if let Err(refused) = state.db.read(move |tx| crate::auth::check_credential(tx, &token)).await {
            if refused.status == StatusCode::UNAUTHORIZED {
                return refused.into_response();
            }
        }
    }
    resp
}

/// Bodies come as they are or gzip-compressed; any other `Content-Encoding` (`br`, `deflate`,
/// `gzip, gzip`…) is a 415 with the usual JSON error, before anything reads the body.
async fn content_encoding(req: Request, next: Next) -> Response {
    let ok = req.headers().get_all(header::CONTENT_ENCODING).iter().enumerate().all(|(i, v)| {
        i == 0
            && v.to_str().is_ok_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("identity")
            })
    });
    if ok {
        return next.run(req).await;
    }
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        codes::UNSUPPORTED_ENCODING,
        "request bodies are accepted as they are or with Content-Encoding: gzip",
    )
    .into_response()
}

/// Per-credential token bucket; the key is a hash prefix of the token (never the token).
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz" || path == "/readyz" || path == "/openapi.json" {
        return next.run(req).await;
    }
    let (key, limits) = match bearer_token(req.headers()) {
        Some(t) if t.starts_with(DEVICE_TOKEN_PREFIX) => {
            (format!("d:{}", &crate::auth::sha256_hex(&t)[..24]), state.config.rate_limit_per_device)
        }
        // Operator tokens (`gpo_…`, or the bootstrap admin's own); an unknown token is
        // refused by authentication anyway.
        Some(t) => (format!("o:{}", &crate::auth::sha256_hex(&t)[..24]), state.config.rate_limit_per_operator),
        None => {
            let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
            (format!("ip:{}", ip.unwrap_or_default()), state.config.rate_limit_per_device)
        }
    };
    let verdict = match state.db.0.backend() {
        crate::db::Backend::Sqlite => state.limiter.check(&key, limits),
        // Several instances may share this database: one bucket per key between them.
        crate::db::Backend::Postgres => {
            let now = crate::now_ms();
            match state.db.write(move |tx| Ok(crate::ratelimit::check_shared(tx, &key, limits, now)?)).await {
                Ok(v) => v,
                // The database will answer the request itself; its trouble is not the client's.
                Err(e) => {
                    tracing::warn!(error = %e.message, "shared rate limit unavailable");
                    Ok(())
                }
            }
        }
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(secs) => {
            let mut e =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED, "too many requests; retry later");
            e.retry_after = Some(secs);
            e.into_response()
        }
    }
}

/// Method, route template, status, latency and, for a phone, a short hash of its device id:
/// no paths with ids, no bodies, no tokens, no names. Counted for `/metrics` as well.
async fn log_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let token = bearer_token(req.headers()).filter(|t| t.starts_with(DEVICE_TOKEN_PREFIX));
    let resp = next.run(req).await;
    let latency = start.elapsed();
    let device = token.as_deref().and_then(crate::ops::tag_of);
    state.metrics.request(resp.status());
    match route.as_deref() {
        Some("/v1/pull") => {
            if let Some(bytes) = resp.extensions().get::<crate::ops::PullBytes>() {
                state.metrics.pull(bytes.0);
            }
        }
        Some("/v1/push") => {
            let pushed = resp.extensions().get::<Arc<gridpatrol_protocol::wire::PushResponse>>().cloned();
            state.metrics.push(latency, pushed.as_deref());
        }
        _ => {}
    }
    tracing::info!(
        method = %method,
        route = route.as_deref().unwrap_or("<unmatched>"),
        status = resp.status().as_u16(),
        latency_ms = latency.as_millis() as u64,
        device = device.as_deref().unwrap_or("-"),
        "request"
    );
    resp
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    // The panic message could hold data; it is not logged or returned.
    tracing::error!("handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL, "HQ could not complete the request")
        .into_response()
}

pub fn router(mut state: AppState) -> Router {
    state.openapi = Arc::new(crate::openapi::document());
    let mut app: Router<AppState> = Router::new();
    for r in routes::table() {
        // Phone endpoints (enrol included) check the protocol version; admin ones do not.
        let phone = r.path.starts_with("/v1/") && !r.path.starts_with("/v1/admin/");
        let handler = if phone { r.handler.layer(middleware::from_fn(protocol_version)) } else { r.handler };
        app = app.route(r.path, handler);
    }
    app.merge(crate::console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new())
        // Outside the decompression: these answer before any body is read.
        .layer(middleware::from_fn(content_encoding))
        .layer(middleware::from_fn_with_state(state.clone(), credentials_first))
        // Fastest: answers (push results, pull pages) are repetitive JSON that compresses well
        // at any level, and HQ's CPU is better spent on the database.
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}
