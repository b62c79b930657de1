//! GridPatrol HQ: the street office's server.
//!
//! Phones enrol with a one-time code, push their outbox (applied exactly once, in one
//! transaction with the per-device cursor) and pull what HQ decided for them (reference data,
//! their tasks, the cases of their grids). Operators of the street office manage the street,
//! dispatch tasks, act on cases, export CSV and read the 三零 / 3456 figures.
//!
//! Storage is SQLite in a data folder by default and PostgreSQL for several stateless HQ
//! instances; the business logic is written once over `db::Tx`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gridpatrol_hq::HqError> {
//! use gridpatrol_hq::{HqConfig, DatabaseUrl};
//! let config = HqConfig::new("127.0.0.1:0".parse().unwrap(), DatabaseUrl::parse("./hq-data"));
//! let hq = gridpatrol_hq::start(config).await?;
//! println!("HQ on http://{}", hq.addr);
//! hq.stop().await?;
//! # Ok(()) }
//! ```

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "512"]
// `ApiError` is a plain status + body; it is built only on the error path, so its size on
// the stack is not worth a box.
#![allow(clippy::result_large_err)]

pub mod backup;
pub mod db;
pub mod error;
#[doc(hidden)]
pub mod fuzz;

mod admin;
mod auth;
mod bootstrap;
mod changes;
mod console;
mod http;
mod model;
mod openapi;
mod ops;
mod phone;
mod push_order;
mod ratelimit;
mod reference;
mod routes;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use db::DatabaseUrl;
pub use error::ApiError;

/// The OpenAPI document HQ serves at `/openapi.json` (for tools and tests).
pub fn openapi_document() -> serde_json::Value {
    openapi::document()
}

/// The figures of `[from, to)` counted record by record, as HQ did before it kept running
/// counts (`admin::rollups`), as the JSON `/v1/admin/figures` answers: tests check the served
/// figures against it. Blocking; opens the database at `url` (already migrated by an HQ).
#[doc(hidden)]
pub fn figures_from_records(
    url: &DatabaseUrl,
    bearer: &str,
    from: &str,
    to: &str,
) -> Result<serde_json::Value, String> {
    let db = db::Db::open(url)?;
    let f = db.read(|tx| admin::figures::from_records(tx, bearer, from, to)).map_err(|e| e.to_string())?;
    serde_json::to_value(f).map_err(|e| e.to_string())
}

/// Check a map tile URL template (`hq serve --map-tiles`): http(s) with `{z}`, `{x}`, `{y}`.
/// Returns the origin the console will load tiles from.
pub fn map_tile_origin(template: &str) -> Result<String, String> {
    console::map::tile_origin(template)
}

/// Environment variable that sets the bootstrap street-admin token (tests, demo).
pub const ADMIN_TOKEN_ENV: &str = "GRIDPATROL_ADMIN_TOKEN";
/// Fixes the console password of the street admin (`admin`) on first start (tests, demos).
pub const ADMIN_PASSWORD_ENV: &str = "GRIDPATROL_ADMIN_PASSWORD";

#[derive(Clone)]
pub struct HqConfig {
    pub listen: SocketAddr,
    pub database: DatabaseUrl,
    /// Token bucket per device token (and per client address before a token exists):
    /// (burst, refill per second).
    pub rate_limit_per_device: (u32, f64),
    /// Token bucket per operator token.
    pub rate_limit_per_operator: (u32, f64),
    /// How long an enrolment code stays valid.
    pub enrolment_code_ttl: Duration,
    /// The street admin's token on a fresh database. `None`: `GRIDPATROL_ADMIN_TOKEN` when
    /// set, else a random token printed once.
    pub bootstrap_admin_token: Option<String>,
    /// The console password of the street admin (user `admin`) made at first start; None: a
    /// generated one, printed once.
    pub bootstrap_admin_password: Option<String>,
    /// Mark the console's cookies `Secure` (HQ behind TLS). Also set per request when the
    /// proxy in front sends `X-Forwarded-Proto: https`.
    pub console_secure_cookies: bool,
    /// Console sign-in attempts per client address: burst, then per second.
    pub console_login_limit: (u32, f64),
    /// The street's time zone (IANA name): local days for periods, and the offset on every
    /// time HQ gives out. Default Asia/Shanghai.
    pub time_zone: chrono_tz::Tz,
    /// A map tile server for the console's map, `https://…/{z}/{x}/{y}.png` (Web Mercator,
    /// WGS-84). None (the default): no tiles and no request outside HQ — the grids' boundaries
    /// are the map.
    pub map_tiles: Option<String>,
}

impl HqConfig {
    pub fn new(listen: SocketAddr, database: DatabaseUrl) -> HqConfig {
        HqConfig {
            listen,
            database,
            rate_limit_per_device: (60, 10.0),
            rate_limit_per_operator: (120, 20.0),
            enrolment_code_ttl: Duration::from_secs(15 * 60),
            bootstrap_admin_token: None,
            bootstrap_admin_password: None,
            console_secure_cookies: false,
            console_login_limit: (10, 1.0 / 6.0),
            time_zone: chrono_tz::Asia::Shanghai,
            map_tiles: None,
        }
    }
}

/// Never prints the bootstrap token.
impl std::fmt::Debug for HqConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = match &self.database {
            DatabaseUrl::Sqlite(p) => format!("sqlite:{}", p.display()),
            // The URL may carry a password.
            DatabaseUrl::Postgres(_) => "postgres://…".to_string(),
        };
        f.debug_struct("HqConfig")
            .field("listen", &self.listen)
            .field("database", &database)
            .field("rate_limit_per_device", &self.rate_limit_per_device)
            .field("rate_limit_per_operator", &self.rate_limit_per_operator)
            .field("enrolment_code_ttl", &self.enrolment_code_ttl)
            .field("bootstrap_admin_token", &self.bootstrap_admin_token.as_ref().map(|_| "<set>"))
            .field("bootstrap_admin_password", &self.bootstrap_admin_password.as_ref().map(|_| "<set>"))
            .field("console_secure_cookies", &self.console_secure_cookies)
            .field("console_login_limit", &self.console_login_limit)
            .field("time_zone", &self.time_zone)
            .field("map_tiles", &self.map_tiles)
            .finish()
    }
}

/// Resolves on Ctrl-C or SIGTERM: the `shutdown` future for `serve` in a binary.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HqError {
    #[error("database: {0}")]
    Database(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server: {0}")]
    Serve(#[from] std::io::Error),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

/// An HQ running in this process (tests, `gridpatrol demo`).
pub struct RunningHq {
    /// The bound address (the real port when `listen` asked for port 0).
    pub addr: SocketAddr,
    /// The street admin's token when this start created it (fresh database), else `None`.
    pub created_admin_token: Option<String>,
    /// The console password of user `admin`, when this start set it.
    pub created_admin_password: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), HqError>>,
}

impl RunningHq {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, finish requests in flight, close the database.
    pub async fn stop(mut self) -> Result<(), HqError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.handle).await {
            Ok(r) => r,
            Err(e) => Err(HqError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Bind `config.listen`, open and migrate the database, then serve in the background.
pub async fn start(config: HqConfig) -> Result<RunningHq, HqError> {
    let listener = bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (state, created_admin_token, created_admin_password) = prepare(config).await?;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(run(listener, state, async move {
        let _ = rx.await;
    }));
    Ok(RunningHq { addr, created_admin_token, created_admin_password, shutdown: Some(tx), handle })
}

/// Serve until `shutdown` completes (what `gridpatrol hq serve` runs, with Ctrl-C as shutdown).
pub async fn serve(config: HqConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), HqError> {
    let listener = bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (state, _, _) = prepare(config).await?;
    println!("GridPatrol HQ listening on http://{addr}");
    println!("Console (open in a browser): http://{addr}/");
    run(listener, state, shutdown).await
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, HqError> {
    TcpListener::bind(addr).await.map_err(|source| HqError::Bind { addr, source })
}

async fn prepare(config: HqConfig) -> Result<(http::AppState, Option<String>, Option<String>), HqError> {
    admin::set_street_time_zone(config.time_zone);
    let url = config.database.clone();
    let db = tokio::task::spawn_blocking(move || {
        let db = db::Db::open(&url)?;
        // A database from before the figures' rollups (or counted in another zone) gains them.
        db.write(|tx| admin::rollups::ensure_built(tx)).map_err(|e| format!("building the figures' counts: {e}"))?;
        Ok::<_, String>(db)
    })
    .await
    .map_err(|e| HqError::Database(e.to_string()))?
    .map_err(HqError::Database)?;
    let db = http::AsyncDb(Arc::new(db));
    let token = bootstrap::run(&db, &config).await?;
    let password = bootstrap::console_admin(&db, &config).await?;
    Ok((http::AppState::new(db, config), token, password))
}

async fn run(
    listener: TcpListener,
    state: http::AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HqError> {
    let metrics = state.metrics.clone();
    let app = server::router(state);
    // On the signal: readiness answers 503 at once, new connections stop, and requests in
    // flight (a push half received, say) finish and are answered before HQ exits.
    let shutdown = async move {
        shutdown.await;
        metrics.draining.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!("shutting down: finishing requests in flight");
    };
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// HQ's clock (authoritative for ordering), Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn to_time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
