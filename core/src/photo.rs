//! Photo sanitising for hazard reports.
//!
//! Privacy rule: a stored photo keeps its pixels and the capture location
//! (GPS latitude/longitude) and nothing else — no camera make/model, no
//! timestamps, no thumbnails, no maker notes, no comments, no XMP/IPTC.
//!
//! [`sanitize`] rewrites JPEG and PNG files at the container level only; it never
//! decodes pixels. Anything after the image's end (JPEG EOI, PNG IEND) — where
//! phones append secondary images with their own Exif, or Motion Photo videos —
//! is dropped. Untrusted input is parsed defensively: every length is
//! checked against the real input before use, nothing is allocated from a
//! declared length, and every loop advances through the input or is bounded by
//! a 16-bit count, so malformed data yields an error rather than a panic or hang.

/// Image container formats accepted as photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoKind {
    Jpeg,
    Png,
}

impl PhotoError {
    /// A stable machine-readable code ("not_a_photo", "truncated", "malformed",
    /// "unsupported_format", "too_many_pixels").
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::NotAPhoto => "not_a_photo",
            PhotoError::Truncated => "truncated",
            PhotoError::Malformed { .. } => "malformed",
            PhotoError::UnsupportedFormat { .. } => "unsupported_format",
            PhotoError::TooManyPixels { .. } => "too_many_pixels",
        }
    }
}

impl PhotoKind {
    /// The MIME type to store/serve the photo with.
    pub fn mime(&self) -> &'static str {
        match self {
            PhotoKind::Jpeg => "image/jpeg",
            PhotoKind::Png => "image/png",
        }
    }

    /// Conventional file extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            PhotoKind::Jpeg => "jpg",
            PhotoKind::Png => "png",
        }
    }
}

/// A capture location in decimal degrees (WGS 84). South and west are negative.
///
/// Values produced by [`sanitize`] are quantised to 1e-7 degree (about 1 cm) —
/// far below GPS accuracy — and are exactly what is embedded in the output file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsFix {
    pub lat: f64,
    pub lng: f64,
}

/// A photo with all metadata removed except (optionally) its GPS fix.
#[derive(Debug, Clone)]
pub struct SanitizedPhoto {
    pub kind: PhotoKind,
    /// The rewritten file, ready to store.
    pub bytes: Vec<u8>,
    /// Capture location, if the original carried a valid one. For JPEG it is also
    /// embedded in `bytes` as a minimal Exif GPS block.
    pub gps: Option<GpsFix>,
}

/// Why a file could not be sanitised. Messages are fixed English text and never
/// quote the file's content (which is private by definition).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoError {
    #[error("not a photo: the file is neither a JPEG nor a PNG image")]
    NotAPhoto,
    #[error("the photo is truncated: the file ends in the middle of its structure")]
    Truncated,
    #[error("the photo is malformed: {reason}")]
    Malformed { reason: String },
    /// HEIC/HEIF (or AVIF): no decoder for it is built in; the iOS shell hands over JPEG
    /// (bindings/README.md).
    #[error("{format} photos are not accepted: hand over a JPEG (or PNG) instead")]
    UnsupportedFormat { format: &'static str },
    /// More pixels than [`MAX_PIXELS`]: refused before any pixel is decoded.
    #[error("the photo is {width}x{height} pixels; at most {max_megapixels} megapixels are accepted")]
    TooManyPixels { width: u32, height: u32, max_megapixels: u32 },
}

/// Builds a `Malformed` error. Taking `&'static str` guarantees the reason is
/// fixed text and can never carry bytes from the file.
fn malformed(reason: &'static str) -> PhotoError {
    PhotoError::Malformed { reason: reason.to_string() }
}

/// Builds a `Malformed` error for pixel data a decoder refused (its message may quote nothing
/// from the file either: only this fixed text is kept).
fn undecodable() -> PhotoError {
    malformed("the image data cannot be decoded")
}

/// SOI marker plus the first byte of the next marker; every JPEG starts so.
const JPEG_SIGNATURE: [u8; 3] = [0xFF, 0xD8, 0xFF];
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Strips all metadata except the GPS capture location from a JPEG or PNG.
///
/// The result is idempotent: sanitising `sanitize(x)?.bytes` again returns the
/// same bytes and the same `gps`.
pub fn sanitize(input: &[u8]) -> Result<SanitizedPhoto, PhotoError> {
    if input.starts_with(&JPEG_SIGNATURE) {
        return sanitize_jpeg(input);
    }
    if input.starts_with(&PNG_SIGNATURE) {
        return sanitize_png(input);
    }
    // A non-empty proper prefix of a signature is a photo cut short, not some
    // other kind of file; report it as such so upload retries make sense.
    if !input.is_empty() && (JPEG_SIGNATURE.starts_with(input) || PNG_SIGNATURE.starts_with(input)) {
        return Err(PhotoError::Truncated);
    }
    Err(PhotoError::NotAPhoto)
}

// ---------------------------------------------------------------------------
// JPEG
// ---------------------------------------------------------------------------

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;

/// What to do with one JPEG marker segment (other than SOS).
enum SegmentAction {
    Keep,
    Drop,
    /// A JFIF APP0: kept, but rewritten without its embedded thumbnail.
    Jfif,
}

fn segment_action(marker: u8, payload: &[u8]) -> SegmentAction {
    match marker {
        // Only a real JFIF header; JFXX (thumbnail extension) and others go.
        APP0 if is_jfif(payload) => SegmentAction::Jfif,
        APP0 => SegmentAction::Drop,
        // Exif and XMP. The GPS fix is harvested separately before dropping.
        APP1 => SegmentAction::Drop,
        // ICC profiles affect colour; other APP2 users (MPF, FlashPix) are metadata.
        0xE2 if payload.starts_with(b"ICC_PROFILE\0") => SegmentAction::Keep,
        0xE2 => SegmentAction::Drop,
        // APP3..APP13 (incl. Photoshop/IPTC in APP13), APP15 and COM: metadata.
        0xE3..=0xED | 0xEF | 0xFE => SegmentAction::Drop,
        // Adobe APP14 carries the colour transform flag decoders need.
        0xEE if payload.starts_with(b"Adobe") => SegmentAction::Keep,
        0xEE => SegmentAction::Drop,
        // DQT, SOFn, DHT, DRI, ...: needed to decode the image.
        _ => SegmentAction::Keep,
    }
}

/// JFIF APP0 payload: "JFIF\0", version(2), units(1), Xdensity(2), Ydensity(2),
/// Xthumbnail(1), Ythumbnail(1), then thumbnail pixels.
const JFIF_FIXED_LEN: usize = 14;

fn is_jfif(payload: &[u8]) -> bool {
    payload.len() >= JFIF_FIXED_LEN && payload.starts_with(b"JFIF\0")
}

/// Re-emits a JFIF APP0 with a 0x0 thumbnail: a thumbnail can show what the
/// photo looked like before cropping/editing, so it is private too.
fn push_jfif_without_thumbnail(out: &mut Vec<u8>, payload: &[u8]) {
    let len = (2 + JFIF_FIXED_LEN) as u16;
    out.extend_from_slice(&[0xFF, APP0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload[..JFIF_FIXED_LEN - 2]);
    out.extend_from_slice(&[0, 0]);
}

/// One marker of the JPEG marker stream.
struct Marker<'a> {
    code: u8,
    /// For a marker segment: the segment from its length field on. `None` for
    /// the stand-alone markers (TEM, RSTn, EOI), which have no length.
    segment: Option<&'a [u8]>,
    /// Input position just past the marker (and its segment, if any).
    end: usize,
}

/// Reads the marker at `pos`, which must be at a 0xFF (after a segment, or where
/// entropy-coded data ended). Lengths are checked against the input; nothing
/// is searched for inside a segment's payload, which may hold any bytes
/// (Huffman tables routinely contain FF D9).
fn read_marker(input: &[u8], mut pos: usize) -> Result<Marker<'_>, PhotoError> {
    if *input.get(pos).ok_or(PhotoError::Truncated)? != 0xFF {
        return Err(malformed("expected a JPEG marker between segments"));
    }
    // Any number of 0xFF fill bytes may precede the marker code.
    while input.get(pos) == Some(&0xFF) {
        pos += 1;
    }
    let code = *input.get(pos).ok_or(PhotoError::Truncated)?;
    pos += 1;

    match code {
        0x00 => return Err(malformed("invalid JPEG marker code")),
        0xD8 => return Err(malformed("unexpected second start-of-image marker")),
        // Stand-alone markers (TEM, RSTn, EOI) have no length and carry no data.
        0x01 | 0xD0..=0xD7 | EOI => return Ok(Marker { code, segment: None, end: pos }),
        _ => {}
    }

    // Segment: 2-byte big-endian length that counts itself, then payload.
    let len_bytes = input.get(pos..pos + 2).ok_or(PhotoError::Truncated)?;
    let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    if len < 2 {
        return Err(malformed("JPEG segment length is too small"));
    }
    let end = pos.checked_add(len).ok_or(PhotoError::Truncated)?;
    let segment = input.get(pos..end).ok_or(PhotoError::Truncated)?;
    Ok(Marker { code, segment: Some(segment), end })
}

/// Finds the end of the entropy-coded data that starts at `pos` (just after an
/// SOS segment). Inside a scan, 0xFF is always followed by (optional 0xFF fill
/// bytes and) either 0x00 — a stuffed data byte — or a restart marker RST0..RST7,
/// both of which belong to the scan. Any other marker ends it; the returned
/// index is then the first 0xFF of that marker (fill bytes included). If the
/// input ends inside the scan, returns `input.len()`.
fn entropy_coded_end(input: &[u8], mut pos: usize) -> usize {
    // Each round moves `pos` past the bytes it inspected, so this is linear.
    while let Some(offset) = input.get(pos..).and_then(|rest| rest.iter().position(|&b| b == 0xFF)) {
        let ff = pos + offset;
        let mut next = ff + 1;
        while input.get(next) == Some(&0xFF) {
            next += 1;
        }
        match input.get(next) {
            None => break,
            Some(0x00 | 0xD0..=0xD7) => pos = next + 1,
            Some(_) => return ff,
        }
    }
    input.len()
}

/// Rewrites a JPEG's marker stream, copying entropy-coded (pixel) data verbatim.
///
/// The whole stream is walked, not just the header: a progressive JPEG has
/// several scans with tables (DHT, DQT, DRI, ...) between them, and metadata
/// segments between scans are dropped by the same rules as in the header. The
/// output ends at the first EOI; whatever follows it — MPF secondary images
/// with their own full Exif, Motion Photo videos, arbitrary trailers — is
/// dropped.
///
/// Truncation: a file cut before its first SOS segment is complete is
/// `Truncated`. Once the first scan has begun the image is (partly) decodable,
/// so a file may end anywhere without an EOI and is still accepted, as viewers
/// do: a scan cut short is kept up to the end of the input, while a marker
/// segment cut short after a scan is dropped (it is useless when incomplete, and it
/// might be metadata). No EOI is added, which keeps sanitising idempotent.
/// Only the first Exif block *before the first scan* is searched for GPS, as
/// the Exif spec places it right after SOI and viewers read it there.
fn sanitize_jpeg(input: &[u8]) -> Result<SanitizedPhoto, PhotoError> {
    // The output is SOI, `head` (a leading JFIF APP0, which by spec must directly
    // follow SOI), the fresh GPS APP1 if any, then `body`. The GPS fix may only be
    // found late in the header, hence the two buffers.
    let mut head = Vec::new();
    let mut body = Vec::with_capacity(input.len());
    let mut gps = None;
    let mut saw_exif = false;
    let mut saw_scan = false;
    let mut pos = 2; // just past SOI

    loop {
        let marker = match read_marker(input, pos) {
            Ok(marker) => marker,
            // Cut short after the first scan began: keep what is complete.
            Err(PhotoError::Truncated) if saw_scan => break,
            Err(e) => return Err(e),
        };
        let code = marker.code;
        pos = marker.end;

        let Some(segment) = marker.segment else {
            match code {
                // End of image: everything after it is dropped.
                EOI if saw_scan => {
                    body.extend_from_slice(&[0xFF, EOI]);
                    break;
                }
                EOI => return Err(malformed("JPEG ends before any image data")),
                _ => {
                    body.extend_from_slice(&[0xFF, code]);
                    continue;
                }
            }
        };
        let payload = &segment[2..];

        if code == SOS {
            // Start of scan: the header, then the entropy-coded data verbatim
            // (we never touch pixels) up to the marker that ends the scan.
            body.extend_from_slice(&[0xFF, SOS]);
            body.extend_from_slice(segment);
            let data_end = entropy_coded_end(input, pos);
            body.extend_from_slice(&input[pos..data_end]);
            pos = data_end;
            saw_scan = true;
            continue;
        }

        // Only the first Exif block counts, as for image viewers.
        if code == APP1 && !saw_scan && !saw_exif && payload.starts_with(b"Exif\0") {
            saw_exif = true;
            // Broken Exif is ignored, not fatal: it is being discarded anyway.
            gps = payload.get(6..).and_then(read_exif_gps);
        }

        match segment_action(code, payload) {
            SegmentAction::Drop => {}
            SegmentAction::Keep => {
                body.extend_from_slice(&[0xFF, code]);
                body.extend_from_slice(segment);
            }
            SegmentAction::Jfif => {
                // First kept segment? Then it stays right after SOI.
                let dest = if head.is_empty() && body.is_empty() { &mut head } else { &mut body };
                push_jfif_without_thumbnail(dest, payload);
            }
        }
    }

    let mut bytes = Vec::with_capacity(2 + head.len() + 160 + body.len());
    bytes.extend_from_slice(&[0xFF, 0xD8]);
    bytes.extend_from_slice(&head);
    if let Some(fix) = &gps {
        bytes.extend_from_slice(&gps_app1_segment(fix));
    }
    bytes.extend_from_slice(&body);

    Ok(SanitizedPhoto { kind: PhotoKind::Jpeg, bytes, gps: gps.map(|f| f.to_gps_fix()) })
}

// ---------------------------------------------------------------------------
// Exif (TIFF) GPS reading and writing
// ---------------------------------------------------------------------------

const TAG_GPS_IFD: u16 = 0x8825;
const TAG_GPS_VERSION: u16 = 0x0000;
const TAG_GPS_LAT_REF: u16 = 0x0001;
const TAG_GPS_LAT: u16 = 0x0002;
const TAG_GPS_LNG_REF: u16 = 0x0003;
const TAG_GPS_LNG: u16 = 0x0004;

const TYPE_BYTE: u16 = 1;
const TYPE_ASCII: u16 = 2;
const TYPE_LONG: u16 = 4;
const TYPE_RATIONAL: u16 = 5;
const TYPE_IFD: u16 = 13;

/// Fixed denominator for written coordinates: 1e-7 degree ≈ 1 cm.
const COORD_DENOMINATOR: u32 = 10_000_000;

/// One coordinate in canonical form: magnitude in units of 1e-7 degree plus a
/// hemisphere flag. Writing this rather than the camera's own rationals makes
/// the output canonical (so sanitising is idempotent bit for bit) and leaves no
/// room for hidden data in unusual numerator/denominator choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Coord {
    negative: bool,
    e7: u32,
}

impl Coord {
    /// Rejects non-finite or out-of-range magnitudes (`max` is 90 or 180).
    fn from_degrees(magnitude: f64, negative: bool, max: f64) -> Option<Coord> {
        if !magnitude.is_finite() || !(0.0..=max).contains(&magnitude) {
            return None;
        }
        // max * 1e7 <= 1.8e9 fits in u32.
        let e7 = (magnitude * f64::from(COORD_DENOMINATOR)).round() as u32;
        // No "-0": zero has no hemisphere, and this keeps output canonical.
        Some(Coord { negative: negative && e7 != 0, e7 })
    }

    fn degrees(self) -> f64 {
        // Same arithmetic as reading our own output back, so values round-trip exactly.
        let magnitude = f64::from(self.e7) / f64::from(COORD_DENOMINATOR);
        if self.negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fix {
    lat: Coord,
    lng: Coord,
}

impl Fix {
    fn to_gps_fix(self) -> GpsFix {
        GpsFix { lat: self.lat.degrees(), lng: self.lng.degrees() }
    }
}

/// A bounds-checked view of a TIFF structure (the body of an Exif APP1).
struct Tiff<'a> {
    data: &'a [u8],
    big_endian: bool,
}

/// An IFD entry: field type, value count, and where its 4-byte value field is.
struct IfdEntry {
    typ: u16,
    count: u32,
    value_field: usize,
}

impl<'a> Tiff<'a> {
    fn new(data: &'a [u8]) -> Option<Self> {
        let big_endian = match data.get(..4)? {
            b"II\x2A\x00" => false,
            b"MM\x00\x2A" => true,
            _ => return None,
        };
        Some(Tiff { data, big_endian })
    }

    fn bytes(&self, offset: usize, len: usize) -> Option<&'a [u8]> {
        self.data.get(offset..offset.checked_add(len)?)
    }

    fn u16_at(&self, offset: usize) -> Option<u16> {
        let b = self.bytes(offset, 2)?;
        let b = [b[0], b[1]];
        Some(if self.big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }

    fn u32_at(&self, offset: usize) -> Option<u32> {
        let b = self.bytes(offset, 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    }

    /// Looks `tag` up in the IFD at `ifd`. Only the given IFD is scanned (never
    /// the next-IFD chain), so a cyclic file cannot make this loop.
    fn find(&self, ifd: usize, tag: u16) -> Option<IfdEntry> {
        let count = self.u16_at(ifd)?;
        for i in 0..usize::from(count) {
            let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
            if self.u16_at(entry)? == tag {
                return Some(IfdEntry {
                    typ: self.u16_at(entry + 2)?,
                    count: self.u32_at(entry + 4)?,
                    value_field: entry + 8,
                });
            }
        }
        None
    }

    /// The entry's value bytes: inline if they fit in 4 bytes, else at the offset
    /// stored in the value field. Always bounds-checked against the data.
    fn value(&self, entry: &IfdEntry) -> Option<&'a [u8]> {
        let unit = match entry.typ {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 => 8,
            _ => return None,
        };
        let size = usize::try_from(entry.count).ok()?.checked_mul(unit)?;
        if size <= 4 {
            self.bytes(entry.value_field, size)
        } else {
            let offset = usize::try_from(self.u32_at(entry.value_field)?).ok()?;
            self.bytes(offset, size)
        }
    }
}

/// Extracts the GPS fix from a TIFF/Exif block; `None` if absent or invalid.
fn read_exif_gps(tiff: &[u8]) -> Option<Fix> {
    let t = Tiff::new(tiff)?;
    let ifd0 = usize::try_from(t.u32_at(4)?).ok()?;
    let pointer = t.find(ifd0, TAG_GPS_IFD)?;
    if !matches!(pointer.typ, TYPE_LONG | TYPE_IFD) || pointer.count != 1 {
        return None;
    }
    let gps_ifd = usize::try_from(t.u32_at(pointer.value_field)?).ok()?;
    Some(Fix {
        lat: read_coord(&t, gps_ifd, TAG_GPS_LAT_REF, TAG_GPS_LAT, (b'N', b'S'), 90.0)?,
        lng: read_coord(&t, gps_ifd, TAG_GPS_LNG_REF, TAG_GPS_LNG, (b'E', b'W'), 180.0)?,
    })
}

/// Reads one coordinate: a hemisphere letter and up to three rationals
/// (degrees, minutes, seconds).
fn read_coord(
    t: &Tiff<'_>,
    ifd: usize,
    ref_tag: u16,
    value_tag: u16,
    (positive, negative): (u8, u8),
    max: f64,
) -> Option<Coord> {
    // Without the hemisphere the sign is unknown, so the fix is unusable.
    let hemisphere = t.value(&t.find(ifd, ref_tag)?)?.first()?.to_ascii_uppercase();
    let is_negative = match hemisphere {
        h if h == positive => false,
        h if h == negative => true,
        _ => return None,
    };

    let entry = t.find(ifd, value_tag)?;
    if entry.typ != TYPE_RATIONAL || entry.count == 0 {
        return None;
    }
    let raw = t.value(&entry)?;
    let mut magnitude = 0.0;
    for (i, scale) in [1.0, 60.0, 3600.0].into_iter().enumerate().take(entry.count as usize) {
        let numerator = t_u32(t, raw, i * 8)?;
        let denominator = t_u32(t, raw, i * 8 + 4)?;
        if denominator == 0 {
            return None;
        }
        magnitude += f64::from(numerator) / f64::from(denominator) / scale;
    }
    Coord::from_degrees(magnitude, is_negative, max)
}

/// Reads a u32 from a value slice in the TIFF's byte order.
fn t_u32(t: &Tiff<'_>, raw: &[u8], offset: usize) -> Option<u32> {
    Tiff { data: raw, big_endian: t.big_endian }.u32_at(offset)
}

/// Builds a complete APP1 segment holding only the GPS fix:
/// `Exif\0\0`, big-endian TIFF header, IFD0 = { GPSInfo pointer },
/// GPS IFD = { GPSVersionID 2.2.0.0, lat ref, lat, lng ref, lng }.
fn gps_app1_segment(fix: &Fix) -> Vec<u8> {
    // Fixed layout (offsets relative to the TIFF header):
    //   0: header (8)   8: IFD0 (2 + 12 + 4)   26: GPS IFD (2 + 5*12 + 4)
    //   92: latitude rationals (24)   116: longitude rationals (24)   140: end
    const IFD0: u32 = 8;
    const GPS_IFD: u32 = 26;
    const LAT_DATA: u32 = 92;
    const LNG_DATA: u32 = 116;
    const TIFF_LEN: usize = 140;

    fn entry(t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: [u8; 4]) {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&typ.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    }
    fn hemisphere(c: Coord, positive: u8, negative: u8) -> [u8; 4] {
        [if c.negative { negative } else { positive }, 0, 0, 0]
    }
    // Decimal degrees as d/1e7, 0/1, 0/1: a valid Exif DMS triple.
    fn rationals(t: &mut Vec<u8>, c: Coord) {
        for (num, den) in [(c.e7, COORD_DENOMINATOR), (0, 1), (0, 1)] {
            t.extend_from_slice(&u32::to_be_bytes(num));
            t.extend_from_slice(&u32::to_be_bytes(den));
        }
    }

    let mut t = Vec::with_capacity(TIFF_LEN);
    t.extend_from_slice(b"MM\x00\x2A");
    t.extend_from_slice(&IFD0.to_be_bytes());

    t.extend_from_slice(&1u16.to_be_bytes());
    entry(&mut t, TAG_GPS_IFD, TYPE_LONG, 1, GPS_IFD.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes()); // no IFD1, hence no thumbnail

    t.extend_from_slice(&5u16.to_be_bytes());
    entry(&mut t, TAG_GPS_VERSION, TYPE_BYTE, 4, [2, 2, 0, 0]);
    entry(&mut t, TAG_GPS_LAT_REF, TYPE_ASCII, 2, hemisphere(fix.lat, b'N', b'S'));
    entry(&mut t, TAG_GPS_LAT, TYPE_RATIONAL, 3, LAT_DATA.to_be_bytes());
    entry(&mut t, TAG_GPS_LNG_REF, TYPE_ASCII, 2, hemisphere(fix.lng, b'E', b'W'));
    entry(&mut t, TAG_GPS_LNG, TYPE_RATIONAL, 3, LNG_DATA.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());

    rationals(&mut t, fix.lat);
    rationals(&mut t, fix.lng);
    debug_assert_eq!(t.len(), TIFF_LEN);

    let mut segment = Vec::with_capacity(4 + 6 + TIFF_LEN);
    segment.extend_from_slice(&[0xFF, APP1]);
    segment.extend_from_slice(&((2 + 6 + TIFF_LEN) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&t);
    segment
}

// ---------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------

/// The only chunks kept: those needed to decode and display the image right
/// (critical chunks; transparency; colour space, HDR and bit-depth information;
/// pixel aspect; background; histogram; APNG animation). It is a whitelist
/// because new metadata chunks keep appearing: text, Exif, timestamps, C2PA
/// provenance (caBX), private and future chunks are all dropped.
const PNG_KEPT_CHUNKS: [&[u8; 4]; 19] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"bKGD",
    b"hIST", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCv", b"cLLi",
];

/// The PNG spec caps chunk lengths at 2^31 - 1.
const PNG_MAX_CHUNK_LEN: u32 = 0x7FFF_FFFF;

fn sanitize_png(input: &[u8]) -> Result<SanitizedPhoto, PhotoError> {
    let mut bytes = Vec::with_capacity(input.len());
    bytes.extend_from_slice(&PNG_SIGNATURE);
    let mut pos = PNG_SIGNATURE.len();
    let mut first = true;

    loop {
        // Chunk: length(4, BE, data only), type(4), data, CRC(4).
        let header = input.get(pos..pos + 8).ok_or(PhotoError::Truncated)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let chunk_type = [header[4], header[5], header[6], header[7]];
        if len > PNG_MAX_CHUNK_LEN {
            return Err(malformed("PNG chunk length exceeds the format limit"));
        }
        if !chunk_type.iter().all(u8::is_ascii_alphabetic) {
            return Err(malformed("invalid PNG chunk type"));
        }
        if first && &chunk_type != b"IHDR" {
            return Err(malformed("PNG does not start with an IHDR chunk"));
        }
        first = false;
        let keep = PNG_KEPT_CHUNKS.contains(&&chunk_type);
        // An uppercase first letter marks a critical chunk: the image cannot be
        // decoded correctly without it, so it can neither be dropped nor kept
        // unread.
        if !keep && chunk_type[0].is_ascii_uppercase() {
            return Err(malformed("PNG has an unknown critical chunk"));
        }

        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(12)?.checked_add(len))
            .ok_or(PhotoError::Truncated)?;
        let chunk = input.get(pos..end).ok_or(PhotoError::Truncated)?;
        if keep {
            bytes.extend_from_slice(chunk);
        }
        pos = end;

        // Bytes after IEND are not part of the image and could hide anything.
        if &chunk_type == b"IEND" {
            break;
        }
    }

    Ok(SanitizedPhoto { kind: PhotoKind::Png, bytes, gps: None })
}

// ---------------------------------------------------------------------------
// Capture: downscale, re-encode, thumbnail
// ---------------------------------------------------------------------------

/// Most pixels a photo may have (100 MP): checked from the header before any pixel is decoded,
/// so a small file that declares a huge image cannot make the phone allocate gigabytes.
pub const MAX_PIXELS: u64 = 100_000_000;

/// How photos are stored at capture (`StoreOptions::photos`; the apps' `DeviceSettings.photos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoOptions {
    /// The stored photo's longest side at most, in pixels (default 1600; 320..=8192).
    pub max_long_edge: u32,
    /// JPEG quality of a re-encoded photo and of thumbnails (default 80; 30..=100).
    pub jpeg_quality: u8,
    /// The thumbnail's longest side, in pixels (default 320; 32..=`max_long_edge`).
    pub thumbnail_long_edge: u32,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        PhotoOptions { max_long_edge: 1600, jpeg_quality: 80, thumbnail_long_edge: 320 }
    }
}

impl PhotoOptions {
    /// Refuses settings that would store unusable photos; the error names the setting.
    pub fn validate(&self) -> Result<(), crate::CoreError> {
        if !(320..=8192).contains(&self.max_long_edge) {
            return Err(crate::CoreError::invalid("photos.max_long_edge", "must be 320..=8192 pixels"));
        }
        if !(30..=100).contains(&self.jpeg_quality) {
            return Err(crate::CoreError::invalid("photos.jpeg_quality", "must be 30..=100"));
        }
        if !(32..=self.max_long_edge).contains(&self.thumbnail_long_edge) {
            return Err(crate::CoreError::invalid(
                "photos.thumbnail_long_edge",
                "must be 32 pixels up to photos.max_long_edge",
            ));
        }
        Ok(())
    }
}

/// A photo as the store keeps it: see [`process`].
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    /// The photo to store and upload: always sanitised; JPEG unless a small PNG was kept as is.
    pub stored: SanitizedPhoto,
    pub width: u32,
    pub height: u32,
    /// Whether the pixels were decoded and encoded again (false: the sanitised input is kept).
    pub reencoded: bool,
    /// A JPEG of at most `thumbnail_long_edge` pixels on its longest side, without any metadata.
    pub thumbnail: Vec<u8>,
    /// The sanitised input at its full size, when it was asked for and differs from `stored`.
    pub original: Option<SanitizedPhoto>,
}

/// A JPEG at most this many bytes per pixel (plus [`KEEP_SLACK_BYTES`] for its headers) is not
/// re-encoded when it is already small enough (4 bits a pixel; a phone's JPEG at quality
/// 80–90 is 1–3).
const KEEP_MAX_BYTES_PER_PIXEL: f64 = 0.5;
const KEEP_SLACK_BYTES: f64 = 64.0 * 1024.0;

/// Prepares a photo for the store: metadata stripped except the location ([`sanitize`]), the
/// Exif orientation applied to the pixels, downscaled to `max_long_edge` and re-encoded as
/// JPEG at `jpeg_quality`, with the location written back; plus a thumbnail.
///
/// Not re-encoded (no generation loss, no work): a JPEG whose longest side is already within
/// `max_long_edge`, that needs no rotation and that is not bloated (at most 4 bits a pixel,
/// plus 64 KiB for headers).
/// A PNG is always stored as JPEG (photos as PNG are 5–10 times larger); transparency is laid
/// over white. HEIC/HEIF/AVIF are refused with `UnsupportedFormat`. Never panics on
/// untrusted input: sizes are checked from the header first, and a decoder's panic is caught
/// and reported as `Malformed`.
pub fn process(input: &[u8], opts: &PhotoOptions, keep_original: bool) -> Result<ProcessedPhoto, PhotoError> {
    if let Some(format) = unsupported_format(input) {
        return Err(PhotoError::UnsupportedFormat { format });
    }
    let clean = sanitize(input)?;
    std::panic::catch_unwind(|| process_clean(input, clean, opts, keep_original)).unwrap_or_else(|_| Err(undecodable()))
}

fn process_clean(
    input: &[u8],
    clean: SanitizedPhoto,
    opts: &PhotoOptions,
    keep_original: bool,
) -> Result<ProcessedPhoto, PhotoError> {
    let max = opts.max_long_edge;
    match clean.kind {
        PhotoKind::Jpeg => {
            let orientation = exif_orientation(input);
            let (width, height) = jpeg_size(&clean.bytes)?;
            let (w, h) = oriented(width, height, orientation);
            let small = width.max(height) <= max;
            let lean = clean.bytes.len() as f64
                <= f64::from(width) * f64::from(height) * KEEP_MAX_BYTES_PER_PIXEL + KEEP_SLACK_BYTES;
            if small && lean && orientation <= 1 {
                let thumb = decode_jpeg(&clean.bytes, opts.thumbnail_long_edge)?;
                let thumbnail = encode_scaled(&thumb, opts.thumbnail_long_edge, opts.jpeg_quality)?;
                return Ok(ProcessedPhoto {
                    stored: clean,
                    width: w,
                    height: h,
                    reencoded: false,
                    thumbnail,
                    original: None,
                });
            }
            let pixels = orient(decode_jpeg(&clean.bytes, max)?, orientation);
            finish(pixels, clean, opts, keep_original)
        }
        PhotoKind::Png => {
            let pixels = decode_png(&clean.bytes)?;
            finish(pixels, clean, opts, keep_original)
        }
    }
}

/// Downscales, encodes (with the GPS fix), makes the thumbnail.
fn finish(
    pixels: Rgb,
    clean: SanitizedPhoto,
    opts: &PhotoOptions,
    keep_original: bool,
) -> Result<ProcessedPhoto, PhotoError> {
    let resized = resize_to(&pixels, opts.max_long_edge)?;
    drop(pixels);
    let encoded = encode_jpeg(&resized, opts.jpeg_quality)?;
    let with_gps = match clean.gps {
        Some(fix) => insert_gps(&encoded, fix)?,
        None => encoded,
    };
    // Through the sanitiser once more: the stored file is in its canonical form (the same bytes
    // it would give again), and the location is read back from the file itself.
    let stored = sanitize(&with_gps)?;
    let thumbnail = encode_scaled(&resized, opts.thumbnail_long_edge, opts.jpeg_quality)?;
    Ok(ProcessedPhoto {
        stored,
        width: resized.width,
        height: resized.height,
        reencoded: true,
        thumbnail,
        original: keep_original.then_some(clean),
    })
}

/// A thumbnail of a stored photo (for one stored before thumbnails were made at capture).
pub fn thumbnail(stored: &[u8], opts: &PhotoOptions) -> Result<Vec<u8>, PhotoError> {
    let clean = sanitize(stored)?;
    std::panic::catch_unwind(|| {
        let pixels = match clean.kind {
            PhotoKind::Jpeg => decode_jpeg(&clean.bytes, opts.thumbnail_long_edge)?,
            PhotoKind::Png => decode_png(&clean.bytes)?,
        };
        encode_scaled(&pixels, opts.thumbnail_long_edge, opts.jpeg_quality)
    })
    .unwrap_or_else(|_| Err(undecodable()))
}

/// HEIF-family files (ISO BMFF `ftyp` with an image brand).
fn unsupported_format(input: &[u8]) -> Option<&'static str> {
    if input.get(4..8) != Some(b"ftyp".as_slice()) {
        return None;
    }
    match input.get(8..12)? {
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"hevm" | b"hevs" => Some("HEIC"),
        b"mif1" | b"msf1" => Some("HEIF"),
        b"avif" | b"avis" => Some("AVIF"),
        _ => None,
    }
}

/// 8-bit RGB pixels, row by row.
struct Rgb {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

fn too_many(width: u32, height: u32) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(malformed("the image has no pixels"));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels { width, height, max_megapixels: (MAX_PIXELS / 1_000_000) as u32 });
    }
    Ok(())
}

/// A JPEG's size from its header, checked against [`MAX_PIXELS`].
fn jpeg_size(jpeg: &[u8]) -> Result<(u32, u32), PhotoError> {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    d.read_info().map_err(|_| undecodable())?;
    let info = d.info().ok_or_else(undecodable)?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    too_many(w, h)?;
    Ok((w, h))
}

/// Decodes a JPEG, scaled in the IDCT by 1/2, 1/4 or 1/8 while the result stays at least
/// `long_edge` on its longer side (exact scaling is left to the resizer).
fn decode_jpeg(jpeg: &[u8], long_edge: u32) -> Result<Rgb, PhotoError> {
    use jpeg_decoder::PixelFormat;
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    d.read_info().map_err(|_| undecodable())?;
    let info = d.info().ok_or_else(undecodable)?;
    too_many(u32::from(info.width), u32::from(info.height))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let (req_w, req_h) = fit(w, h, long_edge);
    let (w, h) = d.scale(req_w as u16, req_h as u16).map_err(|_| undecodable())?;
    let (w, h) = (u32::from(w), u32::from(h));
    // The decoder's own bound on what it allocates for the output (4 bytes a pixel at most).
    d.set_max_decoding_buffer_size((u64::from(w) * u64::from(h) * 4).min(MAX_PIXELS * 4) as usize);
    let raw = d.decode().map_err(|_| undecodable())?;
    let info = d.info().ok_or_else(undecodable)?;
    let n = w as usize * h as usize;
    let data = match info.pixel_format {
        PixelFormat::RGB24 => raw,
        PixelFormat::L8 => raw.iter().flat_map(|&l| [l, l, l]).collect(),
        PixelFormat::L16 => raw.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0]]).collect(),
        PixelFormat::CMYK32 => raw
            .chunks_exact(4)
            .flat_map(|p| {
                let k = u16::from(p[3]);
                [p[0], p[1], p[2]].map(|c| (u16::from(c) * k / 255) as u8)
            })
            .collect(),
    };
    if data.len() < n * 3 {
        return Err(undecodable());
    }
    Ok(Rgb { width: w, height: h, data })
}

/// Decodes a PNG to 8-bit RGB, transparency laid over white.
fn decode_png(bytes: &[u8]) -> Result<Rgb, PhotoError> {
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let header = d.read_header_info().map_err(|_| undecodable())?;
    let (w, h) = (header.width, header.height);
    too_many(w, h)?;
    d.set_limits(png::Limits { bytes: (MAX_PIXELS * 4) as usize });
    let mut reader = d.read_info().map_err(|_| undecodable())?;
    let size = reader.output_buffer_size().ok_or_else(undecodable)?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(|_| undecodable())?;
    buf.truncate(frame.buffer_size());
    let over_white = |v: u8, a: u8| ((u16::from(v) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
    let data: Vec<u8> = match frame.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf
            .chunks_exact(4)
            .flat_map(|p| [over_white(p[0], p[3]), over_white(p[1], p[3]), over_white(p[2], p[3])])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&l| [l, l, l]).collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| {
                let l = over_white(p[0], p[1]);
                [l, l, l]
            })
            .collect(),
        png::ColorType::Indexed => return Err(undecodable()), // EXPAND turns palettes into RGB(A)
    };
    if data.len() < w as usize * h as usize * 3 {
        return Err(undecodable());
    }
    Ok(Rgb { width: frame.width, height: frame.height, data })
}

/// The size that fits `long_edge` on the longer side, keeping the aspect (never enlarging).
fn fit(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge {
        return (width, height);
    }
    let scale = |v: u32| ((u64::from(v) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long)).max(1) as u32;
    (scale(width), scale(height))
}

/// Resamples to fit `long_edge` (Lanczos3 convolution; a copy when already small enough).
fn resize_to(src: &Rgb, long_edge: u32) -> Result<Rgb, PhotoError> {
    use fast_image_resize as fr;
    let (w, h) = fit(src.width, src.height, long_edge);
    if (w, h) == (src.width, src.height) {
        return Ok(Rgb { width: w, height: h, data: src.data.clone() });
    }
    let from =
        fr::images::ImageRef::new(src.width, src.height, &src.data, fr::PixelType::U8x3).map_err(|_| undecodable())?;
    let mut to = fr::images::Image::new(w, h, fr::PixelType::U8x3);
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new().resize(&from, &mut to, &options).map_err(|_| undecodable())?;
    Ok(Rgb { width: w, height: h, data: to.into_vec() })
}

fn encode_jpeg(img: &Rgb, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let (w, h) = (u16::try_from(img.width), u16::try_from(img.height));
    let (Ok(w), Ok(h)) = (w, h) else { return Err(malformed("the image is too large to encode")) };
    let mut out = Vec::with_capacity(img.data.len() / 8);
    let mut e = jpeg_encoder::Encoder::new(&mut out, quality);
    e.set_optimized_huffman_tables(true);
    e.encode(&img.data, w, h, jpeg_encoder::ColorType::Rgb).map_err(|_| malformed("the image cannot be encoded"))?;
    Ok(out)
}

/// A metadata-free JPEG of at most `long_edge` on the longer side.
fn encode_scaled(img: &Rgb, long_edge: u32, quality: u8) -> Result<Vec<u8>, PhotoError> {
    encode_jpeg(&resize_to(img, long_edge)?, quality)
}

/// Puts the minimal GPS APP1 right after SOI (and after the JFIF APP0, which must come first).
fn insert_gps(jpeg: &[u8], fix: GpsFix) -> Result<Vec<u8>, PhotoError> {
    let lat = Coord::from_degrees(fix.lat.abs(), fix.lat < 0.0, 90.0).ok_or_else(|| malformed("bad latitude"))?;
    let lng = Coord::from_degrees(fix.lng.abs(), fix.lng < 0.0, 180.0).ok_or_else(|| malformed("bad longitude"))?;
    let mut at = 2;
    if let Ok(m) = read_marker(jpeg, 2) {
        if m.code == APP0 {
            at = m.end;
        }
    }
    let mut out = Vec::with_capacity(jpeg.len() + 160);
    out.extend_from_slice(jpeg.get(..at).ok_or(PhotoError::Truncated)?);
    out.extend_from_slice(&gps_app1_segment(&Fix { lat, lng }));
    out.extend_from_slice(&jpeg[at..]);
    Ok(out)
}

/// The Exif orientation (1..=8) of the first Exif block before the first scan; 1 without one.
fn exif_orientation(input: &[u8]) -> u16 {
    const TAG_ORIENTATION: u16 = 0x0112;
    let mut pos = 2;
    while let Ok(m) = read_marker(input, pos) {
        pos = m.end;
        let Some(segment) = m.segment else { continue };
        if m.code == SOS {
            break;
        }
        let payload = &segment[2..];
        if m.code == APP1 && payload.starts_with(b"Exif\0") {
            let read = || {
                let t = Tiff::new(payload.get(6..)?)?;
                let ifd0 = usize::try_from(t.u32_at(4)?).ok()?;
                let e = t.find(ifd0, TAG_ORIENTATION)?;
                if e.typ != 3 || e.count != 1 {
                    return None;
                }
                t.u16_at(e.value_field)
            };
            return read().filter(|o| (1..=8).contains(o)).unwrap_or(1);
        }
    }
    1
}

/// The displayed size for an orientation (5..=8 swap the sides).
fn oriented(width: u32, height: u32, orientation: u16) -> (u32, u32) {
    if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    }
}

/// Turns the pixels upright as the Exif orientation says (the tag itself is not kept).
fn orient(img: Rgb, orientation: u16) -> Rgb {
    if orientation <= 1 || orientation > 8 {
        return img;
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let (ow, oh) = oriented(img.width, img.height, orientation);
    let mut data = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            // Where the stored pixel (x, y) goes in the upright picture.
            let (dx, dy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (h - 1 - y, x),
                7 => (h - 1 - y, w - 1 - x),
                _ => (y, w - 1 - x), // 8
            };
            let from = (y * w + x) * 3;
            let to = (dy * ow as usize + dx) * 3;
            data[to..to + 3].copy_from_slice(&img.data[from..from + 3]);
        }
    }
    Rgb { width: ow, height: oh, data }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- byte helpers ------------------------------------------------------

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn u16b(le: bool, v: u16) -> [u8; 2] {
        if le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }

    fn u32b(le: bool, v: u32) -> [u8; 4] {
        if le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }

    fn rationals(le: bool, values: &[(u32, u32)]) -> Vec<u8> {
        values.iter().flat_map(|&(n, d)| [u32b(le, n), u32b(le, d)].concat()).collect()
    }

    // ---- a tiny TIFF writer for building Exif by hand ----------------------

    enum Val {
        /// Raw value bytes, already in the TIFF's byte order.
        Data(Vec<u8>),
        /// Offset of IFD number n (as a LONG).
        IfdPtr(usize),
    }

    struct Ifd {
        entries: Vec<(u16, u16, u32, Val)>,
        next: Option<usize>,
    }

    fn ifd_size(ifd: &Ifd) -> usize {
        let data: usize = ifd
            .entries
            .iter()
            .map(|(_, _, _, v)| match v {
                Val::Data(d) if d.len() > 4 => (d.len() + 1) & !1,
                _ => 0,
            })
            .sum();
        2 + 12 * ifd.entries.len() + 4 + data
    }

    /// Lays out IFDs one after another from offset 8 and serialises them.
    fn build_tiff(le: bool, ifds: &[Ifd]) -> Vec<u8> {
        let mut offsets = Vec::new();
        let mut at = 8;
        for ifd in ifds {
            offsets.push(at);
            at += ifd_size(ifd);
        }
        let mut t = Vec::new();
        t.extend_from_slice(if le { b"II\x2A\x00" } else { b"MM\x00\x2A" });
        t.extend_from_slice(&u32b(le, 8));
        for (i, ifd) in ifds.iter().enumerate() {
            assert_eq!(t.len(), offsets[i]);
            let mut data_at = offsets[i] + 2 + 12 * ifd.entries.len() + 4;
            let mut data = Vec::new();
            t.extend_from_slice(&u16b(le, ifd.entries.len() as u16));
            for (tag, typ, count, val) in &ifd.entries {
                t.extend_from_slice(&u16b(le, *tag));
                t.extend_from_slice(&u16b(le, *typ));
                t.extend_from_slice(&u32b(le, *count));
                match val {
                    Val::IfdPtr(n) => t.extend_from_slice(&u32b(le, offsets[*n] as u32)),
                    Val::Data(d) if d.len() <= 4 => {
                        let mut inline = d.clone();
                        inline.resize(4, 0);
                        t.extend_from_slice(&inline);
                    }
                    Val::Data(d) => {
                        t.extend_from_slice(&u32b(le, data_at as u32));
                        data.extend_from_slice(d);
                        if d.len() % 2 == 1 {
                            data.push(0);
                        }
                        data_at += (d.len() + 1) & !1;
                    }
                }
            }
            t.extend_from_slice(&u32b(le, ifd.next.map_or(0, |n| offsets[n] as u32)));
            t.extend_from_slice(&data);
        }
        t
    }

    fn ascii(s: &str) -> Val {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        Val::Data(v)
    }

    type Dms = [(u32, u32); 3];

    /// Exif with Make, an Exif IFD (DateTimeOriginal, MakerNote), a GPS IFD
    /// (plus private GPSDateStamp) and a thumbnail IFD1.
    fn exif_tiff(le: bool, lat_ref: &str, lat: Dms, lng_ref: &str, lng: Dms) -> Vec<u8> {
        let ifd0 = Ifd {
            entries: vec![
                (0x010F, TYPE_ASCII, 10, ascii("SECRETCAM")),
                (0x8769, TYPE_LONG, 1, Val::IfdPtr(1)),
                (0x8825, TYPE_LONG, 1, Val::IfdPtr(2)),
            ],
            next: Some(3),
        };
        let exif_ifd = Ifd {
            entries: vec![
                (0x9003, TYPE_ASCII, 20, ascii("2024:05:06 07:08:09")),
                (0x927C, 7, 11, Val::Data(b"MAKERSECRET".to_vec())),
            ],
            next: None,
        };
        let gps_ifd = Ifd {
            entries: vec![
                (0x0000, TYPE_BYTE, 4, Val::Data(vec![2, 3, 0, 0])),
                (0x0001, TYPE_ASCII, 2, ascii(lat_ref)),
                (0x0002, TYPE_RATIONAL, 3, Val::Data(rationals(le, &lat))),
                (0x0003, TYPE_ASCII, 2, ascii(lng_ref)),
                (0x0004, TYPE_RATIONAL, 3, Val::Data(rationals(le, &lng))),
                (0x001D, TYPE_ASCII, 11, ascii("2025:01:02")),
            ],
            next: None,
        };
        let thumb_ifd = Ifd { entries: vec![(0x0201, 7, 11, Val::Data(b"THUMBSECRET".to_vec()))], next: None };
        build_tiff(le, &[ifd0, exif_ifd, gps_ifd, thumb_ifd])
    }

    // ---- a hand-built JPEG -------------------------------------------------

    fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    fn app1_exif(tiff: &[u8]) -> Vec<u8> {
        seg(0xE1, &[b"Exif\0\0".as_slice(), tiff].concat())
    }

    /// JFIF 1.01, 1:1 aspect, with a 1x1 RGB thumbnail.
    fn jfif_with_thumbnail() -> Vec<u8> {
        seg(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x01\x01\xAB\xCD\xEF")
    }

    fn jfif_plain() -> Vec<u8> {
        seg(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    }

    fn icc_segment() -> Vec<u8> {
        seg(0xE2, b"ICC_PROFILE\0\x01\x01fake-profile")
    }

    fn adobe_segment() -> Vec<u8> {
        seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01")
    }

    fn dqt() -> Vec<u8> {
        let mut p = vec![0x00];
        p.extend_from_slice(&[1u8; 64]);
        seg(0xDB, &p)
    }

    fn sof0() -> Vec<u8> {
        // 8-bit, 16x16, one component (id 1, 1x1 sampling, table 0).
        seg(0xC0, &[8, 0, 16, 0, 16, 1, 1, 0x11, 0])
    }

    /// SOS header, a few scan bytes (incl. a stuffed 0xFF00 and a restart
    /// marker), then EOI: everything from SOS on must survive byte for byte.
    fn scan_and_eoi() -> Vec<u8> {
        let mut s = seg(0xDA, &[1, 1, 0x00, 0, 63, 0]);
        s.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0xAB, 0xFF, 0xD9]);
        s
    }

    const PRIVATE: [&[u8]; 12] = [
        b"SECRETCAM",
        b"2024:05:06",
        b"2025:01:02",
        b"MAKERSECRET",
        b"THUMBSECRET",
        b"private note",
        b"SECRETXMP",
        b"SECRETMPF",
        b"SECRETIPTC",
        b"SECRETAPP15",
        b"JFXXSECRET",
        b"\xAB\xCD\xEF",
    ];

    fn full_jpeg(exif_tiff: &[u8]) -> Vec<u8> {
        [
            vec![0xFF, 0xD8],
            jfif_with_thumbnail(),
            seg(0xE0, b"JFXX\0\x10JFXXSECRET"),
            app1_exif(exif_tiff),
            seg(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>SECRETXMP</x:xmpmeta>"),
            icc_segment(),
            seg(0xE2, b"MPF\0SECRETMPF"),
            seg(0xED, b"Photoshop 3.0\08BIM SECRETIPTC"),
            adobe_segment(),
            seg(0xEF, b"SECRETAPP15"),
            seg(0xFE, b"private note"),
            dqt(),
            sof0(),
            scan_and_eoi(),
        ]
        .concat()
    }

    const SHANGHAI_LAT: Dms = [(31, 1), (13, 1), (492, 10)];
    const SHANGHAI_LNG: Dms = [(121, 1), (28, 1), (120, 10)];
    const SHANGHAI: (f64, f64) = (31.0 + 13.0 / 60.0 + 49.2 / 3600.0, 121.0 + 28.0 / 60.0 + 12.0 / 3600.0);

    fn shanghai_jpeg(le: bool) -> Vec<u8> {
        full_jpeg(&exif_tiff(le, "N", SHANGHAI_LAT, "E", SHANGHAI_LNG))
    }

    fn no_exif_jpeg() -> Vec<u8> {
        [vec![0xFF, 0xD8], jfif_plain(), seg(0xFE, b"private note"), dqt(), sof0(), scan_and_eoi()].concat()
    }

    /// Splits a JPEG into (marker, whole segment) up to and including SOS.
    fn header_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        let mut pos = 2;
        let mut out = Vec::new();
        loop {
            assert_eq!(jpeg[pos], 0xFF);
            let marker = jpeg[pos + 1];
            if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
                out.push((marker, jpeg[pos..pos + 2].to_vec()));
                pos += 2;
                continue;
            }
            let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
            out.push((marker, jpeg[pos..pos + 2 + len].to_vec()));
            if marker == SOS {
                return out;
            }
            pos += 2 + len;
        }
    }

    /// Splits a whole sanitised JPEG into (marker, whole segment), scans
    /// included (their entropy-coded data skipped: 0xFF00 and RSTn, after any
    /// fill bytes, stay inside a scan), up to EOI, which must be the last byte.
    fn all_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        let mut pos = 2;
        let mut out = Vec::new();
        while pos < jpeg.len() {
            assert_eq!(jpeg[pos], 0xFF, "marker expected at {pos}");
            let marker = jpeg[pos + 1];
            if marker == EOI {
                assert_eq!(pos + 2, jpeg.len(), "bytes after EOI");
                out.push((EOI, vec![0xFF, EOI]));
                break;
            }
            if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
                out.push((marker, jpeg[pos..pos + 2].to_vec()));
                pos += 2;
                continue;
            }
            let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
            out.push((marker, jpeg[pos..pos + 2 + len].to_vec()));
            pos += 2 + len;
            if marker == SOS {
                while pos < jpeg.len() {
                    if jpeg[pos] != 0xFF {
                        pos += 1;
                        continue;
                    }
                    let mut next = pos + 1;
                    while jpeg.get(next) == Some(&0xFF) {
                        next += 1;
                    }
                    match jpeg.get(next) {
                        None => return out, // the scan runs to the end
                        Some(0x00 | 0xD0..=0xD7) => pos = next + 1,
                        Some(_) => {
                            assert_eq!(next, pos + 1, "fill bytes before a marker kept");
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    // ---- a hand-built progressive JPEG -------------------------------------

    fn sof2() -> Vec<u8> {
        // Progressive, 8-bit, 16x16, one component.
        seg(0xC2, &[8, 0, 16, 0, 16, 1, 1, 0x11, 0])
    }

    /// A DHT whose two symbols are 0xFF 0xD9: a naive search for EOI would
    /// end the image inside this table.
    fn dht_with_ffd9(class_and_id: u8) -> Vec<u8> {
        let mut p = vec![class_and_id, 0, 2];
        p.extend_from_slice(&[0; 14]);
        p.extend_from_slice(&[0xFF, 0xD9]);
        seg(0xC4, &p)
    }

    /// DC scan: SOS header and entropy-coded data with a stuffed byte and a
    /// restart marker preceded by a fill byte.
    fn dc_scan() -> Vec<u8> {
        let mut s = seg(0xDA, &[1, 1, 0x00, 0, 0, 0x01]);
        s.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xFF, 0xD1, 0x56]);
        s
    }

    /// AC scan: SOS header and data with stuffed bytes and a restart marker.
    fn ac_scan() -> Vec<u8> {
        let mut s = seg(0xDA, &[1, 1, 0x00, 1, 63, 0]);
        s.extend_from_slice(&[0xFF, 0x00, 0x77, 0xFF, 0xD2, 0x88, 0xFF, 0x00]);
        s
    }

    /// Header, DHT, DC scan, DHT, `between`, AC scan, EOI.
    fn progressive_jpeg(between: &[Vec<u8>]) -> Vec<u8> {
        [
            vec![0xFF, 0xD8],
            jfif_plain(),
            dqt(),
            sof2(),
            dht_with_ffd9(0x00),
            dc_scan(),
            dht_with_ffd9(0x10),
            between.concat(),
            ac_scan(),
            vec![0xFF, 0xD9],
        ]
        .concat()
    }

    /// Metadata a phone might put between scans.
    fn metadata_between_scans() -> Vec<Vec<u8>> {
        vec![
            app1_exif(&exif_tiff(true, "N", SHANGHAI_LAT, "E", SHANGHAI_LNG)),
            seg(0xFE, b"private note"),
            seg(0xE2, b"MPF\0SECRETMPF"),
            seg(0xEF, b"SECRETAPP15"),
        ]
    }

    fn ifd_tags(t: &Tiff<'_>, ifd: usize) -> Vec<u16> {
        let n = usize::from(t.u16_at(ifd).unwrap());
        (0..n).map(|i| t.u16_at(ifd + 2 + 12 * i).unwrap()).collect()
    }

    fn assert_close(fix: GpsFix, (lat, lng): (f64, f64)) {
        assert!((fix.lat - lat).abs() < 1e-6, "lat {} vs {}", fix.lat, lat);
        assert!((fix.lng - lng).abs() < 1e-6, "lng {} vs {}", fix.lng, lng);
    }

    fn assert_idempotent(first: &SanitizedPhoto) {
        let again = sanitize(&first.bytes).expect("sanitised output must sanitise again");
        assert_eq!(again.kind, first.kind);
        assert_eq!(again.bytes, first.bytes);
        assert_eq!(again.gps, first.gps);
        if let (Some(a), Some(b)) = (again.gps, first.gps) {
            assert_eq!(a.lat.to_bits(), b.lat.to_bits());
            assert_eq!(a.lng.to_bits(), b.lng.to_bits());
        }
    }

    // ---- JPEG tests --------------------------------------------------------

    #[test]
    fn kind_mime_and_extension() {
        assert_eq!(PhotoKind::Jpeg.mime(), "image/jpeg");
        assert_eq!(PhotoKind::Jpeg.extension(), "jpg");
        assert_eq!(PhotoKind::Png.mime(), "image/png");
        assert_eq!(PhotoKind::Png.extension(), "png");
    }

    #[test]
    fn jpeg_strips_private_metadata_in_both_byte_orders() {
        for le in [true, false] {
            let input = shanghai_jpeg(le);
            for needle in PRIVATE {
                assert!(contains(&input, needle), "fixture lacks {needle:?}");
            }
            let out = sanitize(&input).unwrap();
            assert_eq!(out.kind, PhotoKind::Jpeg);
            for needle in PRIVATE {
                assert!(!contains(&out.bytes, needle), "leaked {:?} (le={le})", String::from_utf8_lossy(needle));
            }
        }
    }

    #[test]
    fn jpeg_extracts_gps_in_both_byte_orders() {
        let le = sanitize(&shanghai_jpeg(true)).unwrap();
        let be = sanitize(&shanghai_jpeg(false)).unwrap();
        assert_close(le.gps.unwrap(), SHANGHAI);
        // The rewritten file is canonical, independent of the source byte order.
        assert_eq!(le.gps, be.gps);
        assert_eq!(le.bytes, be.bytes);
    }

    #[test]
    fn jpeg_scan_data_is_unchanged() {
        let input = shanghai_jpeg(true);
        let out = sanitize(&input).unwrap();
        assert!(out.bytes.ends_with(&scan_and_eoi()));
    }

    #[test]
    fn jpeg_keeps_decoding_segments_in_order() {
        let out = sanitize(&shanghai_jpeg(false)).unwrap();
        let segs = header_segments(&out.bytes);
        let markers: Vec<u8> = segs.iter().map(|(m, _)| *m).collect();
        assert_eq!(markers, vec![0xE0, 0xE1, 0xE2, 0xEE, 0xDB, 0xC0, 0xDA]);
        assert_eq!(segs[0].1, jfif_plain(), "JFIF kept, thumbnail removed");
        assert_eq!(segs[2].1, icc_segment());
        assert_eq!(segs[3].1, adobe_segment());
        assert_eq!(segs[4].1, dqt());
        assert_eq!(segs[5].1, sof0());
    }

    #[test]
    fn jpeg_new_exif_holds_only_gps_tags() {
        let out = sanitize(&shanghai_jpeg(true)).unwrap();
        let segs = header_segments(&out.bytes);
        let app1 = &segs[1].1;
        assert!(app1[4..].starts_with(b"Exif\0\0"));
        let t = Tiff::new(&app1[10..]).unwrap();
        let ifd0 = t.u32_at(4).unwrap() as usize;
        assert_eq!(ifd_tags(&t, ifd0), vec![TAG_GPS_IFD]);
        assert_eq!(t.u32_at(ifd0 + 2 + 12).unwrap(), 0, "no IFD1 / thumbnail");
        let gps_ifd = t.u32_at(t.find(ifd0, TAG_GPS_IFD).unwrap().value_field).unwrap() as usize;
        assert_eq!(ifd_tags(&t, gps_ifd), vec![0, 1, 2, 3, 4]);
        assert_eq!(app1.len(), 4 + 6 + 140);
    }

    #[test]
    fn jpeg_sanitize_is_idempotent() {
        for input in [shanghai_jpeg(true), shanghai_jpeg(false), no_exif_jpeg()] {
            assert_idempotent(&sanitize(&input).unwrap());
        }
    }

    #[test]
    fn jpeg_south_west_is_negative() {
        // Rio de Janeiro: 22°54'30"S 43°11'47"W.
        for le in [true, false] {
            let tiff = exif_tiff(le, "S", [(22, 1), (54, 1), (30, 1)], "W", [(43, 1), (11, 1), (47, 1)]);
            let out = sanitize(&full_jpeg(&tiff)).unwrap();
            let fix = out.gps.unwrap();
            assert_close(fix, (-(22.0 + 54.0 / 60.0 + 30.0 / 3600.0), -(43.0 + 11.0 / 60.0 + 47.0 / 3600.0)));
            assert_idempotent(&out);
        }
    }

    #[test]
    fn jpeg_without_exif_only_loses_com() {
        let input = no_exif_jpeg();
        let out = sanitize(&input).unwrap();
        assert_eq!(out.gps, None);
        let expected = [vec![0xFF, 0xD8], jfif_plain(), dqt(), sof0(), scan_and_eoi()].concat();
        assert_eq!(out.bytes, expected);
    }

    #[test]
    fn jpeg_invalid_coordinates_mean_no_gps() {
        let cases: [(&str, Dms, &str, Dms); 5] = [
            ("N", [(91, 1), (0, 1), (0, 1)], "E", SHANGHAI_LNG),  // latitude > 90
            ("N", SHANGHAI_LAT, "E", [(180, 1), (0, 1), (1, 1)]), // longitude > 180
            ("N", [(31, 0), (0, 1), (0, 1)], "E", SHANGHAI_LNG),  // zero denominator
            ("X", SHANGHAI_LAT, "E", SHANGHAI_LNG),               // unknown hemisphere
            ("N", SHANGHAI_LAT, "", SHANGHAI_LNG),                // missing hemisphere
        ];
        for (lat_ref, lat, lng_ref, lng) in cases {
            let out = sanitize(&full_jpeg(&exif_tiff(true, lat_ref, lat, lng_ref, lng))).unwrap();
            assert_eq!(out.gps, None);
            assert!(header_segments(&out.bytes).iter().all(|(m, _)| *m != APP1), "no Exif written");
            for needle in PRIVATE {
                assert!(!contains(&out.bytes, needle));
            }
        }
    }

    #[test]
    fn jpeg_broken_exif_is_not_fatal() {
        let input =
            [vec![0xFF, 0xD8], seg(0xE1, b"Exif\0\0MM\0\x2A\xFF\xFF\xFF\xFFSECRETCAM"), dqt(), sof0(), scan_and_eoi()]
                .concat();
        let out = sanitize(&input).unwrap();
        assert_eq!(out.gps, None);
        assert!(!contains(&out.bytes, b"SECRETCAM"));
    }

    #[test]
    fn jpeg_fill_bytes_before_markers_are_accepted() {
        let input = [vec![0xFF, 0xD8, 0xFF, 0xFF], jfif_plain(), vec![0xFF], dqt(), sof0(), scan_and_eoi()].concat();
        let out = sanitize(&input).unwrap();
        assert_eq!(out.bytes, [vec![0xFF, 0xD8], jfif_plain(), dqt(), sof0(), scan_and_eoi()].concat());
    }

    #[test]
    fn jpeg_structural_errors() {
        let m = |input: Vec<u8>| sanitize(&input).unwrap_err();
        assert!(matches!(m([vec![0xFF, 0xD8], vec![0xFF, 0xDB, 0x00, 0x01]].concat()), PhotoError::Malformed { .. }));
        assert!(matches!(m([vec![0xFF, 0xD8], jfif_plain(), vec![0xFF, 0xD9]].concat()), PhotoError::Malformed { .. }));
        assert!(matches!(m([vec![0xFF, 0xD8], jfif_plain(), vec![0x42]].concat()), PhotoError::Malformed { .. }));
        assert!(matches!(m(vec![0xFF, 0xD8, 0xFF, 0x00]), PhotoError::Malformed { .. }));
        assert!(matches!(m(vec![0xFF, 0xD8, 0xFF, 0xD8]), PhotoError::Malformed { .. }));
        assert_eq!(m(vec![0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0x00]), PhotoError::Truncated);
        // Header only, no scan: truncated.
        assert_eq!(m([vec![0xFF, 0xD8], jfif_plain(), dqt()].concat()), PhotoError::Truncated);
    }

    #[test]
    fn jpeg_every_prefix_is_handled() {
        let input = shanghai_jpeg(false);
        let sos_at = input.len() - scan_and_eoi().len();
        for n in 0..=input.len() {
            let result = sanitize(&input[..n]);
            if n < sos_at + 10 {
                // Cut before the SOS header is complete: can't be a valid JPEG.
                assert!(result.is_err(), "prefix {n} accepted");
            }
            if let Err(e) = result {
                assert!(!e.to_string().contains("SECRET"));
            }
        }
    }

    #[test]
    fn jpeg_drops_everything_after_eoi() {
        // An MPF secondary image with its own full Exif, then a Motion Photo video.
        let secondary = [
            vec![0xFF, 0xD8],
            app1_exif(&exif_tiff(false, "N", SHANGHAI_LAT, "E", SHANGHAI_LNG)),
            dqt(),
            sof0(),
            scan_and_eoi(),
        ]
        .concat();
        let video = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isomSECRETVIDEO".to_vec();
        for primary in [no_exif_jpeg(), shanghai_jpeg(true)] {
            let expected = sanitize(&primary).unwrap();
            for trailer in [secondary.clone(), [secondary.clone(), video.clone()].concat()] {
                let input = [primary.clone(), trailer].concat();
                assert!(contains(&input[primary.len()..], b"SECRETCAM"));
                let out = sanitize(&input).unwrap();
                assert_eq!(out.bytes, expected.bytes);
                assert_eq!(out.gps, expected.gps, "no GPS from the secondary image");
                assert!(!contains(&out.bytes, b"SECRETCAM"));
                assert!(!contains(&out.bytes, b"SECRETVIDEO"));
                assert!(out.bytes.ends_with(&[0xFF, 0xD9]));
            }
        }
        // Fill bytes before EOI are dropped with the trailer.
        let input = [&no_exif_jpeg()[..no_exif_jpeg().len() - 2], &[0xFF, 0xFF, 0xFF, 0xD9], b"trailer"].concat();
        assert_eq!(sanitize(&input).unwrap().bytes, sanitize(&no_exif_jpeg()).unwrap().bytes);
    }

    #[test]
    fn jpeg_progressive_scans_are_unchanged() {
        let input = progressive_jpeg(&[]);
        let out = sanitize(&input).unwrap();
        // Already clean: nothing to drop, and neither the FF D9 inside the
        // tables nor the stuffed bytes and restart markers end the image.
        assert_eq!(out.bytes, input);
        assert!(contains(&out.bytes, &dc_scan()));
        assert!(contains(&out.bytes, &ac_scan()));
        let markers: Vec<u8> = all_segments(&out.bytes).iter().map(|(m, _)| *m).collect();
        assert_eq!(markers, vec![0xE0, 0xDB, 0xC2, 0xC4, 0xDA, 0xC4, 0xDA, 0xD9]);
        assert_idempotent(&out);
    }

    #[test]
    fn jpeg_drops_metadata_between_scans() {
        let dri = seg(0xDD, &[0, 4]);
        let input = progressive_jpeg(&[metadata_between_scans(), vec![dri.clone()]].concat());
        let out = sanitize(&input).unwrap();
        assert_eq!(out.bytes, progressive_jpeg(&[dri]), "DRI kept, metadata dropped");
        // Exif belongs right after SOI; a block between scans is not read.
        assert_eq!(out.gps, None);
        for needle in PRIVATE {
            assert!(!contains(&out.bytes, needle));
        }
        assert_idempotent(&out);
    }

    #[test]
    fn jpeg_truncated_after_first_scan_is_accepted() {
        // A baseline scan without EOI is kept to the end (no EOI added).
        let scan = scan_and_eoi();
        let cut = [vec![0xFF, 0xD8], jfif_plain(), dqt(), sof0(), scan[..scan.len() - 2].to_vec()].concat();
        let out = sanitize(&cut).unwrap();
        assert_eq!(out.bytes, cut);
        assert_idempotent(&out);

        // A segment cut short after a scan is dropped, scan data kept.
        let full = progressive_jpeg(&metadata_between_scans());
        let first_scan_end = 2 + [jfif_plain(), dqt(), sof2(), dht_with_ffd9(0), dc_scan()].concat().len();
        let kept = &full[..first_scan_end];
        for n in first_scan_end + 1..first_scan_end + dht_with_ffd9(0x10).len() {
            let out = sanitize(&full[..n]).unwrap();
            if n == first_scan_end + 1 {
                // A lone 0xFF could still be scan data.
                assert_eq!(out.bytes, &full[..n]);
            } else {
                assert_eq!(out.bytes, kept, "prefix {n}");
            }
            assert_idempotent(&out);
        }

        // Every prefix: an error until the first SOS header is complete, then
        // accepted, and never leaking the metadata between the scans.
        let sos_end = first_scan_end - 8;
        for n in 0..=full.len() {
            let result = sanitize(&full[..n]);
            assert_eq!(result.is_ok(), n >= sos_end, "prefix {n}");
            if let Ok(out) = result {
                assert_eq!(out.gps, None);
                for needle in PRIVATE {
                    assert!(!contains(&out.bytes, needle), "prefix {n}");
                }
                check_ok(&out);
            }
        }
    }

    #[test]
    fn jpeg_markers_after_a_scan_are_checked() {
        let m = |tail: &[u8]| {
            sanitize(&[vec![0xFF, 0xD8], jfif_plain(), dqt(), sof2(), dc_scan(), tail.to_vec()].concat()).unwrap_err()
        };
        assert!(matches!(m(&[0xFF, 0xC4, 0x00, 0x01]), PhotoError::Malformed { .. }));
        assert!(matches!(m(&[0xFF, 0xD8]), PhotoError::Malformed { .. }));
        assert!(matches!(m(&[dht_with_ffd9(0x10), vec![0x42]].concat()), PhotoError::Malformed { .. }));
    }

    // ---- PNG tests ---------------------------------------------------------

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&crc32(&[kind.as_slice(), data].concat()).to_be_bytes());
        c
    }

    fn ihdr() -> Vec<u8> {
        // 1x1, 8-bit greyscale.
        chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])
    }

    fn idat() -> Vec<u8> {
        chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01])
    }

    fn iend() -> Vec<u8> {
        chunk(b"IEND", &[])
    }

    fn metadata_png() -> Vec<u8> {
        [
            PNG_SIGNATURE.to_vec(),
            ihdr(),
            chunk(b"tEXt", b"Author\0Jane Secret"),
            chunk(b"zTXt", b"Comment\0\0zsecret"),
            chunk(b"iTXt", b"Title\0\0\0\0\0isecret"),
            chunk(b"eXIf", b"MM\0\x2A\0\0\0\x08SECRETCAM"),
            chunk(b"tIME", &[0x07, 0xE8, 5, 6, 7, 8, 9]),
            idat(),
            iend(),
        ]
        .concat()
    }

    #[test]
    fn png_drops_text_exif_and_time_chunks() {
        let input = metadata_png();
        let out = sanitize(&input).unwrap();
        assert_eq!(out.kind, PhotoKind::Png);
        assert_eq!(out.gps, None);
        assert_eq!(out.bytes, [PNG_SIGNATURE.to_vec(), ihdr(), idat(), iend()].concat());
        for needle in [&b"Jane Secret"[..], b"Author", b"zsecret", b"isecret", b"SECRETCAM", b"tIME"] {
            assert!(!contains(&out.bytes, needle));
        }
        assert_idempotent(&out);
    }

    #[test]
    fn png_drops_trailing_bytes_after_iend() {
        let input = [metadata_png(), b"hidden trailer".to_vec()].concat();
        let out = sanitize(&input).unwrap();
        assert_eq!(out.bytes, [PNG_SIGNATURE.to_vec(), ihdr(), idat(), iend()].concat());
    }

    #[test]
    fn png_structural_errors() {
        let sig = PNG_SIGNATURE.to_vec();
        let m = |input: Vec<u8>| sanitize(&input).unwrap_err();
        assert!(matches!(m([sig.clone(), idat(), iend()].concat()), PhotoError::Malformed { .. }));
        // Huge declared lengths: no allocation, just an error.
        let huge = |len: u32| [sig.clone(), len.to_be_bytes().to_vec(), b"IHDR".to_vec()].concat();
        assert!(matches!(m(huge(0xFFFF_FFF0)), PhotoError::Malformed { .. }));
        assert_eq!(m(huge(PNG_MAX_CHUNK_LEN)), PhotoError::Truncated);
        assert!(matches!(
            m([sig.clone(), vec![0, 0, 0, 0, b'I', b'H', 0, b'R']].concat()),
            PhotoError::Malformed { .. }
        ));
        // Missing IEND.
        assert_eq!(m([sig, ihdr(), idat()].concat()), PhotoError::Truncated);
    }

    #[test]
    fn png_every_prefix_is_handled() {
        let input = metadata_png();
        for n in 0..=input.len() {
            let result = sanitize(&input[..n]);
            assert_eq!(result.is_ok(), n == input.len(), "prefix {n}");
        }
    }

    /// One chunk of every kept type, in a plausible order.
    fn whitelisted_png() -> Vec<u8> {
        [
            PNG_SIGNATURE.to_vec(),
            ihdr(),
            chunk(b"cICP", &[1, 13, 0, 1]),
            chunk(b"mDCv", &[0; 24]),
            chunk(b"cLLi", &[0; 8]),
            chunk(b"iCCP", b"icc\0\0\x78\x9C\x03\x00\x00\x00\x00\x01"),
            chunk(b"sRGB", &[0]),
            chunk(b"gAMA", &[0, 0, 0xB1, 0x8F]),
            chunk(b"cHRM", &[0; 32]),
            chunk(b"sBIT", &[8]),
            chunk(b"PLTE", &[0, 0, 0]),
            chunk(b"tRNS", &[0, 0]),
            chunk(b"bKGD", &[0, 0]),
            chunk(b"hIST", &[0, 1]),
            chunk(b"pHYs", &[0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1]),
            chunk(b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]),
            chunk(b"fcTL", &[0; 26]),
            idat(),
            chunk(b"fcTL", &[0; 26]),
            chunk(b"fdAT", &[0, 0, 0, 2, 0x78, 0x9C, 0x63, 0x60, 0, 0, 0, 2, 0, 1]),
            iend(),
        ]
        .concat()
    }

    #[test]
    fn png_keeps_whitelisted_chunks() {
        let input = whitelisted_png();
        let out = sanitize(&input).unwrap();
        assert_eq!(out.bytes, input);
        let kinds: Vec<[u8; 4]> = png_chunk_types(&out.bytes);
        for kept in PNG_KEPT_CHUNKS {
            assert!(kinds.contains(kept), "{:?} not covered", String::from_utf8_lossy(kept));
        }
    }

    #[test]
    fn png_drops_c2pa_and_other_unlisted_chunks() {
        let input = [
            PNG_SIGNATURE.to_vec(),
            ihdr(),
            chunk(b"caBX", b"\0\0\0\x20jumbc2paSECRETC2PA"),
            chunk(b"prVt", b"private SECRETCAM"),
            chunk(b"gAMA", &[0, 0, 0xB1, 0x8F]),
            idat(),
            chunk(b"vpAg", b"SECRETAPP15"),
            iend(),
        ]
        .concat();
        let out = sanitize(&input).unwrap();
        assert_eq!(
            out.bytes,
            [PNG_SIGNATURE.to_vec(), ihdr(), chunk(b"gAMA", &[0, 0, 0xB1, 0x8F]), idat(), iend()].concat()
        );
        for needle in [&b"caBX"[..], b"jumb", b"SECRET", b"prVt", b"vpAg"] {
            assert!(!contains(&out.bytes, needle));
        }
        assert_idempotent(&out);
    }

    #[test]
    fn png_unknown_critical_chunk_is_malformed() {
        let input = [PNG_SIGNATURE.to_vec(), ihdr(), chunk(b"ABCD", b"needed to decode"), idat(), iend()].concat();
        let err = sanitize(&input).unwrap_err();
        assert_eq!(err, malformed("PNG has an unknown critical chunk"));
        assert!(!err.to_string().contains("ABCD"));
    }

    // ---- format detection and errors ---------------------------------------

    #[test]
    fn other_files_are_not_photos() {
        for input in [&b""[..], b"GIF89a\x01\x00", b"%PDF-1.7", b"\xFF\xD9", b"\x89PNX\r\n\x1a\n"] {
            assert_eq!(sanitize(input).unwrap_err(), PhotoError::NotAPhoto, "{input:?}");
        }
        for input in [&b"\xFF"[..], b"\xFF\xD8", b"\x89PNG"] {
            assert_eq!(sanitize(input).unwrap_err(), PhotoError::Truncated, "{input:?}");
        }
    }

    #[test]
    fn error_messages_are_plain_english() {
        for e in [PhotoError::NotAPhoto, PhotoError::Truncated, malformed("JPEG segment length is too small")] {
            let msg = e.to_string();
            assert!(msg.len() > 10 && msg.is_ascii(), "{msg}");
        }
    }

    // ---- property tests: never panic, output always clean ------------------

    /// Markers allowed anywhere in a sanitised JPEG.
    fn allowed_marker(marker: u8) -> bool {
        !matches!(marker, 0xE3..=0xED | 0xEF | 0xFE)
    }

    /// Chunk types of a sanitised PNG, which must end with IEND.
    fn png_chunk_types(png: &[u8]) -> Vec<[u8; 4]> {
        let mut pos = PNG_SIGNATURE.len();
        let mut out = Vec::new();
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            out.push(png[pos + 4..pos + 8].try_into().unwrap());
            pos += 12 + len;
        }
        assert_eq!(pos, png.len());
        assert_eq!(out.last(), Some(b"IEND"));
        out
    }

    /// Invariants of any successful result: idempotent, clean header, valid fix.
    fn check_ok(out: &SanitizedPhoto) {
        assert_idempotent(out);
        if let Some(fix) = out.gps {
            assert!(fix.lat.is_finite() && fix.lat.abs() <= 90.0);
            assert!(fix.lng.is_finite() && fix.lng.abs() <= 180.0);
        }
        if out.kind == PhotoKind::Jpeg {
            let segs = header_segments(&out.bytes);
            let app1: Vec<_> = segs.iter().filter(|(m, _)| *m == APP1).collect();
            assert_eq!(app1.len(), usize::from(out.gps.is_some()));
            // The whole file, including between and after scans.
            let all = all_segments(&out.bytes);
            let app1 = all.iter().filter(|(m, _)| *m == APP1).count();
            assert_eq!(app1, usize::from(out.gps.is_some()));
            for (marker, seg) in &all {
                assert!(allowed_marker(*marker), "marker {marker:#x} kept");
                match *marker {
                    0xE0 => assert_eq!(seg.len(), 4 + JFIF_FIXED_LEN),
                    0xE2 => assert!(seg[4..].starts_with(b"ICC_PROFILE\0")),
                    0xEE => assert!(seg[4..].starts_with(b"Adobe")),
                    _ => {}
                }
            }
        } else {
            for kind in png_chunk_types(&out.bytes) {
                assert!(PNG_KEPT_CHUNKS.contains(&&kind), "chunk {kind:?} kept");
            }
        }
    }

    fn mutate(base: &[u8], edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
        let mut v = base.to_vec();
        for &(i, b) in edits {
            let i = i % v.len();
            v[i] = b;
        }
        if let Some(c) = cut {
            v.truncate(c % (v.len() + 1));
        }
        v
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok(out) = sanitize(&input) { check_ok(&out); }
        }

        #[test]
        fn random_jpeg_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let input = [JPEG_SIGNATURE.as_slice(), &body].concat();
            if let Ok(out) = sanitize(&input) { check_ok(&out); }
        }

        #[test]
        fn random_png_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let input = [PNG_SIGNATURE.as_slice(), &body].concat();
            if let Ok(out) = sanitize(&input) { check_ok(&out); }
        }

        #[test]
        fn mutated_jpegs_never_panic(
            le in any::<bool>(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let input = mutate(&shanghai_jpeg(le), &edits, cut);
            if let Ok(out) = sanitize(&input) { check_ok(&out); }
        }

        #[test]
        fn mutated_progressive_jpegs_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let input = mutate(&progressive_jpeg(&metadata_between_scans()), &edits, cut);
            if let Ok(out) = sanitize(&input) { check_ok(&out); }
        }

        #[test]
        fn mutated_whitelisted_pngs_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let input = mutate(&whitelisted_png(), &edits, cut);
            if let Ok(out) = sanitize(&input) { check_ok(&out); }
        }

        #[test]
        fn mutated_pngs_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let input = mutate(&metadata_png(), &edits, cut);
            if let Ok(out) = sanitize(&input) { check_ok(&out); }
        }

        #[test]
        fn any_valid_coordinate_round_trips(
            lat in -90.0f64..=90.0, lng in -180.0f64..=180.0, le in any::<bool>(),
        ) {
            // Encode as whole microdegrees to exercise arbitrary fixes.
            let dms = |v: f64| [((v.abs() * 1e6).round() as u32, 1_000_000), (0, 1), (0, 1)];
            let tiff = exif_tiff(le, if lat < 0.0 { "S" } else { "N" }, dms(lat), if lng < 0.0 { "W" } else { "E" }, dms(lng));
            let out = sanitize(&full_jpeg(&tiff)).unwrap();
            let fix = out.gps.unwrap();
            prop_assert!((fix.lat - lat).abs() < 1e-6 && (fix.lng - lng).abs() < 1e-6);
            check_ok(&out);
        }
    }

    // ---- capture: downscale, re-encode, thumbnail --------------------------

    /// A real photo-like JPEG (gradient and noise), optionally with Exif and a comment after
    /// the JFIF header.
    fn real_jpeg(width: u16, height: u16, quality: u8, exif: Option<&[u8]>) -> Vec<u8> {
        let (w, h) = (usize::from(width), usize::from(height));
        let mut rgb = Vec::with_capacity(w * h * 3);
        let mut z = 0x1234_5678_9abc_def0u64;
        for y in 0..h {
            for x in 0..w {
                z ^= z << 13;
                z ^= z >> 7;
                z ^= z << 17;
                let n = (z & 0x1F) as usize;
                rgb.extend_from_slice(&[(x * 255 / w + n).min(255) as u8, (y * 255 / h) as u8, n as u8 * 4]);
            }
        }
        let mut j = Vec::new();
        jpeg_encoder::Encoder::new(&mut j, quality).encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb).unwrap();
        let mut out = j[..20].to_vec(); // SOI + JFIF APP0
        if let Some(tiff) = exif {
            out.extend_from_slice(&app1_exif(tiff));
        }
        out.extend_from_slice(&seg(0xFE, b"private note"));
        out.extend_from_slice(&j[20..]);
        out
    }

    fn size_of(jpeg: &[u8]) -> (u32, u32) {
        let mut d = jpeg_decoder::Decoder::new(jpeg);
        d.decode().unwrap();
        let i = d.info().unwrap();
        (u32::from(i.width), u32::from(i.height))
    }

    fn orientation_tiff(le: bool, orientation: u16) -> Vec<u8> {
        build_tiff(le, &[Ifd { entries: vec![(0x0112, 3, 1, Val::Data(u16b(le, orientation).to_vec()))], next: None }])
    }

    #[test]
    fn a_large_photo_is_downscaled_reencoded_and_keeps_only_its_location() {
        let input = real_jpeg(2400, 1800, 95, Some(&exif_tiff(true, "N", SHANGHAI_LAT, "E", SHANGHAI_LNG)));
        let expected_gps = sanitize(&input).unwrap().gps.expect("the input has a fix");
        let out = process(&input, &PhotoOptions::default(), false).unwrap();
        assert!(out.reencoded);
        assert_eq!((out.width, out.height), (1600, 1200));
        assert_eq!(size_of(&out.stored.bytes), (1600, 1200));
        assert_eq!(out.stored.kind, PhotoKind::Jpeg);
        assert!(out.stored.bytes.len() < input.len() / 2, "{} vs {}", out.stored.bytes.len(), input.len());
        // The location survives re-encoding, read back from the stored file itself.
        assert_eq!(out.stored.gps, Some(expected_gps));
        assert_eq!(sanitize(&out.stored.bytes).unwrap().gps, Some(expected_gps));
        assert_eq!(sanitize(&out.stored.bytes).unwrap().bytes, out.stored.bytes, "stored in canonical form");
        for secret in [&b"SECRETCAM"[..], b"MAKERSECRET", b"private note", b"2024:05:06"] {
            assert!(!contains(&out.stored.bytes, secret));
            assert!(!contains(&out.thumbnail, secret));
        }
        check_ok(&out.stored);
        // The thumbnail: 320 px on the long side, no metadata at all (not even the location).
        assert_eq!(size_of(&out.thumbnail), (320, 240));
        assert_eq!(sanitize(&out.thumbnail).unwrap().gps, None);
        assert!(out.original.is_none(), "the original is kept only when asked for");
    }

    #[test]
    fn the_original_is_kept_only_when_asked_for() {
        let input = real_jpeg(2000, 1000, 90, Some(&exif_tiff(false, "S", SHANGHAI_LAT, "W", SHANGHAI_LNG)));
        let out = process(&input, &PhotoOptions::default(), true).unwrap();
        let original = out.original.expect("kept");
        assert_eq!(original.bytes, sanitize(&input).unwrap().bytes, "the original is sanitised, full size");
        assert_eq!(size_of(&original.bytes), (2000, 1000));
        assert_eq!(original.gps, out.stored.gps);
        // Nothing to keep when the stored photo is the original.
        let small = real_jpeg(640, 480, 80, None);
        assert!(process(&small, &PhotoOptions::default(), true).unwrap().original.is_none());
    }

    #[test]
    fn a_small_lean_jpeg_is_not_reencoded() {
        let input = real_jpeg(1600, 900, 80, Some(&exif_tiff(true, "N", SHANGHAI_LAT, "E", SHANGHAI_LNG)));
        let out = process(&input, &PhotoOptions::default(), false).unwrap();
        assert!(!out.reencoded);
        assert_eq!(out.stored.bytes, sanitize(&input).unwrap().bytes, "only the metadata went");
        assert!(out.stored.gps.is_some());
        assert_eq!((out.width, out.height), (1600, 900));
        assert_eq!(size_of(&out.thumbnail), (320, 180));
        // A smaller limit makes the same photo go through the encoder.
        let opts = PhotoOptions { max_long_edge: 800, ..PhotoOptions::default() };
        let out = process(&input, &opts, false).unwrap();
        assert!(out.reencoded);
        assert_eq!(size_of(&out.stored.bytes), (800, 450));
    }

    /// Progressive and greyscale JPEGs (some phones and scanners write them) decode and
    /// downscale like baseline colour ones.
    #[test]
    fn progressive_and_grey_jpegs_are_downscaled_too() {
        let (w, h) = (1700u16, 1000u16);
        let rgb: Vec<u8> = (0..usize::from(w) * usize::from(h) * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut progressive = Vec::new();
        let mut e = jpeg_encoder::Encoder::new(&mut progressive, 90);
        e.set_progressive(true);
        e.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
        let grey: Vec<u8> = (0..usize::from(w) * usize::from(h)).map(|i| (i * 13 % 251) as u8).collect();
        let mut luma = Vec::new();
        jpeg_encoder::Encoder::new(&mut luma, 90).encode(&grey, w, h, jpeg_encoder::ColorType::Luma).unwrap();
        for input in [progressive, luma] {
            let out = process(&input, &PhotoOptions::default(), false).unwrap();
            assert!(out.reencoded);
            assert_eq!(size_of(&out.stored.bytes), (1600, 941));
            assert_eq!(size_of(&out.thumbnail), (320, 188));
        }
    }

    #[test]
    fn the_exif_orientation_is_applied_to_the_pixels() {
        for (orientation, size) in [(6, (100, 200)), (8, (100, 200)), (3, (200, 100))] {
            let input = real_jpeg(200, 100, 80, Some(&orientation_tiff(orientation % 2 == 0, orientation)));
            let out = process(&input, &PhotoOptions::default(), false).unwrap();
            assert!(out.reencoded, "{orientation}");
            assert_eq!(size_of(&out.stored.bytes), size, "{orientation}");
            assert_eq!((out.width, out.height), size);
        }
        // Upright photos stay as they are.
        let input = real_jpeg(200, 100, 80, Some(&orientation_tiff(true, 1)));
        assert!(!process(&input, &PhotoOptions::default(), false).unwrap().reencoded);
    }

    fn png_bytes(width: u32, height: u32, color: png::ColorType) -> Vec<u8> {
        let channels = match color {
            png::ColorType::Rgba => 4,
            png::ColorType::Grayscale => 1,
            _ => 3,
        };
        let data: Vec<u8> = (0..width * height * channels).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, width, height);
        e.set_color(color);
        e.set_depth(png::BitDepth::Eight);
        e.write_header().unwrap().write_image_data(&data).unwrap();
        out
    }

    /// PNG input is stored as JPEG (downscaled when needed), transparency over white.
    #[test]
    fn png_photos_are_stored_as_jpeg() {
        let out = process(&png_bytes(2000, 1000, png::ColorType::Rgba), &PhotoOptions::default(), false).unwrap();
        assert_eq!((out.stored.kind, out.stored.kind.mime()), (PhotoKind::Jpeg, "image/jpeg"));
        assert_eq!(size_of(&out.stored.bytes), (1600, 800));
        assert_eq!(size_of(&out.thumbnail), (320, 160));
        let small = process(&png_bytes(300, 200, png::ColorType::Grayscale), &PhotoOptions::default(), false).unwrap();
        assert_eq!((small.stored.kind, size_of(&small.stored.bytes)), (PhotoKind::Jpeg, (300, 200)));
        assert_eq!(small.stored.gps, None);
    }

    #[test]
    fn heic_is_refused_with_a_typed_error() {
        let mut heic = vec![0, 0, 0, 0x18];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        heic.extend_from_slice(&[0u8; 64]);
        let err = process(&heic, &PhotoOptions::default(), false).unwrap_err();
        assert_eq!(err, PhotoError::UnsupportedFormat { format: "HEIC" });
        assert_eq!(err.code(), "unsupported_format");
        assert!(err.to_string().contains("JPEG"), "{err}");
    }

    /// A header declaring 65535 x 65535 pixels is refused before anything is decoded.
    #[test]
    fn too_many_pixels_are_refused_from_the_header() {
        let mut j = real_jpeg(16, 16, 80, None);
        let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        j[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        let err = process(&j, &PhotoOptions::default(), false).unwrap_err();
        assert_eq!(err, PhotoError::TooManyPixels { width: 65535, height: 65535, max_megapixels: 100 });
    }

    #[test]
    fn truncated_and_garbage_photos_are_errors_not_panics() {
        let good = real_jpeg(256, 192, 85, None);
        // Cut inside the scan, inside the header, and garbage in the scan.
        for cut in [good.len() / 2, 40, 100, 300] {
            match process(&good[..cut], &PhotoOptions::default(), false) {
                Ok(out) => check_ok(&out.stored),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        let header_end = good.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap() + 14;
        let mut garbage = good[..header_end].to_vec();
        garbage.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0xFE));
        if let Ok(out) = process(&garbage, &PhotoOptions::default(), false) {
            check_ok(&out.stored);
        }
        assert_eq!(
            process(b"garbage, not a photo", &PhotoOptions::default(), false).unwrap_err(),
            PhotoError::NotAPhoto
        );
        let png = png_bytes(64, 64, png::ColorType::Rgb);
        assert!(process(&png[..png.len() - 30], &PhotoOptions::default(), false).is_err());
    }

    #[test]
    fn photo_options_are_checked() {
        assert!(PhotoOptions::default().validate().is_ok());
        let bad = [
            (PhotoOptions { max_long_edge: 100, ..PhotoOptions::default() }, "photos.max_long_edge"),
            (PhotoOptions { jpeg_quality: 0, ..PhotoOptions::default() }, "photos.jpeg_quality"),
            (PhotoOptions { jpeg_quality: 101, ..PhotoOptions::default() }, "photos.jpeg_quality"),
            (PhotoOptions { thumbnail_long_edge: 2000, ..PhotoOptions::default() }, "photos.thumbnail_long_edge"),
        ];
        for (opts, field) in bad {
            match opts.validate() {
                Err(crate::CoreError::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Decoding untrusted input never panics: real JPEGs with bytes changed or cut.
        #[test]
        fn mutated_real_jpegs_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let input = mutate(&real_jpeg(48, 32, 80, None), &edits, cut);
            if let Ok(out) = process(&input, &PhotoOptions::default(), false) {
                check_ok(&out.stored);
            }
        }

        #[test]
        fn mutated_pngs_never_panic_when_decoded(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let input = mutate(&png_bytes(24, 16, png::ColorType::Rgb), &edits, None);
            let _ = process(&input, &PhotoOptions::default(), false);
        }
    }
}
