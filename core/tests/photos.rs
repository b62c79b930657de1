//! Photos as the store keeps them: downscaled and re-encoded at capture, a thumbnail beside
//! each, both inside the store's database and read by hash (`Store::attachment_photo`,
//! `Store::attachment_thumbnail`), the original only when HQ's template asks for it.

mod common;

use common::*;
use gridpatrol_core::*;

/// A photo-like camera JPEG: gradient and noise, at quality 92.
fn camera_jpeg(width: u16, height: u16) -> Vec<u8> {
    let (w, h) = (usize::from(width), usize::from(height));
    let mut rgb = Vec::with_capacity(w * h * 3);
    let mut z = 0x9E37_79B9_7F4A_7C15u64;
    for y in 0..h {
        for x in 0..w {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            rgb.extend_from_slice(&[
                (x * 200 / w) as u8 + (z & 0x1F) as u8,
                (y * 255 / h) as u8,
                (z >> 8) as u8 & 0x3F,
            ]);
        }
    }
    let mut j = Vec::new();
    jpeg_encoder::Encoder::new(&mut j, 92).encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb).unwrap();
    j
}

fn size_of(bytes: &[u8]) -> (u16, u16) {
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.decode().unwrap();
    let i = d.info().unwrap();
    (i.width, i.height)
}

fn report_with(f: &Fixture, name: &str, bytes: &[u8]) -> Report {
    let path = f.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    f.store.file_report(report_input("g-0101", vec![path])).unwrap()
}

#[test]
fn a_report_photo_is_downscaled_with_a_thumbnail_and_found_by_its_hash() {
    let f = fixture();
    let camera = camera_jpeg(2400, 1800);
    let report = report_with(&f, "IMG_0001.jpg", &camera);
    let sha = &report.photos[0];
    let stored = f.store.attachment_photo(sha).unwrap();
    assert_eq!(size_of(&stored), (1600, 1200));
    assert!(stored.len() < camera.len() / 2, "{} of {} bytes", stored.len(), camera.len());
    assert_eq!(&hex(&stored), sha, "the photo is what its hash says");
    assert!(!f.dir.path().join("attachments").exists(), "photos live inside the database, no files beside it");
    let thumb = f.store.attachment_thumbnail(sha).unwrap();
    assert_eq!(size_of(&thumb), (320, 240));
    assert!(f.store.attachment_original(sha).is_err(), "no original unless the template asks");

    // A thumbnail that is missing (a store from before thumbnails) is made again.
    let db = rusqlite::Connection::open(f.dir.path().join(store::DB_FILE)).unwrap();
    assert_eq!(db.execute("DELETE FROM attachment_blob WHERE kind = 'thumb'", []).unwrap(), 1);
    let again = f.store.attachment_thumbnail(sha).unwrap();
    assert_eq!(size_of(&again), (320, 240));
    assert_eq!(f.store.attachment_thumbnail(sha).unwrap(), again, "made once, then kept");
}

#[test]
fn unknown_and_malformed_hashes_are_typed_errors() {
    let f = fixture();
    let unknown = "ab".repeat(32);
    for result in [f.store.attachment_photo(&unknown), f.store.attachment_thumbnail(&unknown)] {
        match result {
            Err(CoreError::NotFound { entity: "attachment", id }) => assert_eq!(id, unknown),
            other => panic!("{other:?}"),
        }
    }
    for bad in ["../gridpatrol.db", "AB".repeat(32).as_str(), ""] {
        match f.store.attachment_photo(bad) {
            Err(CoreError::InvalidInput { field, .. }) => assert_eq!(field, "sha256"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    // A small photo is stored as it was (less its metadata), with its thumbnail.
    let report = report_with(&f, "small.jpg", &tiny_jpeg(9));
    let sha = &report.photos[0];
    assert_eq!(size_of(&f.store.attachment_photo(sha).unwrap()), (8, 8));
    assert_eq!(size_of(&f.store.attachment_thumbnail(sha).unwrap()), (8, 8));
    match f.store.attachment_original(sha) {
        Err(CoreError::NotFound { entity: "original photo", .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_original_is_kept_when_the_template_asks() {
    let f = fixture();
    let mut t = f.store.active_template();
    t.version += 1;
    t.keep_original_photos = true;
    f.store.install_template(&t).unwrap();
    let report = report_with(&f, "big.jpg", &camera_jpeg(2000, 1500));
    let sha = &report.photos[0];
    assert_eq!(size_of(&f.store.attachment_photo(sha).unwrap()), (1600, 1200));
    let original = f.store.attachment_original(sha).unwrap();
    assert_eq!(size_of(&original), (2000, 1500));
}

#[test]
fn the_template_field_defaults_to_false_and_old_json_still_parses() {
    let old: Template = serde_json::from_str(gridpatrol_protocol::template::DEFAULT_TEMPLATE_JSON).unwrap();
    assert!(!old.keep_original_photos);
    assert!(!gridpatrol_protocol::template::DEFAULT_TEMPLATE_JSON.contains("keep_original_photos"));
    let json = serde_json::to_string(&old).unwrap();
    assert!(!json.contains("keep_original_photos"), "left out while false: older apps read it as before");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["keep_original_photos"] = serde_json::Value::Bool(true);
    let keeps: Template = serde_json::from_value(v).unwrap();
    assert!(keeps.keep_original_photos);
}

#[test]
fn photo_settings_are_checked_at_open() {
    let f = fixture();
    let clock = f.clock.clone();
    let dir = f.dir;
    drop(f.store);
    let bad = StoreOptions {
        photos: photo::PhotoOptions { jpeg_quality: 5, ..photo::PhotoOptions::default() },
        ..opts(&clock)
    };
    match Store::open(dir.path(), bad) {
        Err(CoreError::InvalidInput { field, .. }) => assert_eq!(field, "photos.jpeg_quality"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("opened with quality 5"),
    }
    let small = StoreOptions {
        photos: photo::PhotoOptions { max_long_edge: 640, thumbnail_long_edge: 64, jpeg_quality: 70 },
        ..opts(&clock)
    };
    let store = Store::open(dir.path(), small).unwrap();
    let path = dir.path().join("cam.jpg");
    std::fs::write(&path, camera_jpeg(1000, 800)).unwrap();
    let report = store.file_report(report_input("g-0101", vec![path])).unwrap();
    assert_eq!(size_of(&store.attachment_photo(&report.photos[0]).unwrap()), (640, 512));
    assert_eq!(size_of(&store.attachment_thumbnail(&report.photos[0]).unwrap()), (64, 51));
}

/// A refused photo among good ones leaves nothing behind (nor its thumbnail).
#[test]
fn a_refused_photo_leaves_no_file_or_thumbnail() {
    let f = fixture();
    let good = f.dir.path().join("good.jpg");
    std::fs::write(&good, camera_jpeg(1800, 1200)).unwrap();
    let heic = f.dir.path().join("IMG_0002.HEIC");
    std::fs::write(&heic, b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0").unwrap();
    match f.store.file_report(report_input("g-0101", vec![good, heic])) {
        Err(CoreError::PhotoRefused { field, error: photo::PhotoError::UnsupportedFormat { format: "HEIC" } }) => {
            assert_eq!(field, "photos[1]")
        }
        other => panic!("{other:?}"),
    }
    let db = rusqlite::Connection::open(f.dir.path().join(store::DB_FILE)).unwrap();
    let left: i64 = db.query_row("SELECT count(*) FROM attachment_blob", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
    assert!(!f.dir.path().join("attachments").exists());
}

fn hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    ::hex::encode(sha2::Sha256::digest(bytes))
}
