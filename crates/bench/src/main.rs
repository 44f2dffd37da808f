//! `ordersync-bench`: measures the pipeline's stages.
//!
//! ```text
//! cargo run --release -p ordersync-bench -- report      # writes BENCHMARKS.md + charts
//! cargo run --release -p ordersync-bench -- transform --orders 100000
//! cargo run --release -p ordersync-bench -- import --orders 5000 --days 3
//! cargo run --release -p ordersync-bench -- insert --rows 10000
//! cargo run --release -p ordersync-bench -- sync --orders 50000 --days 30
//! ```
//!
//! `transform`:
//! The parent process generates the orders and writes the orders object to a temporary
//! directory store; a child process (this binary again, `transform-child`) then runs the
//! transform handler on one thread, exactly as the Lambda does, and reports its wall time and
//! its peak RSS (`VmHWM`), so neither includes the generator's memory. Results are printed as a
//! Markdown table row. This is a harness, not a test: it asserts nothing about speed.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
use ordersync_core::events::TransformEvent;
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::payload::PayloadWriter;
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::store::{DirStore, write_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::Window;
use ordersync_testkit::orders::{Rng, order};

mod chart;
mod e2e;
mod import;
mod insert;
mod insert_scale;
mod naver_floor;
mod package;
mod report;
mod sync;
mod sync_e2e;

#[derive(Parser)]
#[command(about = "Benchmarks for ordersync's stages")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure the Lambda packages (zip, init, idle memory beside two floors) and the whole
    /// pipeline end to end at several sizes; write BENCHMARKS.md and benchmarks/*.svg.
    Report {
        /// `product orders:days` pairs.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "1000:1,10000:7,100000:30"
        )]
        sizes: Vec<String>,
        /// Starts of each binary for the init measurement.
        #[arg(long, default_value_t = 15)]
        init_runs: usize,
        /// The shop the three sync rows sync, as `product orders:days` (the issue's backfill:
        /// 30 days of 100,000 product orders).
        #[arg(long, default_value = "100000:30")]
        sync: String,
        /// Product orders that move between the backfill and the incremental sync (1,000
        /// changes an hour, synced every 10 minutes).
        #[arg(long, default_value_t = 167)]
        sync_changes: usize,
        #[arg(long, default_value = "BENCHMARKS.md")]
        out: PathBuf,
    },
    /// Transform N generated orders (with 2% duplicates) and report throughput and peak memory.
    Transform {
        #[arg(long, default_value_t = 100_000)]
        orders: u64,
        /// Runs to make; the best and the median are reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Internal: run the handler once on a prepared store and print JSON measurements.
    #[command(hide = true)]
    TransformChild { dir: PathBuf, event: String },
    /// Import every window of a generated shop from the fake NAVER API (latency and rate limit
    /// as given) and compare calls and wall time with the protocol's minimum.
    Import {
        /// Orders in the shop (each has 1–3 product orders).
        #[arg(long, default_value_t = 5_000)]
        orders: usize,
        #[arg(long, default_value_t = 3)]
        days: i64,
        #[arg(long, default_value_t = 30)]
        latency_ms: u64,
        #[arg(long, default_value_t = 10)]
        rate: u32,
    },
    /// Upsert N rows into the fake Google Sheets: new tab, unchanged rerun, 10% changed.
    Insert {
        #[arg(long, default_value_t = 10_000)]
        rows: u64,
        #[arg(long, default_value_t = 150)]
        latency_ms: u64,
    },
    /// The insert Lambda at scale: tabs of `tabs` rows (`max`: the most Google's 10M cells
    /// allow) × `write` rows to write × 0 / 10 / 100 % changed; calls, bytes, peak RSS, wall.
    /// Writes `out`, which the report puts into BENCHMARKS.md.
    InsertScale {
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,max")]
        tabs: Vec<String>,
        #[arg(long, default_value_t = 100_000)]
        write: usize,
        #[arg(long, default_value = "benchmarks/insert-scale.md")]
        out: PathBuf,
    },
    /// Syncs of one tab through the real ASL at NAVER's 2 requests/s: a backfill, incremental
    /// syncs on a 10-minute schedule, a quiet sync; calls beside the protocol minimum.
    Sync {
        /// Orders in the shop (each has 1–3 product orders).
        #[arg(long, default_value_t = 5_000)]
        orders: usize,
        #[arg(long, default_value_t = 7)]
        days: i64,
        #[arg(long, default_value_t = 1_000)]
        changes_per_hour: usize,
        #[arg(long, default_value_t = 3)]
        syncs: usize,
        #[arg(long, default_value_t = 30)]
        latency_ms: u64,
    },
    /// Internal: run the import handler over the given windows and print JSON measurements.
    #[command(hide = true)]
    ImportChild { dir: PathBuf, windows: String },
}

/// `product orders:days`, as `--sizes` and `--sync` take it.
fn orders_days(pair: &str) -> (usize, i64) {
    let (orders, days) = pair
        .split_once(':')
        .unwrap_or_else(|| panic!("a size is orders:days, not {pair}"));
    (
        orders.parse().expect("product orders"),
        days.parse().expect("days"),
    )
}

pub(crate) fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs a measuring child process and reads the JSON line it prints last.
pub(crate) fn run_child(mut command: std::process::Command) -> serde_json::Value {
    let out = command.output().expect("child runs");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("child prints JSON")
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn main() {
    match Cli::parse().command {
        Command::Report {
            sizes,
            init_runs,
            sync,
            sync_changes,
            out,
        } => {
            let sizes: Vec<(usize, i64)> = sizes.iter().map(|pair| orders_days(pair)).collect();
            let shop = report::SyncShop {
                size: orders_days(&sync),
                changes: sync_changes,
            };
            report::run(&sizes, shop, init_runs, &out);
        }
        Command::Import {
            orders,
            days,
            latency_ms,
            rate,
        } => import::run(orders, days, latency_ms, rate),
        Command::ImportChild { dir, windows } => import::child(&dir, &windows),
        Command::Sync {
            orders,
            days,
            changes_per_hour,
            syncs,
            latency_ms,
        } => sync::run(orders, days, changes_per_hour, syncs, latency_ms),
        Command::Insert { rows, latency_ms } => insert::run(rows, latency_ms),
        Command::InsertScale { tabs, write, out } => {
            let cols = ordersync_core::columns::ColumnChoice::default()
                .resolve()
                .expect("standard columns")
                .len();
            let tabs: Vec<usize> = tabs
                .iter()
                .map(|t| match t.as_str() {
                    "max" => insert_scale::max_tab_rows(cols),
                    n => n.parse().expect("a tab size is a number of rows or `max`"),
                })
                .collect();
            let binaries = package::build();
            let insert = &binaries
                .iter()
                .find(|(n, _)| n == "insert")
                .expect("insert built")
                .1;
            print!("{}", insert_scale::run(insert, &tabs, write, &out));
        }
        Command::Transform { orders, runs } => transform(orders, runs),
        Command::TransformChild { dir, event } => {
            let store = DirStore::new(&dir).expect("bench store");
            let event: TransformEvent = serde_json::from_str(&event).expect("bench event");
            let start = Instant::now();
            let out = runtime()
                .block_on(ordersync_transform::handle(&store, event))
                .expect("transform succeeds on generated orders");
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({
                    "seconds": seconds,
                    "peak_rss_kib": peak_rss_kib(),
                    "orders_in": out.counts.orders_in,
                    "rows_out": out.counts.rows_out,
                    "rows_bytes": out.rows.bytes,
                })
            );
        }
    }
}

fn transform(count: u64, runs: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let window = Window::new(
        parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap(),
        parse_instant("2026-11-01", DateOnly::EndOfDay).unwrap(),
    )
    .unwrap();
    let store = DirStore::new(dir.path()).expect("bench store");
    let key = object_key("bench", Stage::Orders, &window).unwrap();

    // Stream generated orders into the object; every 50th is repeated with an older change.
    let mut writer = PayloadWriter::<OrdersSchema>::new(&OrdersMeta { window }).unwrap();
    let mut rng = Rng::new(42);
    let span = window
        .to
        .signed_duration_since(window.from)
        .num_milliseconds();
    let mut json_bytes = 0u64;
    for i in 0..count {
        let changed = window.from + chrono_ms(span * i as i64 / count as i64);
        let o = order(i, changed, &mut rng);
        json_bytes += serde_json::to_vec(&o).unwrap().len() as u64 + 1;
        writer.push(&o).unwrap();
        if i % 50 == 0 {
            let mut older = o.clone();
            older.change.as_mut().unwrap().last_changed_date = Some(window.from);
            writer.push(&older).unwrap();
        }
    }
    let encoded = writer.finish().unwrap();
    let records = encoded.records;
    let orders_ref = runtime()
        .block_on(write_object::<OrdersSchema>(&store, &key, encoded))
        .unwrap();
    let event = TransformEvent {
        execution: "bench".into(),
        window,
        orders: orders_ref.clone(),
        columns: None,
    };
    let event = serde_json::to_string(&event).unwrap();

    let exe = std::env::current_exe().expect("own path");
    let mut results: Vec<serde_json::Value> = (0..runs)
        .map(|_| {
            let mut child = std::process::Command::new(&exe);
            child.args(["transform-child", &dir.path().display().to_string(), &event]);
            run_child(child)
        })
        .collect();
    results.sort_by(|a, b| {
        a["seconds"]
            .as_f64()
            .partial_cmp(&b["seconds"].as_f64())
            .unwrap()
    });
    let best = &results[0];
    let median = &results[results.len() / 2];
    let rate = |r: &serde_json::Value| records as f64 / r["seconds"].as_f64().unwrap();
    let peak = results
        .iter()
        .map(|r| r["peak_rss_kib"].as_u64().unwrap())
        .max()
        .unwrap();
    println!(
        "| order records | JSON in | zstd in | rows out | best | median | orders/s (best) | orders/s (median) | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {records} | {:.1} MB | {:.1} MB | {} | {:.3} s | {:.3} s | {:.0} | {:.0} | {:.1} MB |",
        json_bytes as f64 / 1e6,
        orders_ref.bytes as f64 / 1e6,
        best["rows_out"],
        best["seconds"].as_f64().unwrap(),
        median["seconds"].as_f64().unwrap(),
        rate(best),
        rate(median),
        peak as f64 / 1024.0,
    );
}

fn chrono_ms(ms: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::milliseconds(ms)
}
