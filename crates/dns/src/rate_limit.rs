//! A per-source rate limit: a token bucket per client address, so a flood from one source
//! is dropped while the others are answered. The table is bounded: when it is full it
//! starts over (every source gets a fresh budget), so spoofed sources cannot grow memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Sources tracked at once.
const MAX_SOURCES: usize = 65_536;

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    /// Queries per second per source; 0: no limit. The burst is one second's worth.
    per_second: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        RateLimiter {
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a query from `source` may be answered now.
    pub fn allow(&self, source: IpAddr) -> bool {
        self.allow_at(source, Instant::now())
    }

    fn allow_at(&self, source: IpAddr, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let rate = f64::from(self.per_second);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(&source) {
            buckets.clear();
        }
        let bucket = buckets.entry(source).or_insert(Bucket {
            tokens: rate,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Sources tracked now (for tests).
    pub fn sources(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_flooding_source_is_cut_off_and_others_are_not() {
        let limiter = RateLimiter::new(10);
        let now = Instant::now();
        let flood: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let allowed = (0..100).filter(|_| limiter.allow_at(flood, now)).count();
        assert_eq!(allowed, 10, "one second's burst");
        assert!(limiter.allow_at(other, now));
        // A second later the flooding source has its budget back.
        assert!(limiter.allow_at(flood, now + Duration::from_secs(1)));
    }

    #[test]
    fn no_limit_tracks_nothing_and_the_table_is_bounded() {
        let open = RateLimiter::new(0);
        assert!(open.allow("10.0.0.1".parse().unwrap()));
        assert_eq!(open.sources(), 0);
        let limiter = RateLimiter::new(5);
        let now = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 10) {
            limiter.allow_at(IpAddr::from(i.to_be_bytes()), now);
        }
        assert!(limiter.sources() <= MAX_SOURCES);
    }
}
