//! The phone's HTTP transport to HQ: JSON bodies gzip-compressed both ways (by hand, so the
//! bytes on the wire are counted), the protocol version header, the bearer token, and HQ's
//! JSON errors turned into typed `CoreError`s.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use gridpatrol_protocol::wire::{codes, ErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION};
use reqwest::StatusCode;
use serde::{de::DeserializeOwned, Serialize};

use crate::{CoreError, Result};

/// Bytes and requests spent, for the sync report and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireStats {
    pub requests: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

pub(crate) struct Transport {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    requests: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

/// A failed request: whether it is worth retrying, and after how long at least.
pub(crate) struct Failure {
    pub error: CoreError,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
    /// With HQ's `seq_gap`: the sequence number HQ expects next.
    pub expected_seq: Option<i64>,
}

impl Transport {
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<Transport> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CoreError::invalid("hq_url", "must start with http:// or https://"));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| CoreError::HqUnreachable { reason: format!("HTTP client: {e}") })?;
        Ok(Transport {
            client,
            base,
            token,
            requests: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
        })
    }

    pub fn stats(&self) -> WireStats {
        WireStats {
            requests: self.requests.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
        }
    }

    /// POST a JSON body, return the decoded JSON answer.
    pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        body: &Req,
    ) -> std::result::Result<Resp, Failure> {
        let compressed = encode(body).map_err(fatal)?;
        self.post_encoded(path, compressed).await
    }

    /// POST a body already made by `encode`.
    pub async fn post_encoded<Resp: DeserializeOwned>(
        &self,
        path: &str,
        compressed: Vec<u8>,
    ) -> std::result::Result<Resp, Failure> {
        self.post_encoded_with(path, compressed, &[]).await
    }

    /// `post_encoded` with extra headers.
    pub async fn post_encoded_with<Resp: DeserializeOwned>(
        &self,
        path: &str,
        compressed: Vec<u8>,
        headers: &[(&str, String)],
    ) -> std::result::Result<Resp, Failure> {
        let len = compressed.len() as u64;
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.send(req.body(compressed), len).await
    }

    /// GET a JSON answer.
    pub async fn get<Resp: DeserializeOwned>(&self, path: &str) -> std::result::Result<Resp, Failure> {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req, 0).await
    }

    /// PUT raw bytes (a photo chunk) with extra headers.
    pub async fn put_bytes<Resp: DeserializeOwned>(
        &self,
        path: &str,
        bytes: Vec<u8>,
        headers: &[(&str, String)],
    ) -> std::result::Result<Resp, Failure> {
        let n = bytes.len() as u64;
        let mut req =
            self.client.put(format!("{}{path}", self.base)).header("content-type", "application/octet-stream");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.send(req.body(bytes), n).await
    }

    async fn send<Resp: DeserializeOwned>(
        &self,
        mut req: reqwest::RequestBuilder,
        sent: u64,
    ) -> std::result::Result<Resp, Failure> {
        req = req.header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string()).header("accept-encoding", "gzip");
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        self.requests.fetch_add(1, Relaxed);
        self.bytes_sent.fetch_add(sent, Relaxed);
        let resp = req.send().await.map_err(|e| Failure {
            // No detail that could carry a token; reqwest's message names only the URL/cause.
            error: CoreError::HqUnreachable { reason: plain_reason(&e) },
            retryable: true,
            retry_after: None,
            expected_seq: None,
        })?;
        let status = resp.status();
        let gzipped =
            resp.headers().get("content-encoding").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let raw = resp.bytes().await.map_err(|e| Failure {
            error: CoreError::HqUnreachable { reason: plain_reason(&e) },
            retryable: true,
            retry_after: None,
            expected_seq: None,
        })?;
        self.bytes_received.fetch_add(raw.len() as u64, Relaxed);
        let body = if gzipped {
            let mut out = Vec::new();
            GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| Failure {
                error: CoreError::HqUnreachable { reason: format!("garbled response: {e}") },
                retryable: true,
                retry_after: None,
                expected_seq: None,
            })?;
            out
        } else {
            raw.to_vec()
        };
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| Failure {
                error: CoreError::HqRefused {
                    status: status.as_u16(),
                    code: "bad_response".into(),
                    message: format!("HQ's answer could not be read: {e}"),
                },
                retryable: false,
                retry_after: None,
                expected_seq: None,
            });
        }
        let detail = serde_json::from_slice::<ErrorBody>(&body).ok().map(|b| b.error);
        let code = detail.as_ref().map(|d| d.code.clone()).unwrap_or_default();
        let message = detail.as_ref().map(|d| d.message.clone()).unwrap_or_else(|| status.to_string());
        let error = match (status, code.as_str()) {
            (_, codes::ENROLMENT_CODE_INVALID) => CoreError::EnrolmentCodeInvalid,
            (_, codes::DEVICE_REVOKED) => CoreError::DeviceRevoked,
            // HQ ordered a wipe: `Store::sync` (and enrolment) carry it out (`crate::wipe`).
            (_, codes::DEVICE_WIPE) => CoreError::DeviceWiped,
            (StatusCode::TOO_MANY_REQUESTS, _) => {
                CoreError::RateLimited { retry_after_s: retry_after.map(|d| d.as_secs()).unwrap_or(1) }
            }
            _ => CoreError::HqRefused { status: status.as_u16(), code: code.clone(), message },
        };
        // 5xx, 429 and 408 are HQ's trouble and pass; other 4xx will not get better by retrying.
        let retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        let expected_seq = detail.and_then(|d| d.expected_seq).filter(|_| code == codes::SEQ_GAP);
        Err(Failure { error, retryable: retryable && expected_seq.is_none(), retry_after, expected_seq })
    }
}

/// A request body as sent: JSON, gzip-compressed.
pub(crate) fn encode<Req: Serialize>(body: &Req) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(body).map_err(|e| CoreError::Corrupt(format!("encode: {e}")))?;
    gzip(&json)
}

/// JSON already written, compressed as sent.
pub(crate) fn gzip(json: &[u8]) -> Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
    gz.write_all(json)?;
    Ok(gz.finish()?)
}

pub(crate) fn fatal(error: CoreError) -> Failure {
    Failure { error, retryable: false, retry_after: None, expected_seq: None }
}

/// A short cause in plain words (no URL query, no headers).
fn plain_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "connection failed".into()
    }
}
