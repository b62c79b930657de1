//! Photos at HQ: chunks as uploaded, a photo whole once complete.

use crate::db::Tx;
use crate::error::Result;
use crate::p;

/// The whole photo, for the street office (scope is checked by the caller).
pub fn read_complete(tx: &mut dyn Tx, sha: &str) -> Result<Option<Vec<u8>>> {
    let complete = tx.query_opt("SELECT complete FROM attachment WHERE sha256 = ?", p![sha])?;
    if !matches!(complete, Some(ref r) if r.bool(0)?) {
        return Ok(None);
    }
    let mut out = Vec::new();
    for r in tx.query("SELECT data FROM attachment_chunk WHERE sha256 = ? ORDER BY start_byte", p![sha])? {
        out.extend(r.bytes(0)?);
    }
    Ok(Some(out))
}
