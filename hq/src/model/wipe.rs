//! Lost and handed-back phones, as both kinds of handler see them: what a phone said was unsent
//! at its last contact, the wipe order and its confirmation, the authorisation to discard
//! unsent work at the next switch of worker (docs/SYNC.md, "Wiping a phone").

use gridpatrol_protocol::wire::UnsentCounts;

use crate::db::Tx;
use crate::error::Result;
use crate::p;

/// A contact is written again after this long even when the counts are the same, so "last
/// contact" stays within a minute without a write at every poll.
const CONTACT_REFRESH_MS: i64 = 60_000;

/// At a pull: whether HQ authorised discarding this device's unsent work (and not yet seen it
/// used), and whether this contact is to be recorded (`record_contact`).
pub fn contact_state(
    tx: &mut dyn Tx,
    device_id: &str,
    unsent: Option<&UnsentCounts>,
    now_ms: i64,
) -> Result<(bool, bool)> {
    let r = tx.query_one(
        "SELECT discard_authorised_ms, discard_used_ms, contact_ms, unsent_records, unsent_photos, unsent_photo_bytes
         FROM device WHERE device_id = ?",
        p![device_id],
    )?;
    let authorised = r.opt_i64(0)?.is_some() && r.opt_i64(1)?.is_none();
    let stale = match unsent {
        None => false,
        Some(u) => {
            let same = [r.opt_i64(3)?, r.opt_i64(4)?, r.opt_i64(5)?]
                == [Some(u.records as i64), Some(u.photos as i64), Some(u.photo_bytes as i64)];
            !same || r.opt_i64(2)?.is_none_or(|at| now_ms - at >= CONTACT_REFRESH_MS)
        }
    };
    Ok((authorised, stale))
}

/// Record a contact and the unsent counts the phone reported with it.
pub fn record_contact(tx: &mut dyn Tx, device_id: &str, u: &UnsentCounts, now_ms: i64) -> Result<()> {
    tx.exec(
        "UPDATE device SET contact_ms = ?, unsent_records = ?, unsent_photos = ?, unsent_photo_bytes = ?
         WHERE device_id = ? AND revoked_ms IS NULL",
        p![now_ms, u.records as i64, u.photos as i64, u.photo_bytes as i64, device_id],
    )?;
    Ok(())
}

/// Counts as the audit trail's detail: `records=3 photos=1 photo_bytes=2048`.
pub fn detail(u: &UnsentCounts) -> String {
    format!("records={} photos={} photo_bytes={}", u.records, u.photos, u.photo_bytes)
}

/// The unsent counts HQ holds for a device (from its last contact), if it ever reported any.
pub fn last_unsent(tx: &mut dyn Tx, device_id: &str) -> Result<Option<UnsentCounts>> {
    let r = tx.query_one(
        "SELECT unsent_records, unsent_photos, unsent_photo_bytes FROM device WHERE device_id = ?",
        p![device_id],
    )?;
    Ok(match (r.opt_i64(0)?, r.opt_i64(1)?, r.opt_i64(2)?) {
        (Some(records), Some(photos), Some(bytes)) => Some(UnsentCounts {
            records: records.max(0) as u64,
            photos: photos.max(0) as u64,
            photo_bytes: bytes.max(0) as u64,
        }),
        _ => None,
    })
}
