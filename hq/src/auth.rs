//! Credentials and scope. Device and operator tokens are 32 random bytes, shown once and kept
//! only as SHA-256; enrolment codes likewise. Who may see what is decided here from the
//! credential, inside the same transaction as the work it guards.

use std::collections::HashSet;

use axum::http::StatusCode;
use gridpatrol_protocol::wire::codes;
use sha2::{Digest, Sha256};

use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::p;

pub const DEVICE_TOKEN_PREFIX: &str = "gpd_";
pub const OPERATOR_TOKEN_PREFIX: &str = "gpo_";
/// A console session id (the browser's cookie). It names an operator like a token does, so
/// the console's pages run through the very handlers and scope checks the API uses.
pub const SESSION_PREFIX: &str = "gps_";

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS CSPRNG; failing to read it is not something to carry on from.
    getrandom::fill(&mut b).expect("operating system random source");
    b
}

pub fn new_token(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(random_bytes::<32>()))
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Crockford base32 without I, L, O, U: easy to read aloud and to type on a phone.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A 12-character enrolment code (60 bits) shown as `XXXX-XXXX-XXXX`.
pub fn new_enrolment_code() -> String {
    let raw = random_bytes::<12>();
    let chars: String = raw.iter().map(|b| CODE_ALPHABET[(*b & 31) as usize] as char).collect();
    format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
}

/// What a person may have typed: case, dashes, spaces, and look-alike letters forgiven.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// A phone, as its token says.
#[derive(Debug, Clone)]
pub struct Device {
    pub device_id: String,
    pub worker_id: String,
    /// The install epoch HQ assigned at enrolment.
    pub epoch: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    StreetAdmin,
    Community,
    GridLeader,
    /// A unit's account (justice office, urban management, a lawyer…): its own tasks only.
    Unit,
}

impl Role {
    /// The operator's place in the role table (`protocol/src/roles.rs`).
    pub fn actor(self) -> gridpatrol_protocol::domain::Actor {
        use gridpatrol_protocol::domain::Actor;
        match self {
            Role::StreetAdmin => Actor::Street,
            Role::Community => Actor::Community,
            Role::GridLeader => Actor::GridLeader,
            Role::Unit => Actor::Unit,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::StreetAdmin => "street_admin",
            Role::Community => "community",
            Role::GridLeader => "grid_leader",
            Role::Unit => "unit",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "street_admin" => Some(Role::StreetAdmin),
            "community" => Some(Role::Community),
            "grid_leader" => Some(Role::GridLeader),
            "unit" => Some(Role::Unit),
            _ => None,
        }
    }
}

/// A street-office user.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: String,
    pub role: Role,
    /// Community ids (role `community`) or grid ids (role `grid_leader`).
    pub scope_ids: Vec<String>,
}

/// Whether HQ honours a device's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Active,
    Revoked,
    /// Revoked and ordered wiped: the token is accepted only to confirm the wipe.
    WipeOrdered,
}

fn revoked() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, codes::DEVICE_REVOKED, "this device's token was revoked; enrol again")
}

/// The answer to every request of a device ordered wiped (except its confirmation).
pub fn wipe_ordered() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::DEVICE_WIPE,
        "the street office ordered this device wiped: erase the store, then confirm with POST /v1/wipe",
    )
}

fn refused(standing: Standing) -> ApiError {
    if standing == Standing::WipeOrdered {
        wipe_ordered()
    } else {
        revoked()
    }
}

fn lookup_device(tx: &mut dyn Tx, token: &str) -> Result<Option<(Device, Standing)>> {
    let row = tx.query_opt(
        "SELECT device_id, worker_id, revoked_ms, epoch, wipe_ordered_ms FROM device WHERE token_hash = ?",
        p![sha256_hex(token)],
    )?;
    row.map(|r| {
        let standing = match (r.opt_i64(2)?.is_some(), r.opt_i64(4)?.is_some()) {
            (_, true) => Standing::WipeOrdered,
            (true, false) => Standing::Revoked,
            (false, false) => Standing::Active,
        };
        Ok((Device { device_id: r.text(0)?, worker_id: r.text(1)?, epoch: r.i64(3)? }, standing))
    })
    .transpose()
}

/// The phone behind a token HQ revoked for a wipe: the one thing that token is still good for
/// is confirming the wipe. An active device is refused (403: no wipe was ordered), as is
/// every other credential.
pub fn device_ordered_wiped(tx: &mut dyn Tx, bearer: Option<&str>) -> Result<Device> {
    let token = bearer.ok_or_else(ApiError::unauthorized)?;
    if token.starts_with(DEVICE_TOKEN_PREFIX) {
        return match lookup_device(tx, token)? {
            Some((d, Standing::WipeOrdered)) => Ok(d),
            Some((_, Standing::Active)) => Err(ApiError::forbidden("no wipe was ordered for this device")),
            Some((_, Standing::Revoked)) => Err(revoked()),
            None => Err(ApiError::unauthorized()),
        };
    }
    if lookup_operator(tx, token)?.is_some() {
        return Err(ApiError::forbidden("this endpoint is for enrolled phones"));
    }
    Err(ApiError::unauthorized())
}

fn lookup_operator(tx: &mut dyn Tx, token: &str) -> Result<Option<Operator>> {
    let row = if token.starts_with(SESSION_PREFIX) {
        tx.query_opt(
            "SELECT o.id, o.role, o.scope_ids FROM console_session s JOIN operator o ON o.id = s.operator_id
             WHERE s.id_hash = ? AND s.expires_ms > ? AND o.revoked_ms IS NULL",
            p![sha256_hex(token), crate::now_ms()],
        )?
    } else {
        tx.query_opt(
            "SELECT id, role, scope_ids FROM operator WHERE token_hash = ? AND revoked_ms IS NULL",
            p![sha256_hex(token)],
        )?
    };
    let Some(r) = row else { return Ok(None) };
    let role = Role::parse(&r.text(1)?).ok_or_else(|| ApiError::internal("operator role"))?;
    Ok(Some(Operator { id: r.text(0)?, role, scope_ids: r.json(2)? }))
}

/// A bearer token HQ issued and still honours (a device's or an operator's); otherwise the
/// 401 it gets (`device_revoked` for a revoked device).
pub fn check_credential(tx: &mut dyn Tx, token: &str) -> Result<()> {
    if token.starts_with(DEVICE_TOKEN_PREFIX) {
        return match lookup_device(tx, token)? {
            Some((_, Standing::Active)) => Ok(()),
            Some((_, standing)) => Err(refused(standing)),
            None => Err(ApiError::unauthorized()),
        };
    }
    lookup_operator(tx, token)?.map(|_| ()).ok_or_else(ApiError::unauthorized)
}

/// The phone behind a bearer token. Operators get 403: their tokens are not for phone endpoints.
pub fn device(tx: &mut dyn Tx, bearer: Option<&str>) -> Result<Device> {
    let token = bearer.ok_or_else(ApiError::unauthorized)?;
    if token.starts_with(DEVICE_TOKEN_PREFIX) {
        if let Some((d, standing)) = lookup_device(tx, token)? {
            if standing != Standing::Active {
                return Err(refused(standing));
            }
            crate::ops::remember_device(token, &d.device_id);
            return Ok(d);
        }
    } else if lookup_operator(tx, token)?.is_some() {
        return Err(ApiError::forbidden("this endpoint is for enrolled phones"));
    }
    Err(ApiError::unauthorized())
}

/// `device`, and in the same statement (one round trip) the device's last-seen time and
/// clock skew recorded. Any refusal falls back to `device` for its exact reason; the update
/// is undone with the transaction whenever the caller fails.
pub fn touch_device(tx: &mut dyn Tx, bearer: Option<&str>, now_ms: i64, skew_ms: i64) -> Result<Device> {
    if let Some(token) = bearer.filter(|t| t.starts_with(DEVICE_TOKEN_PREFIX)) {
        let row = tx.query_opt(
            "UPDATE device SET last_seen_ms = ?, clock_skew_ms = ?, skew_at_ms = ?
             WHERE token_hash = ? AND revoked_ms IS NULL
             RETURNING device_id, worker_id, epoch",
            p![now_ms, skew_ms, now_ms, sha256_hex(token)],
        )?;
        if let Some(r) = row {
            let d = Device { device_id: r.text(0)?, worker_id: r.text(1)?, epoch: r.i64(2)? };
            crate::ops::remember_device(token, &d.device_id);
            return Ok(d);
        }
    }
    device(tx, bearer)?;
    Err(ApiError::unauthorized())
}

/// The operator behind a bearer token. Phones get 403.
pub fn operator(tx: &mut dyn Tx, bearer: Option<&str>) -> Result<Operator> {
    let token = bearer.ok_or_else(ApiError::unauthorized)?;
    if token.starts_with(DEVICE_TOKEN_PREFIX) {
        if let Some((_, standing)) = lookup_device(tx, token)? {
            return Err(if standing == Standing::Active {
                ApiError::forbidden("this endpoint is for the street office")
            } else {
                refused(standing)
            });
        }
    } else if let Some(o) = lookup_operator(tx, token)? {
        return Ok(o);
    }
    Err(ApiError::unauthorized())
}

fn out_of_scope() -> ApiError {
    ApiError::forbidden("outside your area")
}

/// Grids an operator may see: `None` means every grid of the street.
pub struct Scope {
    pub grids: Option<HashSet<String>>,
    pub communities: Option<HashSet<String>>,
}

impl Scope {
    pub fn grid(&self, grid_id: &str) -> bool {
        self.grids.as_ref().is_none_or(|g| g.contains(grid_id))
    }
    pub fn community(&self, community_id: &str) -> bool {
        self.communities.as_ref().is_none_or(|c| c.contains(community_id))
    }
    pub fn any_grid<'a>(&self, mut grids: impl Iterator<Item = &'a String>) -> bool {
        self.grids.is_none() || grids.any(|g| self.grid(g))
    }
}

impl Operator {
    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::StreetAdmin {
            Ok(())
        } else {
            Err(ApiError::forbidden("only the street admin may do this"))
        }
    }

    /// Street admin or a community operator (grid leaders manage no organisation).
    pub fn require_manager(&self) -> Result<()> {
        match self.role {
            Role::GridLeader | Role::Unit => {
                Err(ApiError::forbidden("only the street and community offices may change the organisation"))
            }
            _ => Ok(()),
        }
    }

    /// The unit a unit account works for (its one scope id).
    pub fn unit(&self) -> Option<&str> {
        (self.role == Role::Unit).then(|| self.scope_ids.first().map(String::as_str)).flatten()
    }

    /// The grids and communities an office account covers. A unit's account covers none: it
    /// sees only the tasks routed to its unit (`admin::tasks`), so every area-scoped read or
    /// write refuses it here.
    pub fn scope(&self, tx: &mut dyn Tx) -> Result<Scope> {
        match self.role {
            Role::Unit => Err(ApiError::forbidden("a unit's account sees only the tasks routed to its unit")),
            Role::StreetAdmin => Ok(Scope { grids: None, communities: None }),
            Role::Community => {
                let mut grids = HashSet::new();
                for c in &self.scope_ids {
                    for r in tx.query("SELECT id FROM grid WHERE community_id = ?", p![c])? {
                        grids.insert(r.text(0)?);
                    }
                }
                Ok(Scope { grids: Some(grids), communities: Some(self.scope_ids.iter().cloned().collect()) })
            }
            Role::GridLeader => {
                let mut communities = HashSet::new();
                for g in &self.scope_ids {
                    if let Some(r) = tx.query_opt("SELECT community_id FROM grid WHERE id = ?", p![g])? {
                        communities.insert(r.text(0)?);
                    }
                }
                // A grid leader sees figures of the communities of their grids only as far
                // as their grids go; `communities` here lists where they may look at all.
                Ok(Scope { grids: Some(self.scope_ids.iter().cloned().collect()), communities: Some(communities) })
            }
        }
    }

    pub fn require_grid(&self, tx: &mut dyn Tx, grid_id: &str) -> Result<()> {
        if self.scope(tx)?.grid(grid_id) {
            Ok(())
        } else {
            Err(out_of_scope())
        }
    }

    /// Community-level rights (create grids, record incidents): admin, or that community's operator.
    pub fn require_community(&self, community_id: &str) -> Result<()> {
        match self.role {
            Role::StreetAdmin => Ok(()),
            Role::Community if self.scope_ids.iter().any(|c| c == community_id) => Ok(()),
            _ => Err(out_of_scope()),
        }
    }

    /// A worker is in scope when any of their grids is (the admin sees every worker).
    pub fn require_worker(&self, tx: &mut dyn Tx, worker_id: &str) -> Result<()> {
        let grids = worker_grids(tx, worker_id)?;
        if self.scope(tx)?.any_grid(grids.iter()) {
            Ok(())
        } else {
            Err(out_of_scope())
        }
    }
}

pub fn worker_grids(tx: &mut dyn Tx, worker_id: &str) -> Result<Vec<String>> {
    tx.query("SELECT grid_id FROM worker_grid WHERE worker_id = ? ORDER BY grid_id", p![worker_id])?
        .iter()
        .map(|r| r.text(0))
        .collect::<crate::db::DbResult<_>>()
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_forgiving() {
        let c = new_enrolment_code();
        assert_eq!(c.len(), 14);
        assert_eq!(normalize_code(&c.to_lowercase()), c.replace('-', ""));
        assert_eq!(normalize_code("abcd-efgh-ijkl"), "ABCDEFGH1JK1");
        assert_ne!(new_enrolment_code(), new_enrolment_code());
    }

    #[test]
    fn tokens_are_long_and_prefixed() {
        let t = new_token(DEVICE_TOKEN_PREFIX);
        assert!(t.starts_with("gpd_") && t.len() == 4 + 64);
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
