//! What every handler takes: the shared state, and extractors that turn every client mistake
//! into a JSON error with a stable code. The router and its middleware are in `server.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use gridpatrol_protocol::wire::codes;
use serde::de::DeserializeOwned;

use crate::db::{Db, DbError, Tx};
use crate::error::{ApiError, Result};
use crate::ratelimit::RateLimiter;
use crate::HqConfig;

#[derive(Clone)]
pub struct AppState {
    pub db: AsyncDb,
    pub config: Arc<HqConfig>,
    pub limiter: Arc<RateLimiter>,
    pub push_order: Arc<crate::push_order::PushOrder>,
    /// `/openapi.json`, made once from the route table when the router is built.
    pub openapi: Arc<serde_json::Value>,
    pub metrics: Arc<crate::ops::Metrics>,
}

impl AppState {
    pub fn new(db: AsyncDb, config: HqConfig) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            limiter: Arc::new(RateLimiter::new()),
            push_order: Arc::new(Default::default()),
            openapi: Arc::new(serde_json::Value::Null),
            metrics: Arc::new(Default::default()),
        }
    }
}

/// The `Authorization: Bearer …` token, if any (checked later, inside the transaction).
pub struct Bearer(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        Ok(Bearer(bearer_token(&parts.headers)))
    }
}

pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

impl Bearer {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

fn body_error(e: BytesRejection) -> ApiError {
    match e {
        BytesRejection::FailedToBufferBody(axum::extract::rejection::FailedToBufferBody::LengthLimitError(_)) => {
            payload_too_large()
        }
        _ => ApiError::bad_request("could not read the request body (bad gzip, or the connection broke)"),
    }
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, codes::PAYLOAD_TOO_LARGE, "the request body is too large")
}

/// A JSON body, whatever the content type says; syntax and type errors become 400s.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            // serde's message names the field and line; it may quote the client's own value,
            // which goes back to that client only, never to the log.
            ApiError::bad_request(format!("malformed JSON body: {e}"))
        })
    }
}

/// The raw body (attachment chunks).
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(body_error)
    }
}

pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::bad_request(format!("bad path: {}", e.body_text())))
    }
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiQuery(p.0))
            .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
    pub schema_version: i64,
}

pub async fn healthz(State(s): State<AppState>) -> Result<axum::Json<Health>> {
    let database = match s.db.0.backend() {
        crate::db::Backend::Sqlite => "sqlite",
        crate::db::Backend::Postgres => "postgres",
    };
    let schema_version =
        s.db.read(|tx| Ok(tx.query_i64("SELECT MAX(version) FROM schema_version", crate::p![])?)).await?;
    Ok(axum::Json(Health { status: "ok", database, schema_version }))
}

/// `GET /openapi.json`.
pub async fn openapi_json(State(s): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json((*s.openapi).clone())
}

/// The database as handlers use it: each transaction on the blocking pool (SQLite's writes
/// in its writer's queue), failing with HQ's `ApiError` (storage's own `DbError` mapped).
#[derive(Clone)]
pub struct AsyncDb(pub Arc<Db>);

impl AsyncDb {
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _turn = match &*self.0 {
            Db::Sqlite(db) => return db.write_async(f).await,
            Db::Postgres(db) => db.turn().await?,
        };
        let db = self.0.clone();
        tokio::task::spawn_blocking(move || db.write(f)).await.map_err(|e| DbError::failed(format!("task: {e}")))?
    }

    /// `write`, with its place in line taken now: the bool says whether write transactions
    /// started after this call run after this one (SQLite: it is in the writer's queue);
    /// otherwise (PostgreSQL, where transactions run side by side) only once it is done.
    pub fn write_in_line<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> (bool, std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'static>>) {
        match &*self.0 {
            Db::Sqlite(db) => (true, Box::pin(db.submit(f))),
            Db::Postgres(_) => {
                let db = self.clone();
                (false, Box::pin(async move { db.write(f).await }))
            }
        }
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _turn = match &*self.0 {
            Db::Postgres(db) => Some(db.turn().await?),
            Db::Sqlite(_) => None,
        };
        let db = self.0.clone();
        tokio::task::spawn_blocking(move || db.read(f)).await.map_err(|e| DbError::failed(format!("task: {e}")))?
    }
}
