//! Per-account request quotas over a sliding window, like the Sheets API's "requests per minute
//! per user" (a service account is one user). Every request admitted counts, whatever its
//! outcome; a refused request does not.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A sliding-window counter per account.
pub(crate) struct Quota {
    limit: u32,
    window: Duration,
    admitted: HashMap<String, VecDeque<Instant>>,
}

impl Quota {
    pub(crate) fn new(limit: u32, window: Duration) -> Quota {
        Quota {
            limit,
            window,
            admitted: HashMap::new(),
        }
    }

    /// Admits one request for `account` at `now`, or refuses it when `limit` requests were
    /// admitted within the last `window`.
    pub(crate) fn try_admit(&mut self, account: &str, now: Instant) -> bool {
        let log = self.admitted.entry(account.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= self.window)
        {
            log.pop_front();
        }
        if log.len() >= self.limit as usize {
            return false;
        }
        log.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_over_limit_and_recovers_after_the_window() {
        let mut quota = Quota::new(2, Duration::from_secs(1));
        let t0 = Instant::now();
        assert!(quota.try_admit("sa", t0));
        assert!(quota.try_admit("sa", t0 + Duration::from_millis(100)));
        assert!(!quota.try_admit("sa", t0 + Duration::from_millis(200)));
        assert!(quota.try_admit("other", t0 + Duration::from_millis(200)));
        assert!(quota.try_admit("sa", t0 + Duration::from_millis(1000)));
        assert!(!quota.try_admit("sa", t0 + Duration::from_millis(1050)));
        assert!(quota.try_admit("sa", t0 + Duration::from_millis(1100)));
    }
}
