//! Token buckets per credential (per client address before there is one). The state is per
//! HQ instance: it protects the instance, and correctness never depends on it.

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
