//! "Now", injectable: every piece of logic that compares with the current time (window
//! clamping, request validation, token timestamps, lease expiry, the fakes' "no future date"
//! rules) asks a [`Clock`] instead of the system, so a test pins the instant or moves it and
//! no test result depends on the hour, the date or the machine's speed.
//!
//! [`SystemClock`] is what the Lambdas and the CLI use. [`ManualClock`] is a clock a test sets
//! and advances; several parties (a client and the fake it talks to) can share one.
//!
//! Durations (retry backoff, deadlines, token lifetimes) are measured with the monotonic
//! `Instant`, not with a clock: they never compare with a calendar time.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock, shared.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that reads what it was set to; clones share the same instant.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn at(instant: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(instant)))
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        *self.lock() = instant;
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock only means a test panicked while holding it; the instant is intact.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManualClock({})", self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_is_shared_by_its_clones_and_moves_only_when_told() {
        let t = DateTime::parse_from_rfc3339("2026-12-31T23:59:00+09:00")
            .unwrap()
            .to_utc();
        let clock = ManualClock::at(t);
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        assert_eq!(shared.now(), t);
        clock.advance(TimeDelta::minutes(2));
        assert_eq!(shared.now(), t + TimeDelta::minutes(2));
        clock.set(t);
        assert_eq!(shared.now(), t);
    }
}
