//! Hybrid logical clock. Device wall clocks can be in 1970 or 2099; the HLC never goes
//! backwards, so a clock that jumps back cannot reorder what this device recorded. The
//! device's raw capture time is still kept beside it as data (docs/SYNC.md, guarantee 7).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Hlc {
    pub wall_ms: i64,
    pub counter: u32,
}

impl Hlc {
    /// The next timestamp after `self`, given the device's current wall clock reading.
    pub fn tick(self, now_ms: i64) -> Hlc {
        if now_ms > self.wall_ms {
            Hlc { wall_ms: now_ms, counter: 0 }
        } else {
            Hlc { wall_ms: self.wall_ms, counter: self.counter.saturating_add(1) }
        }
    }

    /// Merge a remote timestamp (HQ's time on a response): the result is after both.
    pub fn observe(self, remote: Hlc, now_ms: i64) -> Hlc {
        let wall = self.wall_ms.max(remote.wall_ms).max(now_ms);
        let counter = if wall == self.wall_ms && wall == remote.wall_ms {
            self.counter.max(remote.counter).saturating_add(1)
        } else if wall == self.wall_ms {
            self.counter.saturating_add(1)
        } else if wall == remote.wall_ms {
            remote.counter.saturating_add(1)
        } else {
            0
        };
        Hlc { wall_ms: wall, counter }
    }

    /// Parse the `encode()` form.
    pub fn parse(s: &str) -> Option<Hlc> {
        let (w, c) = s.split_once('-')?;
        Some(Hlc { wall_ms: w.parse().ok()?, counter: c.parse().ok()? })
    }
}

impl fmt::Display for Hlc {
    /// Fixed-width so that string order equals timestamp order (useful in SQL and on the wire).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:015}-{:06}", self.wall_ms.max(0), self.counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_going_back_to_1970_does_not_go_backwards() {
        let t1 = Hlc::default().tick(1_764_000_000_000);
        let t2 = t1.tick(0);
        let t3 = t2.tick(5);
        assert!(t1 < t2 && t2 < t3);
        assert!(t1.to_string() < t2.to_string() && t2.to_string() < t3.to_string());
        assert_eq!(Hlc::parse(&t3.to_string()), Some(t3));
    }

    #[test]
    fn observe_is_after_both() {
        let local = Hlc { wall_ms: 100, counter: 3 };
        let remote = Hlc { wall_ms: 200, counter: 1 };
        let m = local.observe(remote, 50);
        assert!(m > local && m > remote);
        let m2 = m.observe(Hlc { wall_ms: 200, counter: 9 }, 0);
        assert!(m2 > m && m2.counter == 10);
    }
}
