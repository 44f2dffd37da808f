//! A client-side token bucket that follows NAVER's `GNCP-GW-RateLimit-*` headers.
//!
//! NAVER limits each API per application with a token bucket (burst = 2 × rate) and reports the
//! rate, the burst and what remains on every answer. We mirror that bucket per API path: the
//! headers set its rate and size, `Remaining` resets our count, and a request waits until a
//! token is there. So a run spends its time waiting on the client instead of collecting 429s,
//! and never hard-codes a rate (NAVER changes them). Before the first answer nothing is known
//! and nothing waits.
//!
//! Several processes with the same application (the Map's concurrent import instances) share
//! NAVER's bucket; each limiter then keeps to its `share` of the rate and burst, so together
//! they stay inside it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.updated = now;
    }
}

pub struct RateLimiter {
    buckets: Mutex<HashMap<&'static str, Bucket>>,
    /// The part of the application's rate this client uses, in (0, 1], as `f64` bits (an
    /// execution's import may run with fewer others than the last one).
    share: AtomicU64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::with_share(1.0)
    }
}

/// A share in (0, 1]; anything else (zero, negative, not a number) is the whole rate.
fn valid_share(share: f64) -> f64 {
    if share.is_finite() && share > 0.0 {
        share.min(1.0)
    } else {
        1.0
    }
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl RateLimiter {
    /// A limiter that uses `share` of each bucket (clamped to (0, 1]; not a number → 1).
    pub fn with_share(share: f64) -> Self {
        RateLimiter {
            buckets: Mutex::default(),
            share: AtomicU64::new(valid_share(share).to_bits()),
        }
    }

    /// Uses `share` of each bucket from the next answer on (clamped as in [`Self::with_share`]).
    pub fn set_share(&self, share: f64) {
        self.share
            .store(valid_share(share).to_bits(), Ordering::Relaxed);
    }

    pub fn share(&self) -> f64 {
        f64::from_bits(self.share.load(Ordering::Relaxed))
    }

    /// How long to wait before a request on `api` may go; takes the token when it is zero.
    pub fn reserve(&self, api: &'static str) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = buckets.get_mut(api) else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        bucket.refill(now);
        // Take the token now, even if it is not there yet: the debt is the wait.
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / bucket.rate)
        }
    }

    /// Learns from an answer's headers; `limited` marks a 429 (nothing left).
    pub fn observe(&self, api: &'static str, headers: &HeaderMap, limited: bool) {
        let share = self.share();
        let rate = header_f64(headers, "GNCP-GW-RateLimit-Replenish-Rate")
            .filter(|r| *r > 0.0)
            .map(|r| r * share);
        // At least one token, or a small share could never send anything.
        let burst = header_f64(headers, "GNCP-GW-RateLimit-Burst-Capacity")
            .filter(|b| *b > 0.0)
            .map(|b| (b * share).max(1.0));
        let remaining = header_f64(headers, "GNCP-GW-RateLimit-Remaining");
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let bucket = match (buckets.get_mut(api), rate) {
            (Some(b), _) => b,
            (None, Some(rate)) => buckets.entry(api).or_insert(Bucket {
                rate,
                capacity: burst.unwrap_or(rate * 2.0),
                tokens: burst.unwrap_or(rate * 2.0),
                updated: now,
            }),
            (None, None) => return,
        };
        bucket.refill(now);
        if let Some(rate) = rate {
            bucket.rate = rate;
        }
        if let Some(burst) = burst {
            bucket.capacity = burst;
        }
        if let Some(remaining) = remaining {
            // The server's count is the truth; keep any debt already promised to waiters. It is
            // the application's count, shared with the other instances: this one may spend its
            // share of it. (Taking all of it, two instances that start together each spent the
            // burst the other had already used, and NAVER answered 429.)
            bucket.tokens = bucket.tokens.min(remaining * share);
        }
        if limited {
            bucket.tokens = bucket.tokens.min(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(rate: &str, burst: &str, remaining: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("GNCP-GW-RateLimit-Replenish-Rate", rate.parse().unwrap());
        h.insert("GNCP-GW-RateLimit-Burst-Capacity", burst.parse().unwrap());
        h.insert("GNCP-GW-RateLimit-Remaining", remaining.parse().unwrap());
        h
    }

    #[test]
    fn nothing_waits_until_the_server_speaks() {
        let limiter = RateLimiter::default();
        assert_eq!(limiter.reserve("feed"), Duration::ZERO);
    }

    #[test]
    fn waits_follow_rate_once_remaining_is_spent() {
        let limiter = RateLimiter::default();
        limiter.observe("feed", &headers("10", "20", "1"), false);
        assert_eq!(limiter.reserve("feed"), Duration::ZERO);
        let wait = limiter.reserve("feed");
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(101),
            "{wait:?}"
        );
        let next = limiter.reserve("feed");
        assert!(
            next > Duration::from_millis(190),
            "debts queue up: {next:?}"
        );
        // Other APIs have their own bucket.
        assert_eq!(limiter.reserve("details"), Duration::ZERO);
    }

    #[test]
    fn instances_that_start_together_spend_only_their_share_of_what_remains() {
        // NAVER at 2 req/s, burst 4; two instances at half each. Their first calls went out
        // before either knew the bucket; the answers say 3 and then 2 remain.
        let (a, b) = (RateLimiter::with_share(0.5), RateLimiter::with_share(0.5));
        a.observe("feed", &headers("2", "4", "3"), false);
        b.observe("feed", &headers("2", "4", "2"), false);
        let mut sent = 0;
        for limiter in [&a, &b] {
            while limiter.reserve("feed") == Duration::ZERO {
                sent += 1;
            }
        }
        assert!(sent <= 2, "{sent} calls at once where 2 remained");
        assert!(sent >= 1, "an instance with tokens left sends");
    }

    #[test]
    fn a_new_share_applies_from_the_next_answer() {
        // Configured for two instances; this execution's Map runs one: the whole rate.
        let limiter = RateLimiter::with_share(0.5);
        limiter.set_share(1.0);
        limiter.observe("details", &headers("2", "4", "4"), false);
        for _ in 0..4 {
            assert_eq!(limiter.reserve("details"), Duration::ZERO);
        }
        let wait = limiter.reserve("details");
        assert!(
            wait > Duration::from_millis(490) && wait <= Duration::from_millis(501),
            "one more token at 2/s: {wait:?}"
        );
        limiter.set_share(f64::NAN);
        assert_eq!(limiter.share(), 1.0);
    }

    #[test]
    fn a_429_empties_the_bucket() {
        let limiter = RateLimiter::default();
        limiter.observe("feed", &headers("5", "10", "10"), false);
        limiter.observe("feed", &HeaderMap::new(), true);
        assert!(limiter.reserve("feed") >= Duration::from_millis(190));
    }

    #[test]
    fn a_share_keeps_to_its_part_of_rate_and_burst() {
        // Two instances at half each: 10 req/s, burst 20 becomes 5 req/s, burst 10 apiece.
        let limiter = RateLimiter::with_share(0.5);
        limiter.observe("details", &headers("10", "20", "20"), false);
        for _ in 0..10 {
            assert_eq!(limiter.reserve("details"), Duration::ZERO);
        }
        let wait = limiter.reserve("details");
        assert!(
            wait > Duration::from_millis(190) && wait <= Duration::from_millis(201),
            "{wait:?}"
        );
        // Nonsense shares mean the whole rate; a tiny one still has one token.
        for share in [0.0, -1.0, f64::NAN, 7.0] {
            assert_eq!(RateLimiter::with_share(share).share(), 1.0, "{share}");
        }
        // 20 remain, 0.2 of them this instance's: it waits for the rest of its token (8 s at
        // its 0.1/s), then sends one at a time.
        let tiny = RateLimiter::with_share(0.01);
        tiny.observe("feed", &headers("10", "20", "20"), false);
        let wait = tiny.reserve("feed");
        assert!(
            wait > Duration::from_millis(7_900) && wait <= Duration::from_secs(8),
            "{wait:?}"
        );
    }
}
