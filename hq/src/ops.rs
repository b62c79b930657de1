//! Operating HQ: the Prometheus metrics (`GET /metrics`), readiness (`GET /readyz`), and the
//! request log's device tag — a short hash of the device id, never the token or the id itself.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridpatrol_protocol::wire::{codes, OpStatus, PushResponse};
use serde::Serialize;

use crate::auth;
use crate::error::{ApiError, Result};
use crate::http::{AppState, Bearer};

/// Upper bounds (seconds) of the push latency histogram's buckets.
const PUSH_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// This instance's counters since it started (each HQ instance is scraped on its own).
#[derive(Default)]
pub struct Metrics {
    requests: [AtomicU64; 6],
    pushes: AtomicU64,
    push_ops: [AtomicU64; 4],
    push_buckets: [AtomicU64; PUSH_BUCKETS.len()],
    push_micros: AtomicU64,
    pulls: AtomicU64,
    pull_bytes: AtomicU64,
    /// Set when shutdown begins: readiness then answers 503 while requests in flight finish.
    pub draining: AtomicBool,
}

const OP_STATUSES: [&str; 4] = ["applied", "duplicate", "rejected", "conflict"];

impl Metrics {
    /// A request answered: counted by status class.
    pub fn request(&self, status: StatusCode) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize;
        self.requests[class].fetch_add(1, Ordering::Relaxed);
    }

    /// A push answered (`latency` from its arrival); its operations' outcomes.
    pub fn push(&self, latency: Duration, resp: Option<&PushResponse>) {
        self.pushes.fetch_add(1, Ordering::Relaxed);
        let secs = latency.as_secs_f64();
        for (i, le) in PUSH_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.push_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.push_micros.fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        for r in resp.map(|r| r.results.as_slice()).unwrap_or_default() {
            let i = match r.status {
                OpStatus::Applied => 0,
                OpStatus::Duplicate => 1,
                OpStatus::Rejected => 2,
                OpStatus::Conflict => 3,
            };
            self.push_ops[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A pull answered with `bytes` of body (before compression).
    pub fn pull(&self, bytes: u64) {
        self.pulls.fetch_add(1, Ordering::Relaxed);
        self.pull_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = String::new();
        let _ = writeln!(s, "# HELP gridpatrol_http_requests_total Requests answered, by status class.");
        let _ = writeln!(s, "# TYPE gridpatrol_http_requests_total counter");
        for class in 1..=5 {
            let _ = writeln!(s, "gridpatrol_http_requests_total{{class=\"{class}xx\"}} {}", get(&self.requests[class]));
        }
        let _ = writeln!(s, "# HELP gridpatrol_pushes_total Pushes answered.");
        let _ = writeln!(s, "# TYPE gridpatrol_pushes_total counter");
        let _ = writeln!(s, "gridpatrol_pushes_total {}", get(&self.pushes));
        let _ = writeln!(s, "# HELP gridpatrol_push_ops_total Pushed operations, by HQ's answer.");
        let _ = writeln!(s, "# TYPE gridpatrol_push_ops_total counter");
        for (i, st) in OP_STATUSES.iter().enumerate() {
            let _ = writeln!(s, "gridpatrol_push_ops_total{{status=\"{st}\"}} {}", get(&self.push_ops[i]));
        }
        let _ = writeln!(s, "# HELP gridpatrol_push_seconds Time from a push's arrival to its answer.");
        let _ = writeln!(s, "# TYPE gridpatrol_push_seconds histogram");
        for (i, le) in PUSH_BUCKETS.iter().enumerate() {
            let _ = writeln!(s, "gridpatrol_push_seconds_bucket{{le=\"{le}\"}} {}", get(&self.push_buckets[i]));
        }
        let _ = writeln!(s, "gridpatrol_push_seconds_bucket{{le=\"+Inf\"}} {}", get(&self.pushes));
        let _ = writeln!(s, "gridpatrol_push_seconds_sum {}", get(&self.push_micros) as f64 / 1e6);
        let _ = writeln!(s, "gridpatrol_push_seconds_count {}", get(&self.pushes));
        let _ = writeln!(s, "# HELP gridpatrol_pulls_total Pulls answered.");
        let _ = writeln!(s, "# TYPE gridpatrol_pulls_total counter");
        let _ = writeln!(s, "gridpatrol_pulls_total {}", get(&self.pulls));
        let _ = writeln!(s, "# HELP gridpatrol_pull_bytes_total Bytes of pull answers (before compression).");
        let _ = writeln!(s, "# TYPE gridpatrol_pull_bytes_total counter");
        let _ = writeln!(s, "gridpatrol_pull_bytes_total {}", get(&self.pull_bytes));
        s
    }
}

/// `GET /metrics` (any operator's token: Prometheus sends it as `authorization`).
pub async fn metrics(State(s): State<AppState>, bearer: Bearer) -> Result<Response> {
    s.db.read(move |tx| auth::operator(tx, bearer.as_deref()).map(|_| ())).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], s.metrics.render()).into_response())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ready {
    pub ready: bool,
}

/// `GET /readyz`: ready to take traffic — the database answers and HQ is not shutting down.
/// A load balancer stops sending here on 503 (`unavailable`).
pub async fn readyz(State(s): State<AppState>) -> Result<Json<Ready>> {
    if s.metrics.draining.load(Ordering::Relaxed) {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::UNAVAILABLE, "HQ is shutting down"));
    }
    s.db.read(|tx| tx.query_i64("SELECT 1", crate::p![]).map_err(ApiError::from)).await.map_err(|_| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::UNAVAILABLE, "the database does not answer")
    })?;
    Ok(Json(Ready { ready: true }))
}

/// A pull answer's size before compression, left on the response for the request log.
#[derive(Debug, Clone, Copy)]
pub struct PullBytes(pub u64);

/// Token hash → device tag, filled when a device authenticates, read by the request log. Bounded:
/// cleared when full (a tag missing from one log line is harmless).
static DEVICE_TAGS: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
const MAX_TAGS: usize = 50_000;

/// The log's name for a device: 12 hex digits of a hash of its id.
pub fn device_tag(device_id: &str) -> String {
    auth::sha256_hex(&format!("device-tag:{device_id}"))[..12].to_string()
}

/// Remember which device a token belongs to, for the request log.
pub fn remember_device(token: &str, device_id: &str) {
    let key = auth::sha256_hex(token)[..24].to_string();
    let mut tags = DEVICE_TAGS.lock().unwrap_or_else(|p| p.into_inner());
    let map = tags.get_or_insert_with(HashMap::new);
    if map.contains_key(&key) {
        return; // a token belongs to one device for good: nothing new to learn
    }
    if map.len() >= MAX_TAGS {
        map.clear();
    }
    map.insert(key, device_tag(device_id));
}

/// The device tag of a request's token, when a device authenticated with it.
pub fn tag_of(token: &str) -> Option<String> {
    let key = auth::sha256_hex(token)[..24].to_string();
    DEVICE_TAGS.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|m| m.get(&key).cloned())
}
