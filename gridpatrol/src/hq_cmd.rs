//! `gridpatrol hq serve`: the street office's server, one binary. SQLite in a data folder by
//! default (no set-up); PostgreSQL when `--database postgres://…` is given (several stateless
//! HQ instances can share one PostgreSQL). Ctrl-C (or SIGTERM) stops it gracefully.
//! `gridpatrol hq backup` / `hq restore`: SQLite's disaster recovery (`hq/src/backup.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use gridpatrol_hq::{DatabaseUrl, HqConfig};

#[derive(Args)]
pub struct HqArgs {
    #[command(subcommand)]
    command: HqCommand,
}

#[derive(Subcommand)]
enum HqCommand {
    /// Run HQ.
    Serve {
        /// Address to listen on (port 0 picks a free port; the line printed at start names it).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// A data folder for SQLite (default), or a postgres:// URL.
        #[arg(long, value_name = "DIR|URL", default_value = "./gridpatrol-hq-data", env = "GRIDPATROL_DATABASE")]
        database: String,
        /// Requests per second a phone may make (token bucket refill; the burst is 6x this).
        #[arg(long, default_value_t = 10.0)]
        device_rate: f64,
        /// The street's time zone (IANA name): periods are its local days, and every time HQ
        /// gives out carries its offset.
        #[arg(long, value_name = "ZONE", default_value = "Asia/Shanghai", env = "GRIDPATROL_TIME_ZONE")]
        time_zone: String,
        /// The request log on stderr: `text`, or `json` (one object per line). `RUST_LOG`
        /// filters it (default `info`).
        #[arg(long, value_name = "FORMAT", default_value = "text", env = "GRIDPATROL_LOG_FORMAT")]
        log_format: String,
        /// Mark the console's cookies Secure (HQ served over TLS, e.g. behind a reverse proxy;
        /// a proxy's `X-Forwarded-Proto: https` does the same per request).
        #[arg(long, env = "GRIDPATROL_SECURE_COOKIES")]
        secure_cookies: bool,
        /// A map tile server for the console's map, e.g. `https://tiles.example.gov.cn/{z}/{x}/{y}.png`
        /// (Web Mercator, WGS-84 coordinates). Without it, no tiles and no outside request.
        #[arg(long, value_name = "URL", env = "GRIDPATROL_MAP_TILES")]
        map_tiles: Option<String>,
    },
    /// Copy the SQLite database to a new file, consistently, while HQ serves.
    Backup {
        /// HQ's data folder.
        #[arg(long, value_name = "DIR", default_value = "./gridpatrol-hq-data", env = "GRIDPATROL_DATABASE")]
        database: String,
        /// The backup file to create (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Put a backup in place (stop HQ first); phones then send again what HQ lost.
    Restore {
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// HQ's data folder.
        #[arg(long, value_name = "DIR", default_value = "./gridpatrol-hq-data", env = "GRIDPATROL_DATABASE")]
        database: String,
    },
}

pub fn run(args: HqArgs) -> i32 {
    let (listen, database, device_rate, time_zone, log_format, secure_cookies, map_tiles) = match args.command {
        HqCommand::Serve { listen, database, device_rate, time_zone, log_format, secure_cookies, map_tiles } => {
            (listen, database, device_rate, time_zone, log_format, secure_cookies, map_tiles)
        }
        HqCommand::Backup { database, to } => {
            return report(gridpatrol_hq::backup::backup(&DatabaseUrl::parse(&database), &to), "backed up to", &to)
        }
        HqCommand::Restore { from, database } => {
            let result = match DatabaseUrl::parse(&database) {
                DatabaseUrl::Sqlite(dir) => gridpatrol_hq::backup::restore(&from, &dir),
                DatabaseUrl::Postgres(_) => Err("on PostgreSQL, restore with pg_restore (see hq/README.md)".into()),
            };
            return report(result, "restored from", &from);
        }
    };
    let mut config = HqConfig::new(listen, DatabaseUrl::parse(&database));
    config.console_secure_cookies = secure_cookies;
    if let Some(t) = map_tiles.filter(|t| !t.is_empty()) {
        if let Err(e) = gridpatrol_hq::map_tile_origin(&t) {
            eprintln!("error: --map-tiles: {e}");
            return 2;
        }
        config.map_tiles = Some(t);
    }
    config.rate_limit_per_device = ((device_rate * 6.0).ceil().max(1.0) as u32, device_rate);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false);
    let installed = match log_format.as_str() {
        "json" => logs.json().flatten_event(true).try_init(),
        "text" => logs.try_init(),
        other => {
            eprintln!("error: --log-format {other:?}: expected text or json");
            return 2;
        }
    };
    if let Err(e) = installed {
        eprintln!("warning: request log not installed: {e}");
    }
    config.time_zone = match time_zone.parse() {
        Ok(tz) => tz,
        Err(_) => {
            eprintln!("error: --time-zone {time_zone:?} is not an IANA time zone name (e.g. Asia/Shanghai)");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(gridpatrol_hq::serve(config, shutdown_signal()));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn report(result: Result<(), String>, done: &str, file: &std::path::Path) -> i32 {
    match result {
        Ok(()) => {
            println!("{done} {}", file.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
