//! The NAVER side of the benchmarks' yardsticks, for a run over windows of the fake's shop:
//! the protocol minimum (one token per client, then per window one feed page per 300 changes,
//! at least one, and one details call per 300 distinct ids) and the rate-limit floor (the time
//! those calls need when each waits exactly what NAVER's token buckets require). It measures
//! nothing itself.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use ordersync_core::window::Window;
use ordersync_testkit::naver::Shop;

/// The product orders one feed page lists and one details call reads.
pub const PAGE: usize = 300;

/// The fewest calls a run can make, as call sequences that run at once: per client (`lanes`,
/// windows dealt to them in turn) a feed lane, starting with its token, and a details lane
/// beside it (the client fetches a page's details while it reads the next page, and the two
/// APIs have a token bucket each). Two lanes per client make the floor a lower bound: details
/// cannot really start before the first feed page.
pub struct Minimum {
    pub lanes: Vec<Vec<&'static str>>,
    /// The distinct product orders the windows hold.
    pub product_orders: BTreeSet<String>,
}

impl Minimum {
    pub fn calls(&self) -> u64 {
        self.lanes.iter().map(|l| l.len() as u64).sum()
    }
}

pub fn minimum(shop: &Shop, windows: &[Window], lanes: usize) -> Minimum {
    let lanes_n = lanes.min(windows.len()).max(1);
    let mut lanes: Vec<Vec<&'static str>> = vec![vec!["token"]; lanes_n];
    let mut detail_lanes: Vec<Vec<&'static str>> = vec![Vec::new(); lanes_n];
    let mut product_orders = BTreeSet::new();
    for (i, w) in windows.iter().enumerate() {
        let rows = shop.changes_between(w.from, w.to - TimeDelta::milliseconds(1));
        let distinct: BTreeSet<_> = rows.iter().map(|e| e.product_order_id.clone()).collect();
        lanes[i % lanes_n].extend(std::iter::repeat_n(
            "feed",
            rows.len().div_ceil(PAGE).max(1),
        ));
        detail_lanes[i % lanes_n].extend(std::iter::repeat_n(
            "details",
            distinct.len().div_ceil(PAGE),
        ));
        product_orders.extend(distinct);
    }
    lanes.extend(detail_lanes.into_iter().filter(|l| !l.is_empty()));
    Minimum {
        lanes,
        product_orders,
    }
}

/// The floor of NAVER calls: `lanes` run their call sequences at once, sharing one token
/// bucket per API (rate r, burst 2r); each call waits for a token, then takes the latency.
pub fn floor(lanes: &[Vec<&'static str>], rate: f64, latency: f64) -> f64 {
    let mut buckets: std::collections::HashMap<&str, (f64, f64)> = Default::default();
    let mut clocks = vec![0.0f64; lanes.len()];
    let mut next = vec![0usize; lanes.len()];
    // The lane whose next call comes first takes its token first.
    while let Some(lane) = (0..lanes.len())
        .filter(|&l| next[l] < lanes[l].len())
        .min_by(|&a, &b| clocks[a].total_cmp(&clocks[b]))
    {
        let api = lanes[lane][next[lane]];
        let t = clocks[lane];
        let (tokens, at) = buckets.entry(api).or_insert((2.0 * rate, 0.0));
        *tokens = (*tokens + (t - *at).max(0.0) * rate).min(2.0 * rate);
        *at = t.max(*at);
        let mut start = t;
        if *tokens < 1.0 {
            start = *at + (1.0 - *tokens) / rate;
            *tokens = 1.0;
            *at = start;
        }
        *tokens -= 1.0;
        clocks[lane] = start + latency;
        next[lane] += 1;
    }
    clocks.into_iter().fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_waits_for_tokens_and_overlaps_lanes() {
        // 40 calls on one API at 10/s, burst 20: 20 at once, then one per 100 ms.
        let one = vec![vec!["feed"; 40]];
        let t = floor(&one, 10.0, 0.0);
        assert!((t - 2.0).abs() < 1e-9, "{t}");
        // Latency alone: 10 calls × 30 ms in one lane; two lanes halve it.
        let serial = floor(&[vec!["feed"; 10]], 10.0, 0.03);
        assert!((serial - 0.3).abs() < 1e-9, "{serial}");
        let split = floor(&[vec!["feed"; 5], vec!["details"; 5]], 10.0, 0.03);
        assert!((split - 0.15).abs() < 1e-9, "{split}");
    }
}
