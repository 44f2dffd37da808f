//! `sync`: syncs of one tab through the real ASL (local runner, in-process functions) against
//! the fake NAVER at its real rate (2 requests/s per API) and latency, and the fake Google.
//!
//! One clock, started at the real time, is shared by the shop, the NAVER client, the plan and
//! the lease, and moved forward between syncs (so a "10-minute" schedule takes no 10 minutes).
//! It reports, per sync: NAVER calls (feed pages, details calls, tokens) beside the protocol
//! minimum for what that sync had to read, Sheets reads and writes, and wall time:
//! - the first sync, backfilling `days` of the shop;
//! - `syncs` incremental syncs, each after `changes_per_hour / 6` changes (a 10-minute schedule:
//!   dispatches and purchase decisions in the feed, deliveries only `/query` shows, new orders);
//! - a quiet sync, after 10 minutes with no change.
//!
//! The NAVER floor for the backfill is printed too. It measures; it asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use ordersync_core::clock::{Clock, ManualClock};
use ordersync_core::events::RunSummary;
use ordersync_core::store::DirStore;
use ordersync_local::definition::{DEFINITION, execute, machine};
use ordersync_local::functions::LocalFunctions;
use ordersync_local::sandbox::{naver_source, sheets_client};
use ordersync_runner::{Options, Outcome, Quiet};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig, NAVER_RATE_PER_SEC, whole_days_before};
use serde_json::json;

const BOOK: &str = "bench-sync";
const TAB: &str = "주문";

pub fn run(orders: usize, days: i64, changes_per_hour: usize, syncs: usize, latency_ms: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(measure(orders, days, changes_per_hour, syncs, latency_ms));
}

struct Row {
    what: String,
    summary: RunSummary,
    feed: u64,
    details: u64,
    tokens: u64,
    minimum: u64,
    reads: u64,
    writes: u64,
    wall: Duration,
}

async fn measure(orders: usize, days: i64, changes_per_hour: usize, syncs: usize, latency_ms: u64) {
    let manual = ManualClock::at(Utc::now());
    let clock: Arc<dyn Clock> = Arc::new(manual.clone());
    let latency = Duration::from_millis(latency_ms);
    let (from, to) = whole_days_before(clock.now(), days);
    let naver = FakeNaver::start(FakeNaverConfig {
        seed: 15,
        orders,
        from,
        to,
        rate_per_sec: NAVER_RATE_PER_SEC,
        latency,
        clock: clock.clone(),
    })
    .await;
    let google = FakeGoogle::start(FakeGoogleConfig {
        latency,
        ..FakeGoogleConfig::default()
    })
    .await;
    google.create_spreadsheet(BOOK);
    let source = naver_source(&naver, naver.client_secret())
        .expect("a source")
        .with_clock(clock.clone());
    let sheets = sheets_client(&google).await.expect("a sheets client");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = DirStore::new(dir.path()).expect("a store");
    let mut functions = LocalFunctions::new(&store, &source, &sheets);
    functions.clock = clock.clone();
    let machine = machine(DEFINITION).expect("the definition");
    let request = json!({
        "account": {"secret_id": "bench/shop"},
        "since": from.date_naive().to_string(),
        "sheet": {"spreadsheet_id": BOOK, "tab": TAB}
    });

    let mut rows = Vec::new();
    let mut run = async |what: String, minimum: u64| {
        let (n0, g0) = (naver.stats(), google.stats());
        let started = Instant::now();
        let name = format!("bench-sync-{}", rows.len());
        let outcome = execute(
            &machine,
            &store,
            &functions,
            &Quiet,
            Options::default(),
            &name,
            request.clone(),
        )
        .await
        .expect("the execution runs");
        let wall = started.elapsed();
        let summary = match outcome {
            Outcome::Succeeded { output, .. } | Outcome::AlreadySucceeded { output } => {
                serde_json::from_value(output).expect("a summary")
            }
            Outcome::Failed { failure, .. } => panic!("{what}: {failure}"),
        };
        let (n1, g1) = (naver.stats(), google.stats());
        rows.push(Row {
            what,
            summary,
            feed: n1.feed_calls - n0.feed_calls,
            details: n1.detail_calls - n0.detail_calls,
            tokens: n1.token_calls - n0.token_calls,
            minimum,
            reads: g1.reads - g0.reads,
            writes: g1.writes - g0.writes,
            wall,
        });
    };

    // The backfill: the minimum is what `minimum()` counts for the same windows.
    let windows = ordersync_core::window::split(
        from,
        clock.now().fixed_offset() - ordersync_core::cursor::LAG,
        ordersync_core::window::MAX_WINDOW,
    );
    // The floor with the Map's two windows in flight; the minimum with the one token this
    // process's shared client needs (in Lambda each concurrent instance fetches its own).
    let backfill = crate::naver_floor::minimum(&naver.shop(), &windows, 2);
    let one_token = crate::naver_floor::minimum(&naver.shop(), &windows, 1).calls();
    let floor = crate::naver_floor::floor(
        &backfill.lanes,
        NAVER_RATE_PER_SEC as f64,
        latency.as_secs_f64(),
    );
    run(format!("first sync: backfill of {days} days"), one_token).await;

    let per_sync = changes_per_hour.div_ceil(6);
    for i in 0..syncs {
        manual.advance(TimeDelta::minutes(10));
        let at = clock.now().fixed_offset() - TimeDelta::minutes(2);
        let moved = naver.advance_orders(per_sync * 6 / 10, at).len();
        let delivered = naver.deliver_orders(per_sync * 2 / 10, at).len();
        let added = naver
            .add_orders(
                100 + i as u64,
                per_sync / 10,
                at - TimeDelta::minutes(8),
                at,
            )
            .len();
        // One token is cached; one feed page per window (each short), plus the re-read batches.
        run(
            format!(
                "incremental sync {} ({moved} changed, {delivered} delivered, {added} new)",
                i + 1
            ),
            0,
        )
        .await;
    }
    manual.advance(TimeDelta::minutes(10));
    run("quiet sync (nothing changed)".into(), 0).await;

    println!(
        "| sync | windows | NAVER calls (feed + details + token) | protocol minimum | re-read | rows appended / updated | Sheets reads / writes | wall s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let s = &row.summary;
        let minimum = if row.minimum > 0 {
            row.minimum
        } else {
            // A sync past the backfill: one feed page per window (its few changes fit one) and
            // one details call per 300 distinct product orders, re-reads included.
            s.windows
                + (s.orders_fetched - s.orders_rechecked).div_ceil(300)
                + s.orders_rechecked.div_ceil(300)
        };
        println!(
            "| {} | {} | {} ({} + {} + {}) | {} | {} | {} / {} | {} / {} | {:.1} |",
            row.what,
            s.windows,
            row.feed + row.details + row.tokens,
            row.feed,
            row.details,
            row.tokens,
            minimum,
            s.orders_rechecked,
            s.appended,
            s.updated,
            row.reads,
            row.writes,
            row.wall.as_secs_f64()
        );
    }
    println!(
        "\nBackfill: {} product orders; NAVER rate-limit floor {:.1} s at {} requests/s per API and {} ms latency; wall ÷ floor {:.2}.",
        backfill.product_orders.len(),
        floor,
        NAVER_RATE_PER_SEC,
        latency_ms,
        rows[0].wall.as_secs_f64() / floor
    );
}
