//! Positions from Chinese map SDKs, moved onto WGS-84 before anything checks or stores them.
//!
//! GCJ-02 is WGS-84 plus a published, deterministic offset (on the Krasovsky ellipsoid) applied
//! inside mainland China; BD-09 is GCJ-02 with a further rotation and shift. The forward
//! transforms are closed formulas; going back to WGS-84 is solved by fixed-point iteration on
//! the forward one, which converges to well under a centimetre in a few steps. A worker's
//! check-in is then judged against the grid boundary in the same system the boundary was
//! drawn in (WGS-84), instead of hundreds of metres off.

use std::f64::consts::PI;

use crate::domain::{Datum, GeoPoint};

/// Krasovsky 1940: the ellipsoid the GCJ-02 offset is defined on.
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// BD-09's rotation constant.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// The position in WGS-84, from a position given in `datum`.
pub fn to_wgs84(p: GeoPoint, datum: Datum) -> GeoPoint {
    match datum {
        Datum::Wgs84 => p,
        Datum::Gcj02 => gcj02_to_wgs84(p),
        Datum::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(p)),
    }
}

/// The position in `datum`, from WGS-84 (what a map SDK would show for it).
pub fn from_wgs84(p: GeoPoint, datum: Datum) -> GeoPoint {
    match datum {
        Datum::Wgs84 => p,
        Datum::Gcj02 => wgs84_to_gcj02(p),
        Datum::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(p)),
    }
}

/// Great-circle distance in metres (mean Earth radius): for tests and plausibility checks.
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    const R: f64 = 6_371_008.8;
    let (la, lb) = (a.lat.to_radians(), b.lat.to_radians());
    let h = ((lb - la) / 2.0).sin().powi(2) + la.cos() * lb.cos() * ((b.lng - a.lng).to_radians() / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

/// The offset applies only inside mainland China's bounding box; elsewhere GCJ-02 is WGS-84.
fn offset_applies(p: GeoPoint) -> bool {
    (72.004..=137.8347).contains(&p.lng) && (0.8293..=55.8271).contains(&p.lat)
}

fn wgs84_to_gcj02(p: GeoPoint) -> GeoPoint {
    if !offset_applies(p) {
        return p;
    }
    let (dlat, dlng) = offset(p);
    GeoPoint { lat: p.lat + dlat, lng: p.lng + dlng }
}

/// Iterate `w ← w − (gcj(w) − target)` from the target itself.
fn gcj02_to_wgs84(g: GeoPoint) -> GeoPoint {
    if !offset_applies(g) {
        return g;
    }
    let mut w = g;
    for _ in 0..30 {
        let f = wgs84_to_gcj02(w);
        let (dlat, dlng) = (f.lat - g.lat, f.lng - g.lng);
        w = GeoPoint { lat: w.lat - dlat, lng: w.lng - dlng };
        if dlat.abs() < 1e-10 && dlng.abs() < 1e-10 {
            break;
        }
    }
    w
}

/// The GCJ-02 offset in degrees (lat, lng) at a WGS-84 position.
fn offset(p: GeoPoint) -> (f64, f64) {
    let (x, y) = (p.lng - 105.0, p.lat - 35.0);
    let shared = (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt() + shared;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt() + shared;
    dlng += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlng += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = p.lat.to_radians();
    let magic = 1.0 - KRASOVSKY_EE * rad.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = dlat * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlng = dlng * 180.0 / (KRASOVSKY_A / sqrt_magic * rad.cos() * PI);
    (dlat, dlng)
}

fn gcj02_to_bd09(g: GeoPoint) -> GeoPoint {
    let (x, y) = (g.lng, g.lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    GeoPoint { lat: z * theta.sin() + 0.006, lng: z * theta.cos() + 0.0065 }
}

/// The closed-form inverse is approximate; a few fixed-point steps on the forward transform
/// make it exact to well under a centimetre.
fn bd09_to_gcj02(b: GeoPoint) -> GeoPoint {
    let (x, y) = (b.lng - 0.0065, b.lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    let mut g = GeoPoint { lat: z * theta.sin(), lng: z * theta.cos() };
    for _ in 0..10 {
        let f = gcj02_to_bd09(g);
        g = GeoPoint { lat: g.lat - (f.lat - b.lat), lng: g.lng - (f.lng - b.lng) };
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(lat: f64, lng: f64) -> GeoPoint {
        GeoPoint { lat, lng }
    }

    /// Published reference pairs (WGS-84 → GCJ-02) used by the common open implementations'
    /// own tests: Shanghai, Shenzhen, Beijing, Jiaxing.
    const WGS_GCJ: [((f64, f64), (f64, f64)); 4] = [
        ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
        ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
        ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
        ((30.6107779, 121.0917077), (30.608604331756705, 121.09626935575027)),
    ];

    #[test]
    fn gcj02_matches_the_reference_points_both_ways_within_2_m() {
        for ((wlat, wlng), (glat, glng)) in WGS_GCJ {
            let (w, g) = (pt(wlat, wlng), pt(glat, glng));
            assert!(distance_m(from_wgs84(w, Datum::Gcj02), g) < 0.01, "{w:?}");
            assert!(distance_m(to_wgs84(g, Datum::Gcj02), w) < 2.0, "{g:?}");
            assert!(distance_m(to_wgs84(from_wgs84(w, Datum::Gcj02), Datum::Gcj02), w) < 0.01, "round trip {w:?}");
            assert!(distance_m(w, g) > 100.0, "the offset is real: {} m", distance_m(w, g));
        }
    }

    #[test]
    fn bd09_matches_the_reference_points_within_2_m() {
        // Published reference values: GCJ-02 (39.915, 116.404) ↔ BD-09 in Beijing, and
        // WGS-84 → BD-09 near Jiaxing.
        let (g, b) = (pt(39.915, 116.404), pt(39.92133699351021, 116.41036949371029));
        assert!(distance_m(gcj02_to_bd09(g), b) < 0.01);
        assert!(distance_m(bd09_to_gcj02(b), g) < 0.01);
        assert!(distance_m(bd09_to_gcj02(g), pt(39.90865673957631, 116.39762729119315)) < 2.0);
        assert!(distance_m(to_wgs84(b, Datum::Bd09), to_wgs84(g, Datum::Gcj02)) < 0.01);
        let w = pt(30.6107779, 121.0917077);
        assert!(distance_m(from_wgs84(w, Datum::Bd09), pt(30.61484572185035, 121.10271732371203)) < 2.0);
        assert!(distance_m(to_wgs84(from_wgs84(w, Datum::Bd09), Datum::Bd09), w) < 0.01);
    }

    #[test]
    fn outside_china_nothing_moves() {
        let paris = pt(48.8566, 2.3522);
        assert_eq!(to_wgs84(paris, Datum::Gcj02), paris);
        assert_eq!(from_wgs84(paris, Datum::Gcj02), paris);
        assert_eq!(to_wgs84(paris, Datum::Wgs84), paris);
    }
}
