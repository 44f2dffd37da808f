//! How long a stage may keep retrying: Lambda's deadline less a margin to store results,
//! release locks and answer. Local runs (no deadline) get Lambda's maximum, 15 minutes.

use std::time::{Duration, Instant};

/// The instant to stop retrying, from Lambda's deadline in ms since the epoch (0 = none).
pub fn deadline_from(deadline_ms: u64, margin: Duration) -> Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let remaining = match deadline_ms {
        0 => Duration::from_secs(15 * 60),
        ms => Duration::from_millis(ms.saturating_sub(now_ms)),
    };
    Instant::now() + remaining.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_kept_back_and_no_deadline_means_fifteen_minutes() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = deadline_from(now_ms + 60_000, Duration::from_secs(10));
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(50) && left > Duration::from_secs(48),
            "{left:?}"
        );
        let local =
            deadline_from(0, Duration::from_secs(10)).saturating_duration_since(Instant::now());
        assert!(local > Duration::from_secs(14 * 60), "{local:?}");
        assert!(
            deadline_from(1, Duration::ZERO) <= Instant::now(),
            "a past deadline is now"
        );
    }
}
