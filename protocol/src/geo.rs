//! Grid boundaries: a check-in outside the worker's grid is recorded and flagged, never refused.

use crate::domain::GeoPoint;
use crate::{InvalidValue, Result};

/// A grid boundary ring in GeoJSON order: `[lng, lat]` pairs.
pub type Ring = Vec<[f64; 2]>;

pub fn validate_ring(field: &str, ring: &Ring) -> Result<()> {
    if ring.len() < 3 || ring.len() > 10_000 {
        return Err(InvalidValue::new(field, "a boundary needs 3..10000 points"));
    }
    for (i, [lng, lat]) in ring.iter().enumerate() {
        GeoPoint { lat: *lat, lng: *lng }.validate(&format!("{field}[{i}]"))?;
    }
    Ok(())
}

/// Even-odd ray casting. Points on the edge count as inside (a worker standing on the
/// boundary street is in the grid).
pub fn contains(ring: &Ring, p: GeoPoint) -> bool {
    let (x, y) = (p.lng, p.lat);
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let [xi, yi] = ring[i];
        let [xj, yj] = ring[j];
        if on_segment(x, y, xi, yi, xj, yj) {
            return true;
        }
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn on_segment(x: f64, y: f64, x1: f64, y1: f64, x2: f64, y2: f64) -> bool {
    let cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1);
    cross.abs() < 1e-12 && x >= x1.min(x2) && x <= x1.max(x2) && y >= y1.min(y2) && y <= y1.max(y2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Ring {
        vec![[121.0, 31.0], [121.01, 31.0], [121.01, 31.01], [121.0, 31.01]]
    }

    #[test]
    fn inside_outside_edge() {
        let r = square();
        assert!(contains(&r, GeoPoint { lat: 31.005, lng: 121.005 }));
        assert!(!contains(&r, GeoPoint { lat: 31.02, lng: 121.005 }));
        assert!(contains(&r, GeoPoint { lat: 31.0, lng: 121.005 }));
    }

    #[test]
    fn bad_rings_refused() {
        assert!(validate_ring("b", &vec![[0.0, 0.0]]).is_err());
        assert!(validate_ring("b", &vec![[0.0, 0.0], [1.0, 95.0], [2.0, 0.0]]).is_err());
        assert!(validate_ring("b", &square()).is_ok());
    }
}
