//! Test support shared by the workspace's tests (a dev-dependency only): a PostgreSQL schema
//! of its own for each test, and the tiny structurally valid JPEG the photo paths are fed.

/// The PostgreSQL server tests run against, from `GRIDPATROL_TEST_PG_URL`
/// (`scripts/pg-test-db.sh` prints one). `None` outside CI when it is not set (the PostgreSQL
/// variants are then skipped, and say so); under CI its absence is a failure.
pub fn pg_base_url() -> Option<String> {
    match std::env::var("GRIDPATROL_TEST_PG_URL") {
        Ok(u) => Some(u),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("GRIDPATROL_TEST_PG_URL is not set: CI must run the PostgreSQL variants (scripts/pg-test-db.sh)")
        }
        Err(_) => {
            eprintln!("skipped: set GRIDPATROL_TEST_PG_URL (scripts/pg-test-db.sh) to run the PostgreSQL variant");
            None
        }
    }
}

/// A PostgreSQL schema made for one test and dropped afterwards (also when the test panics).
/// Blocking: from async code, create it on a plain or blocking thread.
pub struct PgSchema {
    base_url: String,
    pub name: String,
}

impl PgSchema {
    /// A new schema in the server at `base_url`.
    pub fn create(base_url: &str) -> PgSchema {
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        let (u, n) = (base_url.to_string(), name.clone());
        // The postgres client owns a runtime of its own: keep it off any async runtime's thread.
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&u, postgres::NoTls).expect("connect to GRIDPATROL_TEST_PG_URL");
            c.batch_execute(&format!("CREATE SCHEMA {n}")).expect("create the test schema");
        })
        .join()
        .expect("create the test schema");
        PgSchema { base_url: base_url.to_string(), name }
    }

    /// The connection URL with this schema first on the search path.
    pub fn url(&self) -> String {
        let sep = if self.base_url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base_url, self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.base_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
            }
        })
        .join();
    }
}

/// A tiny structurally valid baseline JPEG (SOI, JFIF APP0, DQT, SOF0, SOS with a few scan
/// bytes, EOI) that the photo sanitiser accepts. `variant` changes a scan byte: another photo,
/// another SHA-256.
pub fn tiny_jpeg(variant: u8) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    j.extend_from_slice(&[1u8; 64]);
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00]);
    j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, variant, 0x34, 0xFF, 0xD9]);
    j
}

/// The text hidden in `tiny_jpeg_with_comment`'s comment segment: a test finds it nowhere
/// once the store has sanitised the photo.
pub const JPEG_COMMENT: &str = "private note: SECRETCAM";

/// `tiny_jpeg`'s kind of photo (8x8 grey, with a Huffman table) carrying a comment segment
/// (`JPEG_COMMENT`) that the store must strip: the photo the bindings' suites attach. `cargo
/// xtask test-bindings` writes these as files for the Kotlin, Swift and Python suites.
pub fn tiny_jpeg_with_comment(variant: u8) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    j.extend_from_slice(b"JFIF");
    j.extend_from_slice(&[0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
    j.extend_from_slice(&[0xFF, 0xFE, 0x00, JPEG_COMMENT.len() as u8 + 2]);
    j.extend_from_slice(JPEG_COMMENT.as_bytes());
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    j.extend_from_slice(&[1u8; 64]);
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00]);
    j.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, 0x00, 0x01]);
    j.extend_from_slice(&[0u8; 15]);
    j.push(0x00);
    j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    j.extend_from_slice(&[0x12, 0x34, variant, 0x00, 0xFF, 0xD9]);
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_other_photos() {
        let (a, b) = (tiny_jpeg(1), tiny_jpeg(2));
        assert_ne!(a, b);
        assert_eq!((&a[..2], &a[a.len() - 2..]), (&[0xFF, 0xD8][..], &[0xFF, 0xD9][..]));
    }
}
