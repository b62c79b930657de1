//! The one error type of HQ: an HTTP status plus the wire's `ErrorBody` with a stable code.
//! Client mistakes are 4xx with a code; only HQ's own failures are 500, and those are logged
//! with a short, data-free detail (never SQL parameters, tokens or personal data).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridpatrol_protocol::wire::{codes, ErrorBody, ErrorDetail};
use gridpatrol_protocol::InvalidValue;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub expected_seq: Option<i64>,
    /// Seconds, with `rate_limited`.
    pub retry_after: Option<u64>,
    /// With `internal`: what went wrong, for the log and start-up errors (no personal data).
    pub detail: Option<String>,
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            expected_seq: None,
            retry_after: None,
            detail: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let mut e =
            ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_INPUT, format!("{field}: {}", message.into()));
        e.field = Some(field);
        e
    }

    /// The same error about a field inside `prefix` (`assignee_id` → `tasks[3].assignee_id`).
    pub fn within(mut self, prefix: &str) -> Self {
        if let Some(field) = self.field.take() {
            let full = format!("{prefix}.{field}");
            self.message = self.message.replacen(&field, &full, 1);
            self.field = Some(full);
        }
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_INPUT, message)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, "a valid bearer token is required")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, message)
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, format!("no such {what}"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, codes::CONFLICT, message)
    }

    /// HQ's own failure. `detail` goes to the log only and must hold no personal data.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(detail = %detail, "internal error");
        let mut e =
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL, "HQ could not complete the request");
        e.detail = Some(detail.to_string());
        e
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                field: self.field.clone(),
                expected_seq: self.expected_seq,
            },
        }
    }
}

/// Storage failures at the HTTP edge: busy is a 503 with `Retry-After` (nothing was committed,
/// the client sends again); anything else is HQ's own failure, logged, a 500.
impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Busy { retry_after_s } => {
                let mut busy = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::INTERNAL, "HQ was busy; retry");
                busy.retry_after = Some(retry_after_s);
                busy
            }
            crate::db::DbError::Failed(detail) => ApiError::internal(detail),
        }
    }
}

impl From<InvalidValue> for ApiError {
    fn from(e: InvalidValue) -> Self {
        let mut a = ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_INPUT, e.to_string());
        a.field = Some(e.field);
        a
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
