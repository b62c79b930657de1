//! Exponential backoff with full jitter (AWS architecture blog's "full jitter"): the n-th retry
//! waits a uniformly random time in [0, min(cap, base * 2^n)], and never less than HQ's
//! `Retry-After`. Jitter keeps a street's phones from retrying in lockstep after an outage.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self.base.saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX));
        let ceiling = exp.min(self.cap);
        let jittered = ceiling.mul_f64(fastrand::f64());
        match retry_after {
            Some(r) => jittered.max(r.min(self.cap.max(r))),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_the_growing_ceiling_and_respect_retry_after() {
        let b = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(5) };
        for attempt in 0..40 {
            let d = b.delay(attempt, None);
            let ceiling = Duration::from_millis(100).saturating_mul(1 << attempt.min(30)).min(b.cap);
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
        assert!(b.delay(0, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        // Full jitter: not always the same value.
        let samples: std::collections::HashSet<_> = (0..20).map(|_| b.delay(5, None)).collect();
        assert!(samples.len() > 1);
    }
}
