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

/// The image type of a photo from its first bytes (phones send JPEG; PNG, WebP and HEIC are
/// recognised too), so browsers show it inline; anything else stays `application/octet-stream`.
pub fn content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [_, _, _, _, b'f', b't', b'y', b'p', b'h', b'e', b'i', b'c', ..] => "image/heic",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn photo_types_from_magic_bytes() {
        assert_eq!(content_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), "image/jpeg");
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n"), "image/png");
        assert_eq!(content_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(content_type(b"<html>"), "application/octet-stream");
        assert_eq!(content_type(b""), "application/octet-stream");
    }
}
