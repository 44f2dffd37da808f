//! Import windows: half-open `[from, to)` spans of at most 24 hours, the unit NAVER's change feed
//! can be asked for, and the unit each Map iteration of the state machine works on.
//!
//! Splitting a requested range into windows is a pure function here so the planner, the local
//! runner and tests agree on it. Fetching is not done here.

use chrono::{DateTime, FixedOffset, TimeDelta};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::time::{format_key, kst};

/// The longest window NAVER's change feed answers for in one call sequence.
pub const MAX_WINDOW: TimeDelta = TimeDelta::hours(24);

/// One import window, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Inclusive start (RFC 3339).
    pub from: DateTime<FixedOffset>,
    /// Exclusive end (RFC 3339).
    pub to: DateTime<FixedOffset>,
}

/// A window that breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("window.to is not after window.from")]
    Empty,
    #[error("window is {minutes} minutes long; a window may span at most 24 h (1440 minutes)")]
    TooLong { minutes: i64 },
}

impl Window {
    pub fn new(
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> Result<Self, WindowError> {
        let window = Window { from, to };
        window.check()?;
        Ok(window)
    }

    /// Checks a window that arrived from outside (a stage event).
    pub fn check(&self) -> Result<(), WindowError> {
        let span = self.to.signed_duration_since(self.from);
        if span <= TimeDelta::zero() {
            return Err(WindowError::Empty);
        }
        if span > MAX_WINDOW {
            return Err(WindowError::TooLong {
                minutes: span.num_minutes(),
            });
        }
        Ok(())
    }

    /// A stable, key-safe id: `20261101T000000-20261102T000000` (KST). Equal windows get equal
    /// ids whatever offset they were written with, so a rerun finds its own objects.
    pub fn id(&self) -> String {
        format!("{}-{}", format_key(&self.from), format_key(&self.to))
    }
}

/// Splits `[from, to)` into consecutive windows of at most `max` (aligned to `from`), in KST.
/// An empty or inverted range gives no windows.
pub fn split(
    from: DateTime<FixedOffset>,
    to: DateTime<FixedOffset>,
    max: TimeDelta,
) -> Vec<Window> {
    let max = max.clamp(TimeDelta::seconds(1), MAX_WINDOW);
    let (mut start, end) = (from.with_timezone(&kst()), to.with_timezone(&kst()));
    let mut windows = Vec::new();
    while start < end {
        let stop = (start + max).min(end);
        windows.push(Window {
            from: start,
            to: stop,
        });
        start = stop;
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DateOnly, parse_instant};
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        parse_instant(s, DateOnly::StartOfDay).unwrap()
    }

    #[test]
    fn splits_into_day_windows_with_a_short_tail() {
        let windows = split(
            at("2026-11-01"),
            at("2026-11-03T06:00:00+09:00"),
            MAX_WINDOW,
        );
        let ids: Vec<_> = windows.iter().map(Window::id).collect();
        assert_eq!(
            ids,
            [
                "20261101T000000-20261102T000000",
                "20261102T000000-20261103T000000",
                "20261103T000000-20261103T060000"
            ]
        );
    }

    #[test]
    fn id_ignores_the_offset_it_was_written_with() {
        let a = Window::new(
            at("2026-11-01T00:00:00+09:00"),
            at("2026-11-01T12:00:00+09:00"),
        )
        .unwrap();
        let b = Window::new(at("2026-10-31T15:00:00Z"), at("2026-11-01T03:00:00Z")).unwrap();
        assert_eq!(a.id(), b.id());
    }

    #[test]
    fn rejects_empty_and_long_windows() {
        assert_eq!(
            Window::new(at("2026-11-02"), at("2026-11-01")),
            Err(WindowError::Empty)
        );
        assert!(matches!(
            Window::new(at("2026-11-01"), at("2026-11-02T00:00:01+09:00")),
            Err(WindowError::TooLong { .. })
        ));
    }

    proptest! {
        #[test]
        fn windows_tile_the_range(start in 0i64..2_000_000_000, len in 0i64..40 * 86_400, step_h in 1i64..=24) {
            let from = DateTime::from_timestamp(start, 0).unwrap().fixed_offset();
            let to = from + TimeDelta::seconds(len);
            let windows = split(from, to, TimeDelta::hours(step_h));
            if len == 0 { prop_assert!(windows.is_empty()); } else {
                prop_assert_eq!(windows[0].from, from);
                prop_assert_eq!(windows.last().unwrap().to, to);
            }
            for pair in windows.windows(2) { prop_assert_eq!(pair[0].to, pair[1].from); }
            for w in &windows { prop_assert!(w.check().is_ok()); }
        }
    }
}
