//! Token buckets per credential (per client address before there is one). On SQLite (one HQ
//! process per data folder) they live in the instance's memory; on PostgreSQL, where several
//! instances share the database, in its `rate_bucket` table, so that a device gets one limit
//! whichever instance it reaches (`check_shared`). Correctness never depends on either.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Forget buckets when there are this many (they refill to full after a quiet while anyway).
const MAX_BUCKETS: usize = 50_000;

impl RateLimiter {
    pub fn new() -> RateLimiter {
        RateLimiter { buckets: Mutex::new(HashMap::new()) }
    }

    /// Take one token from `key`'s bucket of `burst` tokens refilled at `per_second`.
    /// `Err(seconds)` says when to retry.
    pub fn check(&self, key: &str, (burst, per_second): (u32, f64)) -> Result<(), u64> {
        let now = Instant::now();
        let burst = f64::from(burst.max(1));
        let rate = if per_second > 0.0 { per_second } else { 1e-9 };
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_BUCKETS && !map.contains_key(key) {
            map.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
            if map.len() >= MAX_BUCKETS {
                map.clear();
            }
        }
        let b = map.entry(key.to_string()).or_insert(Bucket { tokens: burst, last: now });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Take one token from `key`'s bucket in the database (one statement, the row locked for its
/// duration): `Ok(Err(seconds))` says when to retry.
pub fn check_shared(
    tx: &mut dyn crate::db::Tx,
    key: &str,
    (burst, per_second): (u32, f64),
    now_ms: i64,
) -> crate::db::DbResult<Result<(), u64>> {
    let burst = f64::from(burst.max(1));
    let rate = if per_second > 0.0 { per_second } else { 1e-9 };
    // Refill by the time since the last take, cap at the burst, take one; never below -1, so
    // a refused client recovers after one token's time.
    let tokens = tx.query_one(
        // Typed casts: PostgreSQL would otherwise infer `numeric` for the parameters.
        "INSERT INTO rate_bucket (key, tokens, at_ms) VALUES (?, CAST(? AS DOUBLE PRECISION), ?)
         ON CONFLICT (key) DO UPDATE SET
             tokens = GREATEST(LEAST(CAST(? AS DOUBLE PRECISION),
                 rate_bucket.tokens + (excluded.at_ms - rate_bucket.at_ms) * CAST(? AS DOUBLE PRECISION) / 1000) - 1, -1),
             at_ms = excluded.at_ms
         RETURNING tokens",
        crate::p![key, burst - 1.0, now_ms, burst, rate],
    )?;
    let left = tokens.f64(0)?;
    Ok(if left >= 0.0 { Ok(()) } else { Err(((0.0 - left) / rate).ceil().max(1.0) as u64) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_with_retry_after() {
        let l = RateLimiter::new();
        for _ in 0..3 {
            assert!(l.check("a", (3, 0.5)).is_ok());
        }
        assert_eq!(l.check("a", (3, 0.5)), Err(2));
        assert!(l.check("b", (3, 0.5)).is_ok(), "buckets are per key");
    }
}
