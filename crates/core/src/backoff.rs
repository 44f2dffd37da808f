//! Exponential backoff with full jitter inside a deadline: the one retry schedule the NAVER and
//! Sheets clients share (AWS's "exponential backoff and jitter"; Google's advice for Sheets is
//! the same shape). Full jitter spreads concurrent Map iterations apart instead of retrying in
//! lock step.
//!
//! What it does not decide: which failures are worth retrying. Each client keeps its own rule
//! (NAVER's gateway codes, Google's statuses); this only says how long to wait, and when waiting
//! would pass the deadline, that it is time to give up.

use std::time::{Duration, Instant};

/// The n-th wait is uniform in `[0, min(cap, base·2ⁿ)]`, and none reaches past the deadline.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    deadline: Instant,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, deadline: Instant) -> Self {
        Backoff {
            base,
            cap,
            deadline,
            attempt: 0,
        }
    }

    /// The wait before the next attempt, or `None` when sleeping it would reach the deadline
    /// (the caller then reports what the last attempt saw).
    pub fn next_delay(&mut self) -> Option<Duration> {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.cap);
        self.attempt += 1;
        let delay = ceiling.mul_f64(fastrand::f64());
        (Instant::now() + delay < self.deadline).then_some(delay)
    }

    /// How many waits were handed out (= failed attempts so far).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_bounded_growing_and_jittered() {
        let far = Instant::now() + Duration::from_secs(3600);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2), far);
        let delays: Vec<_> = (0..12)
            .map(|_| b.next_delay().expect("far deadline"))
            .collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        assert!(delays[..2].iter().all(|d| *d <= Duration::from_millis(200)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 6, "jittered: {delays:?}");
        assert_eq!(b.attempts(), 12);
    }

    #[test]
    fn no_wait_reaches_the_deadline() {
        let past = Instant::now();
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1), past);
        assert_eq!(b.next_delay(), None);
        assert_eq!(b.next_delay(), None, "and stays so");
    }
}
