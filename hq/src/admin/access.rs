//! Who may use HQ: operators (created by the street admin, token shown once), enrolment codes
//! that let a worker's phone enrol in a minute, and the devices enrolled (revocable).

use axum::extract::State;
use axum::Json;
use gridpatrol_protocol::{rules, validate};
use serde::{Deserialize, Serialize};

use super::{audit, local_time, Created};
use crate::auth::{self, Role, OPERATOR_TOKEN_PREFIX};
use crate::error::{ApiError, Result};
use crate::http::{ApiPath, AppState, Bearer, JsonBody, RawBody};
use crate::{new_id, now_ms, p};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: String,
    pub role: String,
    pub scope_ids: Vec<String>,
}

pub async fn me(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Me>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            Ok(Me { id: op.id, role: op.role.code().into(), scope_ids: op.scope_ids })
        })
        .await?,
    ))
}

// ---------- operators ----------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorInput {
    pub name: String,
    /// street_admin | community | grid_leader
    pub role: String,
    /// Community ids (community) or grid ids (grid_leader); empty for street_admin.
    #[serde(default)]
    pub scope_ids: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperatorOut {
    pub id: String,
    pub name: String,
    pub role: String,
    pub scope_ids: Vec<String>,
    pub created_at: String,
    pub revoked: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperatorCreated {
    pub id: String,
    pub name: String,
    pub role: String,
    pub scope_ids: Vec<String>,
    /// Shown once; HQ keeps only its hash.
    pub token: String,
}

pub async fn list_operators(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<OperatorOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            auth::operator(tx, bearer.as_deref())?.require_admin()?;
            tx.query(
                "SELECT id, name, role, scope_ids, created_ms, revoked_ms FROM operator ORDER BY created_ms, id",
                p![],
            )?
            .iter()
            .map(|r| {
                Ok(OperatorOut {
                    id: r.text(0)?,
                    name: r.text(1)?,
                    role: r.text(2)?,
                    scope_ids: r.json(3)?,
                    created_at: local_time(r.i64(4)?),
                    revoked: r.opt_i64(5)?.is_some(),
                })
            })
            .collect()
        })
        .await?,
    ))
}

pub async fn create_operator(
    State(s): State<AppState>,
    bearer: Bearer,
    JsonBody(input): JsonBody<OperatorInput>,
) -> Result<Created<OperatorCreated>> {
    let name = validate::required_text("name", &input.name, rules::MAX_PERSON_NAME_CHARS)?;
    let role = Role::parse(&input.role)
        .ok_or_else(|| ApiError::invalid("role", "expected one of: street_admin, community, grid_leader, unit"))?;
    for (i, id) in input.scope_ids.iter().enumerate() {
        validate::id(&format!("scope_ids[{i}]"), id)?;
    }
    match (role, input.scope_ids.is_empty()) {
        (Role::StreetAdmin, false) => {
            return Err(ApiError::invalid("scope_ids", "the street admin sees the whole street"))
        }
        (Role::Community | Role::GridLeader, true) => return Err(ApiError::invalid("scope_ids", "name the area")),
        (Role::Unit, _) if input.scope_ids.len() != 1 => {
            return Err(ApiError::invalid("scope_ids", "a unit's account names exactly its one unit"))
        }
        _ => {}
    }
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            op.require_admin()?;
            let table = match role {
                Role::Community => Some("community"),
                Role::GridLeader => Some("grid"),
                Role::Unit => Some("unit"),
                Role::StreetAdmin => None,
            };
            if let Some(table) = table {
                for (i, id) in input.scope_ids.iter().enumerate() {
                    if tx.query_opt(&format!("SELECT 1 FROM {table} WHERE id = ?"), p![id])?.is_none() {
                        return Err(ApiError::invalid(format!("scope_ids[{i}]"), format!("no such {table}")));
                    }
                }
            }
            let id = new_id();
            let token = auth::new_token(OPERATOR_TOKEN_PREFIX);
            tx.exec(
                "INSERT INTO operator (id, name, role, scope_ids, token_hash, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                p![
                    &id,
                    &name,
                    role.code(),
                    serde_json::to_string(&input.scope_ids).unwrap_or_default(),
                    auth::sha256_hex(&token),
                    now_ms()
                ],
            )?;
            audit(tx, &op.id, "operator.create", &id)?;
            Ok(OperatorCreated { id, name, role: role.code().into(), scope_ids: input.scope_ids, token })
        })
        .await?,
    ))
}

// ---------- enrolment codes ----------

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// Lifetime in seconds (default: HQ's setting, 15 minutes); 1..86400.
    pub ttl_seconds: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeOut {
    /// Shown once; HQ keeps only its hash.
    pub code: String,
    pub worker_id: String,
    pub expires_at: String,
    pub expires_ms: i64,
}

pub async fn create_enrolment_code(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(worker_id): ApiPath<String>,
    RawBody(body): RawBody,
) -> Result<Created<CodeOut>> {
    // The body is optional: `{}` or nothing at all.
    let input: CodeInput = if body.iter().all(|b| b.is_ascii_whitespace()) {
        CodeInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?
    };
    let ttl_ms = match input.ttl_seconds {
        Some(t) if !(1..=86_400).contains(&t) => return Err(ApiError::invalid("ttl_seconds", "must be 1..86400")),
        Some(t) => t as i64 * 1000,
        None => s.config.enrolment_code_ttl.as_millis() as i64,
    };
    Ok(Created(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            if tx.query_opt("SELECT 1 FROM worker WHERE id = ?", p![&worker_id])?.is_none() {
                return Err(ApiError::not_found("worker"));
            }
            op.require_worker(tx, &worker_id)?;
            let code = auth::new_enrolment_code();
            let now = now_ms();
            let expires_ms = now + ttl_ms;
            tx.exec(
                "INSERT INTO enrolment_code (code_hash, worker_id, created_by, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)",
                p![auth::sha256_hex(&auth::normalize_code(&code)), &worker_id, &op.id, now, expires_ms],
            )?;
            audit(tx, &op.id, "enrolment_code.create", &worker_id)?;
            Ok(CodeOut { code, worker_id, expires_at: local_time(expires_ms), expires_ms })
        })
        .await?,
    ))
}

// ---------- devices ----------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceOut {
    pub device_id: String,
    pub worker_id: String,
    pub epoch: i64,
    pub app_version: String,
    pub enrolled_at: String,
    pub revoked: bool,
    pub last_seen_at: Option<String>,
    /// Device clock minus HQ clock at the last push.
    pub clock_skew_ms: Option<i64>,
    /// The phone's last contact (a push or a pull), HQ's clock.
    pub last_contact_at: Option<String>,
    /// What the phone said was unsent at that contact (counts only); absent until a phone
    /// that reports it has pulled.
    pub unsent_at_last_contact: Option<gridpatrol_protocol::wire::UnsentCounts>,
    pub revoked_at: Option<String>,
    pub wipe_ordered_at: Option<String>,
    /// When the phone confirmed it erased its store and photos.
    pub wipe_confirmed_at: Option<String>,
    /// HQ authorised discarding this device's unsent work at the next switch of worker…
    pub discard_authorised_at: Option<String>,
    /// …and the phone reported that it did.
    pub discard_used_at: Option<String>,
}

pub async fn list_devices(State(s): State<AppState>, bearer: Bearer) -> Result<Json<Vec<DeviceOut>>> {
    Ok(Json(
        s.db.read(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let scope = op.scope(tx)?;
            let rows = tx.query(
                "SELECT device_id, worker_id, epoch, app_version, enrolled_ms, revoked_ms, last_seen_ms, clock_skew_ms,
                        contact_ms, unsent_records, unsent_photos, unsent_photo_bytes, wipe_ordered_ms,
                        wipe_confirmed_ms, discard_authorised_ms, discard_used_ms
                 FROM device ORDER BY enrolled_ms, device_id",
                p![],
            )?;
            let mut out = Vec::new();
            for r in rows {
                let worker_id = r.text(1)?;
                if !scope.any_grid(auth::worker_grids(tx, &worker_id)?.iter()) {
                    continue;
                }
                out.push(DeviceOut {
                    device_id: r.text(0)?,
                    worker_id,
                    epoch: r.i64(2)?,
                    app_version: r.text(3)?,
                    enrolled_at: local_time(r.i64(4)?),
                    revoked: r.opt_i64(5)?.is_some(),
                    last_seen_at: r.opt_i64(6)?.map(local_time),
                    clock_skew_ms: r.opt_i64(7)?,
                    // The later of the last push and the last pull.
                    last_contact_at: r.opt_i64(6)?.max(r.opt_i64(8)?).map(local_time),
                    unsent_at_last_contact: match (r.opt_i64(9)?, r.opt_i64(10)?, r.opt_i64(11)?) {
                        (Some(a), Some(b), Some(c)) => Some(gridpatrol_protocol::wire::UnsentCounts {
                            records: a.max(0) as u64,
                            photos: b.max(0) as u64,
                            photo_bytes: c.max(0) as u64,
                        }),
                        _ => None,
                    },
                    revoked_at: r.opt_i64(5)?.map(local_time),
                    wipe_ordered_at: r.opt_i64(12)?.map(local_time),
                    wipe_confirmed_at: r.opt_i64(13)?.map(local_time),
                    discard_authorised_at: r.opt_i64(14)?.map(local_time),
                    discard_used_at: r.opt_i64(15)?.map(local_time),
                });
            }
            Ok(out)
        })
        .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub device_id: String,
    pub revoked: bool,
}

/// A lost phone: its token stops working at once (401 `device_revoked`).
pub async fn revoke_device(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(device_id): ApiPath<String>,
) -> Result<Json<Revoked>> {
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            let worker = tx
                .query_opt("SELECT worker_id FROM device WHERE device_id = ?", p![&device_id])?
                .ok_or_else(|| ApiError::not_found("device"))?
                .text(0)?;
            op.require_worker(tx, &worker)?;
            tx.exec(
                "UPDATE device SET revoked_ms = COALESCE(revoked_ms, ?) WHERE device_id = ?",
                p![now_ms(), &device_id],
            )?;
            audit(tx, &op.id, "device.revoke", &device_id)?;
            Ok(Revoked { device_id, revoked: true })
        })
        .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperatorRevoked {
    pub id: String,
    pub revoked: bool,
}

/// Revoke an operator's account (street admin; not one's own): its token is refused from now
/// on. Audited.
pub async fn revoke_operator(
    State(s): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OperatorRevoked>> {
    validate::id("id", &id)?;
    Ok(Json(
        s.db.write(move |tx| {
            let op = auth::operator(tx, bearer.as_deref())?;
            op.require_admin()?;
            if op.id == id {
                return Err(ApiError::conflict("an admin may not revoke their own account"));
            }
            let n =
                tx.exec("UPDATE operator SET revoked_ms = COALESCE(revoked_ms, ?) WHERE id = ?", p![now_ms(), &id])?;
            if n == 0 {
                return Err(ApiError::not_found("operator"));
            }
            audit(tx, &op.id, "operator.revoke", &id)?;
            Ok(OperatorRevoked { id, revoked: true })
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Who: an operator's id.
    #[serde(default)]
    pub actor: Option<String>,
    /// What was done, e.g. `export`, `case.act`, `device.revoke`.
    #[serde(default)]
    pub action: Option<String>,
    /// To which id (or which table, for lists and exports).
    #[serde(default)]
    pub target: Option<String>,
    /// RFC 3339, or a local day `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// Most entries (1..1000, default 200), newest first.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// Particulars of some entries (the unsent counts a wipe or a discard concerned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The audit trail (street admin): who saw, exported or changed what, filtered by actor,
/// action, target and period, newest first.
pub async fn list_audit(
    State(s): State<AppState>,
    bearer: Bearer,
    crate::http::ApiQuery(q): crate::http::ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>> {
    let (from, to) = super::period(q.from.as_deref(), q.to.as_deref())?;
    let limit = i64::from(q.limit.unwrap_or(200));
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1..1000"));
    }
    for (field, v) in [("actor", &q.actor), ("action", &q.action), ("target", &q.target)] {
        validate::optional_text(field, v.as_deref(), rules::MAX_LABEL_CHARS)?;
    }
    Ok(Json(
        s.db.read(move |tx| {
            auth::operator(tx, bearer.as_deref())?.require_admin()?;
            let rows = tx.query(
                "SELECT at_ms, actor, action, target, detail FROM audit
                 WHERE at_ms >= ? AND at_ms < ? AND (CAST(? AS TEXT) IS NULL OR actor = ?)
                   AND (CAST(? AS TEXT) IS NULL OR action = ?) AND (CAST(? AS TEXT) IS NULL OR target = ?)
                 ORDER BY at_ms DESC, id DESC LIMIT ?",
                p![from, to, &q.actor, &q.actor, &q.action, &q.action, &q.target, &q.target, limit],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(AuditEntry {
                        at: local_time(r.i64(0)?),
                        actor: r.text(1)?,
                        action: r.text(2)?,
                        target: r.text(3)?,
                        detail: r.opt_text(4)?,
                    })
                })
                .collect()
        })
        .await?,
    ))
}
