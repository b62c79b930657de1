//! The store's encryption key and the SQLCipher plumbing around it.
//!
//! The phone's store is one SQLCipher database: every page (records, the outbox, residents'
//! names and phone numbers, the device token, the photos) is encrypted with a 256-bit key the
//! app keeps outside the store folder (Android: wrapped by the Android Keystore; iOS: a Keychain
//! item `…ThisDeviceOnly`). The key is raw (`PRAGMA key = "x'…'"`), so opening costs no key
//! derivation: the platform already guards the secret.
//!
//! A store made before encryption is clear text; opened with a key, it is encrypted in place
//! (`encrypt_in_place`): exported into a new encrypted file beside it, which then replaces it
//! by an atomic rename. A crash at any moment leaves either the clear store or the encrypted
//! one, never a mix, and the next open finishes the job.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::{CoreError, Result};

/// The length of a store key in bytes (AES-256).
pub const KEY_BYTES: usize = 32;

/// SQLCipher's settings beside the key, the same for every connection and for the encrypted
/// copy an in-place encryption writes. Pages are authenticated with HMAC-SHA256 rather than
/// SQLCipher's default HMAC-SHA512: SHA-256 has instructions on the phones' ARMv8 cores (and on
/// x86 with SHA-NI) where SHA-512 mostly has none, and every page written or read pays for one
/// HMAC. The cipher stays AES-256.
pub const CIPHER_SETTINGS: &str = "cipher_hmac_algorithm = HMAC_SHA256";

/// What a clear-text SQLite file starts with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A store key: 32 random bytes. Wiped from memory when dropped; never printed.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; KEY_BYTES]>);

impl StoreKey {
    /// A key from the 32 bytes a `KeyProvider` returned. `InvalidInput` (field `key`) for any
    /// other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<StoreKey> {
        let arr: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| CoreError::invalid("key", format!("must be {KEY_BYTES} bytes, got {}", bytes.len())))?;
        Ok(StoreKey(Zeroizing::new(arr)))
    }

    /// A key from 64 hex digits (the terminal shell's key file or environment variable).
    pub fn from_hex(text: &str) -> Result<StoreKey> {
        let text = Zeroizing::new(text.trim().to_string());
        let bytes = Zeroizing::new(
            hex::decode(text.as_bytes()).map_err(|_| CoreError::invalid("key", "must be 64 hex digits"))?,
        );
        StoreKey::from_bytes(&bytes)
    }

    /// A fresh random key (the demo's phones, tests; an app's `KeyProvider` makes its own).
    pub fn random() -> StoreKey {
        let mut arr = [0u8; KEY_BYTES];
        // Two v4 UUIDs: 244 random bits from the OS's generator (getrandom), no extra crate.
        arr[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        arr[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        StoreKey(Zeroizing::new(arr))
    }

    /// Whether two keys are the same, in time independent of where they differ.
    pub fn same_as(&self, other: &StoreKey) -> bool {
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// The statements that key a fresh connection to a store's database (`PRAGMA key` and
    /// `CIPHER_SETTINGS`): for tools that open it themselves (benchmarks, tests).
    pub fn keying_sql(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("PRAGMA key = {}; PRAGMA {CIPHER_SETTINGS};", self.pragma_literal().as_str()))
    }

    /// The key as SQLCipher's raw-key literal, `x'…'`.
    fn pragma_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("\"x'{}'\"", hex::encode(self.0.as_ref())))
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

/// How the database file on disk is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Missing,
    Clear,
    /// Not clear-text SQLite: encrypted (or damaged — SQLCipher cannot tell the two apart).
    Encrypted,
}

pub(crate) fn file_kind(path: &Path) -> Result<FileKind> {
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(e.into()),
    };
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match f.read(&mut head[read..])? {
            0 => break,
            n => read += n,
        }
    }
    // An empty file is what SQLite leaves when it crashed creating a database: clear.
    Ok(if read == 0 || &head == SQLITE_HEADER { FileKind::Clear } else { FileKind::Encrypted })
}

/// Give a freshly opened connection its key, and check it opens the file: the first read of
/// an encrypted page fails when the key is wrong. `StoreKeyWrong` then.
pub(crate) fn apply(conn: &Connection, key: Option<&StoreKey>) -> Result<()> {
    if let Some(key) = key {
        // SQLCipher logs a failed page check to stderr, which on a phone lands in the system
        // log at every wrong-key attempt; the typed error below says it instead.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        conn.execute_batch(&key.keying_sql())?;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            Err(if key.is_some() { CoreError::StoreKeyWrong } else { CoreError::StoreKeyMissing })
        }
        Err(e) => Err(e.into()),
    }
}

/// Before a store is opened: refuse an encrypted store without a key, and encrypt a clear
/// one in place when a key is given. Leftovers of an interrupted encryption are removed.
pub(crate) fn prepare(path: &Path, key: Option<&StoreKey>) -> Result<()> {
    let tmp = encrypting_path(path);
    match (file_kind(path)?, key) {
        (FileKind::Encrypted, None) => Err(CoreError::StoreKeyMissing),
        (FileKind::Clear, Some(key)) => encrypt_in_place(path, key),
        _ => {
            remove_if_exists(&tmp)?;
            Ok(())
        }
    }
}

fn encrypting_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".encrypting");
    PathBuf::from(p)
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Encrypt a clear-text store in place. Steps, each safe to interrupt:
/// 1. fold the WAL into the clear file and leave WAL mode (no `-wal` is left that could be
///    mistaken for the new file's);
/// 2. export every table into `<db>.encrypting` under the key (`sqlcipher_export`), with the
///    schema version, and fsync it;
/// 3. rename it over the clear file and fsync the folder — the one atomic switch.
///
/// Interrupted before 3, the clear store is intact and the half-written copy is thrown away at
/// the next open; after 3, the store is encrypted.
pub(crate) fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    let tmp = encrypting_path(path);
    remove_if_exists(&tmp)?;
    {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))?;
        if mode != "delete" {
            return Err(CoreError::Corrupt(format!("could not leave WAL mode before encrypting (got {mode})")));
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tmp_text =
            tmp.to_str().ok_or_else(|| CoreError::invalid("folder", "must be a UTF-8 path to encrypt the store"))?;
        conn.execute_batch(&format!(
            "ATTACH DATABASE '{}' AS encrypted KEY {}; PRAGMA encrypted.{CIPHER_SETTINGS};",
            tmp_text.replace('\'', "''"),
            key.pragma_literal().as_str()
        ))?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"))?;
    }
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_take_exactly_32_bytes_or_64_hex_digits() {
        assert!(StoreKey::from_bytes(&[7u8; 32]).is_ok());
        for bad in [&[0u8; 31][..], &[0u8; 33][..], &[][..]] {
            match StoreKey::from_bytes(bad).unwrap_err() {
                CoreError::InvalidInput { field, .. } => assert_eq!(field, "key"),
                e => panic!("{e:?}"),
            }
        }
        assert!(StoreKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(StoreKey::from_hex(&format!("{}\n", "ab".repeat(32))).is_ok(), "a trailing newline in a key file");
        assert!(StoreKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(StoreKey::from_hex(&"ab".repeat(31)).is_err());
        assert_ne!(StoreKey::random().0.as_ref(), StoreKey::random().0.as_ref());
        assert_eq!(format!("{:?}", StoreKey::from_bytes(&[7u8; 32]).unwrap()), "StoreKey(…)");
    }
}
