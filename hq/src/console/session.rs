//! Console sign-in: argon2id passwords on the operator row, sessions in the database (only the
//! SHA-256 of the id), a lockout after five wrong passwords in a row, password change and an
//! admin's reset. The session id is an operator credential (`auth::SESSION_PREFIX`), so every
//! page is authorised by `auth::operator` like the API.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::auth::{self, sha256_hex, SESSION_PREFIX};
use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::model::audit::audit;
use crate::p;

/// Wrong passwords in a row that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a lock lasts (an admin's reset lifts it sooner).
pub const LOCK_MS: i64 = 15 * 60 * 1000;
/// A session lasts one working day, then the browser signs in again.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&auth::random_bytes::<16>()).map_err(ApiError::internal)?;
    // Argon2::default() is argon2id v19 with the crate's OWASP-level cost (19 MiB, t=2).
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(ApiError::internal)
}

/// `verify_password` on the blocking pool: an argon2id check takes tens of milliseconds of CPU,
/// which must not hold up the runtime's threads serving other requests.
pub async fn check(hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || hash.is_some_and(|h| verify_password(&h, &password))).await.unwrap_or(false)
}

/// `hash_password` on the blocking pool (see `check`).
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal(format!("task: {e}")))?
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A password a person can type from a printout: 16 characters of the enrolment alphabet.
pub fn new_password() -> String {
    auth::new_enrolment_code().replace('-', "") + &auth::new_enrolment_code()[..4]
}

pub fn new_session_id() -> String {
    auth::new_token(SESSION_PREFIX)
}

/// CSRF token of a session: derived from the secret session id, so a page from this session
/// can carry it and another site cannot know it. Nothing more to store.
pub fn csrf_token(session_id: &str) -> String {
    sha256_hex(&format!("csrf:{session_id}"))[..32].to_string()
}

pub fn check_password_rules(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.chars().count() > 200 {
        return Err(ApiError::invalid("password", "is too long"));
    }
    Ok(())
}

/// What a user name's row holds for sign-in (read before the slow hash is checked, outside
/// any write transaction).
pub struct Account {
    pub id: String,
    pub password_hash: Option<String>,
    pub locked_until_ms: Option<i64>,
}

pub fn account(tx: &mut dyn Tx, username: &str) -> Result<Option<Account>> {
    let row = tx.query_opt(
        "SELECT id, password_hash, locked_until_ms FROM operator WHERE username = ? AND revoked_ms IS NULL",
        p![username],
    )?;
    row.map(|r| Ok(Account { id: r.text(0)?, password_hash: r.opt_text(1)?, locked_until_ms: r.opt_i64(2)? }))
        .transpose()
}

pub enum Failure {
    /// Wrong user name or password (which of the two is not said).
    Wrong,
    /// Locked until this time (ms).
    Locked(i64),
}

/// Count one wrong password; the fifth in a row locks the account. A lock that has run out
/// starts the count again.
pub fn record_failure(tx: &mut dyn Tx, operator_id: &str, now: i64) -> Result<Failure> {
    let r = tx.query_one(
        "UPDATE operator SET
             failed_logins = CASE WHEN locked_until_ms IS NOT NULL AND locked_until_ms <= ? THEN 1
                                  ELSE failed_logins + 1 END,
             locked_until_ms = CASE WHEN locked_until_ms IS NOT NULL AND locked_until_ms <= ? THEN NULL
                                    ELSE locked_until_ms END
         WHERE id = ? RETURNING failed_logins",
        p![now, now, operator_id],
    )?;
    let failed = r.i64(0)?;
    audit(tx, operator_id, "console.login_failed", operator_id)?;
    if failed >= MAX_FAILED_LOGINS {
        let until = now + LOCK_MS;
        tx.exec("UPDATE operator SET locked_until_ms = ? WHERE id = ?", p![until, operator_id])?;
        audit(tx, operator_id, "console.locked", operator_id)?;
        return Ok(Failure::Locked(until));
    }
    Ok(Failure::Wrong)
}

/// A right password: the count starts again and a session begins. Returns the session id.
pub fn begin_session(tx: &mut dyn Tx, operator_id: &str, now: i64) -> Result<String> {
    tx.exec("UPDATE operator SET failed_logins = 0, locked_until_ms = NULL WHERE id = ?", p![operator_id])?;
    // Old sessions of this account past their time go as a new one starts.
    tx.exec("DELETE FROM console_session WHERE operator_id = ? AND expires_ms <= ?", p![operator_id, now])?;
    let sid = new_session_id();
    tx.exec(
        "INSERT INTO console_session (id_hash, operator_id, created_ms, expires_ms) VALUES (?, ?, ?, ?)",
        p![sha256_hex(&sid), operator_id, now, now + SESSION_MS],
    )?;
    audit(tx, operator_id, "console.login", operator_id)?;
    Ok(sid)
}

pub fn end_session(tx: &mut dyn Tx, session_id: &str) -> Result<()> {
    tx.exec("DELETE FROM console_session WHERE id_hash = ?", p![sha256_hex(session_id)])?;
    Ok(())
}

/// Set a new password; every other session of the account ends (`keep` stays, if given).
pub fn set_password(tx: &mut dyn Tx, operator_id: &str, hash: &str, keep: Option<&str>) -> Result<()> {
    tx.exec(
        "UPDATE operator SET password_hash = ?, failed_logins = 0, locked_until_ms = NULL WHERE id = ?",
        p![hash, operator_id],
    )?;
    let keep = keep.map(sha256_hex).unwrap_or_default();
    tx.exec("DELETE FROM console_session WHERE operator_id = ? AND id_hash <> ?", p![operator_id, keep])?;
    Ok(())
}

/// The signed-in user's user name and display name.
pub fn names(tx: &mut dyn Tx, operator_id: &str) -> Result<(String, String)> {
    let r = tx.query_one("SELECT COALESCE(username, id), name FROM operator WHERE id = ?", p![operator_id])?;
    Ok((r.text(0)?, r.text(1)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(hash_password("same").unwrap(), hash_password("same").unwrap(), "salted");
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_passwords_are_long() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert_eq!(csrf_token(&a), csrf_token(&a));
        assert_eq!(new_password().len(), 16);
        assert!(check_password_rules("short").is_err());
        assert!(check_password_rules("long enough pw").is_ok());
    }
}
