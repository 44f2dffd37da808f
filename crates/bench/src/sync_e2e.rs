//! Syncs end to end, for `report`: the same pipeline as [`crate::e2e`] (the real ASL, the
//! release binaries behind local Runtime APIs, S3 over the real protocol) with NAVER at its
//! real 2 requests/s per API, and three syncs of one tab on the real clock:
//! - the first sync, a backfill of the shop's `days`;
//! - an incremental sync after `changes` product orders moved (dispatches and purchase
//!   decisions the feed lists, deliveries only `/query` shows, a tenth new orders);
//! - a quiet sync, with nothing new.
//!
//! Each sync runs on fresh instances (cold starts), so each function's peak RSS is that sync's.
//! The in-process `sync` command measures longer schedules on a moving clock; this one is the
//! three rows the report keeps. It measures; it asserts only that the sheet ends up true.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use ordersync_core::cursor::LAG;
use ordersync_core::events::RunSummary;
use ordersync_core::plan::DEFAULT_MAP_CONCURRENCY;
use ordersync_local::definition::{IMPORT, INSERT, TRANSFORM};
use ordersync_testkit::naver::whole_days_before;
use serde_json::json;

use crate::e2e::{BOOK, NAVER_LATENCY, Pipeline, REQUEST_BYTES, SHEETS_LATENCY};
use crate::naver_floor::PAGE;
use ordersync_testkit::naver::NAVER_RATE_PER_SEC;

const TAB: &str = "sync";
/// Import instances the Map runs at once (its default concurrency): each fetches a token.
const CONCURRENCY: u64 = DEFAULT_MAP_CONCURRENCY as u64;

/// One sync's numbers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncRun {
    pub what: String,
    pub windows: u64,
    pub feed_calls: u64,
    pub detail_calls: u64,
    pub token_calls: u64,
    pub naver_minimum: u64,
    /// NAVER's `429 GW.RATE_LIMIT` answers (each one a call above the minimum).
    pub naver_429: u64,
    /// The backfill's rate-limit floor (as in the range rows); none for the later syncs.
    pub floor_s: Option<f64>,
    pub rechecked: u64,
    pub appended: u64,
    pub updated: u64,
    pub sheets_reads: u64,
    pub sheets_writes: u64,
    pub wall_s: f64,
    pub import_peak_kib: u64,
    pub transform_peak_kib: u64,
    pub insert_peak_kib: u64,
}

impl SyncRun {
    pub fn naver_calls(&self) -> u64 {
        self.feed_calls + self.detail_calls + self.token_calls
    }
}

pub async fn run(
    binaries: &[(String, PathBuf)],
    product_orders: usize,
    days: i64,
    changes: usize,
    seed: u64,
) -> Vec<SyncRun> {
    let (from, to) = whole_days_before(Utc::now(), days);
    let pipeline = Pipeline::start(binaries, product_orders, seed, (from, to)).await;
    let request = json!({
        "account": {"secret_id": "shops/bench"},
        "since": from.date_naive().to_string(),
        "sheet": {"spreadsheet_id": BOOK, "tab": TAB}
    });

    let mut runs = Vec::new();
    let sync = async |what: String, runs: &mut Vec<SyncRun>| {
        let (n0, g0) = (pipeline.naver.stats(), pipeline.google.stats());
        let functions = pipeline.pool();
        let name = format!("bench-sync-{}", runs.len());
        let (summary, wall_s) = pipeline.execute(&functions, &name, &request).await;
        let (n1, g1) = (pipeline.naver.stats(), pipeline.google.stats());
        let stats = functions.stats();
        let peak = |f: &str| stats.get(f).map_or(0, |s| s.peak_rss_kib);
        runs.push(SyncRun {
            what,
            windows: summary.windows,
            feed_calls: n1.feed_calls - n0.feed_calls,
            detail_calls: n1.detail_calls - n0.detail_calls,
            token_calls: n1.token_calls - n0.token_calls,
            naver_minimum: minimum(&summary),
            naver_429: n1.rejected("GW.RATE_LIMIT") - n0.rejected("GW.RATE_LIMIT"),
            floor_s: None,
            rechecked: summary.orders_rechecked,
            appended: summary.appended,
            updated: summary.updated,
            sheets_reads: g1.reads - g0.reads,
            sheets_writes: g1.writes - g0.writes,
            wall_s,
            import_peak_kib: peak(IMPORT),
            transform_peak_kib: peak(TRANSFORM),
            insert_peak_kib: peak(INSERT),
        });
        summary
    };

    // The backfill's minimum is what `naver_floor::minimum` counts for the windows its plan
    // makes (the shop has no change after `to`, so where the last one ends does not matter).
    let windows = ordersync_core::window::split(
        from,
        Utc::now().fixed_offset() - LAG,
        ordersync_core::window::MAX_WINDOW,
    );
    let backfill_minimum =
        crate::naver_floor::minimum(&pipeline.naver.shop(), &windows, CONCURRENCY as usize);
    let backfill = sync(format!("first sync: backfill of {days} days"), &mut runs).await;
    runs[0].naver_minimum = backfill_minimum.calls();
    let values = pipeline.google.values(BOOK, TAB);
    let rows_bytes = serde_json::to_vec(&values).map_or(0, |v| v.len());
    // The OAuth token, the tab read, spreadsheets.get, the structure write, the value writes
    // each after its key check.
    let sheets_minimum = 4 + 2 * rows_bytes.div_ceil(REQUEST_BYTES) as u64;
    runs[0].floor_s = Some(
        crate::naver_floor::floor(
            &backfill_minimum.lanes,
            NAVER_RATE_PER_SEC as f64,
            NAVER_LATENCY.as_secs_f64(),
        ) + sheets_minimum as f64 * SHEETS_LATENCY.as_secs_f64(),
    );
    assert_eq!(
        backfill.appended as usize,
        pipeline.naver.shop().product_order_ids().len(),
        "the backfill writes every product order"
    );

    // The shop moves on after the backfill, at the real time; the next sync sees it once it
    // is older than the sync's lag.
    let after = Utc::now().fixed_offset();
    // So the new orders' span `[after, at)` is not empty.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let at = Utc::now().fixed_offset();
    let moved = pipeline.naver.advance_orders(changes * 7 / 10, at).len();
    let delivered = pipeline.naver.deliver_orders(changes * 2 / 10, at).len();
    let added = pipeline
        .naver
        .add_orders(seed + 1, changes / 20, after, at)
        .len();
    tokio::time::sleep(
        (LAG + TimeDelta::seconds(1))
            .to_std()
            .expect("a positive lag"),
    )
    .await;
    sync(
        format!("incremental sync ({moved} changed, {delivered} delivered, {added} new)"),
        &mut runs,
    )
    .await;
    let quiet = sync("quiet sync (nothing changed)".into(), &mut runs).await;
    assert_eq!(
        (quiet.appended, quiet.updated),
        (0, 0),
        "a quiet sync writes nothing"
    );
    assert_eq!(
        pipeline.google.values(BOOK, TAB).len() - 1,
        pipeline.naver.shop().product_order_ids().len(),
        "every product order one row"
    );
    runs
}

/// The fewest NAVER calls for what a sync past the backfill read: its few changes fit one feed
/// page per window; one details call per 300 distinct product orders and per 300 re-read ones;
/// one token per import instance running at once.
fn minimum(s: &RunSummary) -> u64 {
    let feed = s.windows.max(s.orders_changed.div_ceil(PAGE as u64));
    let details = (s.orders_fetched - s.orders_rechecked).div_ceil(PAGE as u64)
        + s.orders_rechecked.div_ceil(PAGE as u64);
    feed + details + s.windows.clamp(1, CONCURRENCY)
}
