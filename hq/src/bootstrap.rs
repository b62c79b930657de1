//! First start on a fresh database: the street admin operator (its token shown once), a
//! placeholder street, and the shipped default 3456 template as the active one.

use std::io::Write;

use gridpatrol_protocol::config::Street;
use gridpatrol_protocol::template::Template;

use crate::auth::{self, Role};
use crate::db::DatabaseUrl;
use crate::http::AsyncDb;
use crate::reference::{self, ACTIVE_TEMPLATE_KEY, STREET_KEY};
use crate::{now_ms, p, HqConfig, HqError, ADMIN_PASSWORD_ENV, ADMIN_TOKEN_ENV};

pub const ADMIN_TOKEN_FILE: &str = "admin-token";
pub const ADMIN_ID: &str = "street-admin";

/// Returns the admin token when this start created the admin.
pub async fn run(db: &AsyncDb, config: &HqConfig) -> Result<Option<String>, HqError> {
    let wanted = match &config.bootstrap_admin_token {
        Some(t) => Some(t.clone()),
        None => std::env::var(ADMIN_TOKEN_ENV).ok().filter(|t| !t.is_empty()),
    };
    if let Some(t) = &wanted {
        if t.len() < 16 || t.starts_with(auth::DEVICE_TOKEN_PREFIX) || t.chars().any(|c| c.is_whitespace()) {
            return Err(HqError::Bootstrap(format!(
                "{ADMIN_TOKEN_ENV} must be at least 16 characters without spaces and not start with {}",
                auth::DEVICE_TOKEN_PREFIX
            )));
        }
    }
    let given = wanted.is_some();
    let created = db
        .write(move |tx| {
            let now = now_ms();
            if reference::setting(tx, STREET_KEY)?.is_none() {
                let street = Street { code: "000000000".into(), name: "未命名街道 (street not yet named)".into() };
                reference::set_setting(tx, STREET_KEY, &serde_json::to_string(&street).unwrap_or_default())?;
            }
            if reference::setting(tx, ACTIVE_TEMPLATE_KEY)?.is_none() {
                let t = Template::default_3456();
                tx.exec(
                    "INSERT INTO template (id, version, body, published_ms, published_by) VALUES (?, ?, ?, ?, 'hq')
                     ON CONFLICT (id, version) DO NOTHING",
                    p![t.id.as_str(), t.version, serde_json::to_string(&t).unwrap_or_default(), now],
                )?;
                reference::set_setting(
                    tx,
                    ACTIVE_TEMPLATE_KEY,
                    &serde_json::to_string(&(&t.id, t.version)).unwrap_or_default(),
                )?;
            }
            if tx.query_i64("SELECT COUNT(*) FROM operator", p![])? > 0 {
                return Ok(None);
            }
            let token = wanted.unwrap_or_else(|| auth::new_token(auth::OPERATOR_TOKEN_PREFIX));
            // Two instances starting together on a fresh PostgreSQL: one of them creates it.
            let n = tx.exec(
                "INSERT INTO operator (id, name, role, scope_ids, token_hash, created_ms) VALUES (?, ?, ?, '[]', ?, ?)
                 ON CONFLICT (id) DO NOTHING",
                p![ADMIN_ID, "街道管理员 (street admin)", Role::StreetAdmin.code(), auth::sha256_hex(&token), now],
            )?;
            Ok((n == 1).then_some(token))
        })
        .await
        .map_err(|e| HqError::Bootstrap(e.detail.unwrap_or(e.message)))?;
    if let Some(token) = &created {
        if given {
            // The caller chose it; no need to repeat a secret on stdout.
            println!("GridPatrol HQ: created the street admin with the token given at start-up.");
        } else {
            println!("GridPatrol HQ: created the street admin. Its token is shown only this once:\n{token}");
        }
        if let DatabaseUrl::Sqlite(dir) = &config.database {
            write_secret(&dir.join(ADMIN_TOKEN_FILE), token)
                .map_err(|e| HqError::Bootstrap(format!("cannot write {ADMIN_TOKEN_FILE}: {e}")))?;
        }
    }
    Ok(created)
}

/// The console's user name of the street admin.
pub const ADMIN_USERNAME: &str = "admin";

/// The first start that has the console (a new database, or one from before schema v10):
/// the street admin gets user name `admin` and a password, printed here once and never again
/// (not logged, not written to a file). Returns it when this start set it.
pub async fn console_admin(db: &AsyncDb, config: &HqConfig) -> Result<Option<String>, HqError> {
    let err = |e: crate::ApiError| HqError::Bootstrap(e.detail.unwrap_or(e.message));
    let needed = db
        .read(|tx| Ok(tx.query_i64("SELECT COUNT(*) FROM operator WHERE password_hash IS NOT NULL", p![])? == 0))
        .await
        .map_err(err)?;
    if !needed {
        return Ok(None);
    }
    let given = config
        .bootstrap_admin_password
        .clone()
        .or_else(|| std::env::var(ADMIN_PASSWORD_ENV).ok().filter(|p| !p.is_empty()));
    if let Some(p) = &given {
        crate::console::session::check_password_rules(p).map_err(err)?;
    }
    let password = given.clone().unwrap_or_else(crate::console::session::new_password);
    let hash = crate::console::session::hash_password(&password).map_err(err)?;
    // Several instances starting together: the first one's update wins, the others change nothing.
    let n = db
        .write(move |tx| {
            Ok(tx.exec(
                "UPDATE operator SET username = ?, password_hash = ? WHERE id = ? AND username IS NULL
                 AND NOT EXISTS (SELECT 1 FROM operator WHERE password_hash IS NOT NULL)",
                p![ADMIN_USERNAME, hash, ADMIN_ID],
            )?)
        })
        .await
        .map_err(err)?;
    if n != 1 {
        return Ok(None);
    }
    if given.is_some() {
        println!("GridPatrol HQ console: user `{ADMIN_USERNAME}`, with the password given at start-up.");
    } else {
        println!(
            "GridPatrol HQ console: user `{ADMIN_USERNAME}`, password `{password}` (shown only this once; change it under 修改密码 / Password)."
        );
    }
    Ok(Some(password))
}

/// Owner-only (0600) from the moment the file exists.
fn write_secret(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    writeln!(f, "{secret}")?;
    f.sync_all()
}
