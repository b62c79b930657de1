//! The audit trail: who did what to which id.

use crate::db::Tx;
use crate::error::Result;
use crate::{new_id, now_ms, p};

/// Append to the audit trail: who did what to which id (never personal data).
pub fn audit(tx: &mut dyn Tx, actor: &str, action: &str, target: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO audit (id, at_ms, actor, action, target) VALUES (?, ?, ?, ?, ?)",
        p![new_id(), now_ms(), actor, action, target],
    )?;
    Ok(())
}

/// `audit` with particulars (counts, never personal data), e.g. what a wipe erased.
pub fn audit_detail(tx: &mut dyn Tx, actor: &str, action: &str, target: &str, detail: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO audit (id, at_ms, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
        p![new_id(), now_ms(), actor, action, target, detail],
    )?;
    Ok(())
}
