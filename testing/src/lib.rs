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

/// A tiny real baseline JPEG (8x8 grey, JFIF; decodable) that the store keeps as it is: small
/// and lean photos are not re-encoded. `variant` is its grey level: another photo, another
/// SHA-256.
pub fn tiny_jpeg(variant: u8) -> Vec<u8> {
    jpeg(8, 8, |_, _| [variant; 3], 90)
}

/// The text hidden in `tiny_jpeg_with_comment`'s comment segment: a test finds it nowhere
/// once the store has sanitised the photo.
pub const JPEG_COMMENT: &str = "private note: SECRETCAM";

/// `tiny_jpeg`'s kind of photo carrying a comment segment (`JPEG_COMMENT`) that the store must
/// strip: the photo the bindings' suites attach. `cargo xtask test-bindings` writes these as
/// files for the Kotlin, Swift and Python suites.
pub fn tiny_jpeg_with_comment(variant: u8) -> Vec<u8> {
    let j = tiny_jpeg(variant);
    // After SOI and the JFIF APP0 (2 + 18 bytes), as cameras place their segments.
    let mut out = j[..20].to_vec();
    out.extend_from_slice(&[0xFF, 0xFE, 0x00, JPEG_COMMENT.len() as u8 + 2]);
    out.extend_from_slice(JPEG_COMMENT.as_bytes());
    out.extend_from_slice(&j[20..]);
    out
}

/// A real baseline JPEG of `width` x `height` whose pixel (x, y) is `pixel(x, y)` (RGB).
pub fn jpeg(width: u16, height: u16, pixel: impl Fn(u32, u32) -> [u8; 3], quality: u8) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(usize::from(width) * usize::from(height) * 3);
    for y in 0..u32::from(height) {
        for x in 0..u32::from(width) {
            rgb.extend_from_slice(&pixel(x, y));
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encode a test JPEG");
    out
}

/// A photo-like JPEG: a colour gradient with per-pixel noise (which, like a camera's sensor
/// noise and texture, keeps the file from compressing to nothing). `seed` varies the noise.
pub fn noisy_jpeg(width: u16, height: u16, seed: u64, quality: u8) -> Vec<u8> {
    let (w, h) = (u32::from(width).max(1), u32::from(height).max(1));
    jpeg(
        width,
        height,
        |x, y| {
            let mut z = (u64::from(y) << 32 | u64::from(x)) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let noise = |i: u32| ((z >> (i * 8)) & 0x3F) as i32 - 32;
            let base = [x * 255 / w, y * 255 / h, (x + y) * 255 / (w + h)];
            [0, 1, 2].map(|i| (base[i as usize] as i32 + noise(i)).clamp(0, 255) as u8)
        },
        quality,
    )
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
