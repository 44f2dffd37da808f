//! `import`: the import stage against the fake NAVER API at realistic latency and rate limit.
//!
//! The parent starts the fake (a seeded shop over `days` days), splits the span into 24 h
//! windows, and runs a child process (this binary, `import-child`) that imports every window
//! in turn with the real client into a temporary directory store, as the Lambda would, then
//! reports its wall time, API calls and peak RSS. The parent compares the calls with the
//! protocol's minimum (one token, then per window ⌈feed rows/300⌉ pages — at least one — and
//! ⌈distinct ids/300⌉ detail calls) and the wall time with the rate-limit floor: the time the
//! same call sequence needs at the given latency when every call waits exactly as long as the
//! token buckets (rate r, burst 2r, one per API) require and not a moment more.

use std::path::Path;
use std::time::{Duration, Instant};

use ordersync_core::events::ImportEvent;
use ordersync_core::request::AccountRef;
use ordersync_core::store::DirStore;
use ordersync_core::window::{MAX_WINDOW, Window, split};
use ordersync_naver::config::http_client;
use ordersync_naver::source::EnvCredentials;
use ordersync_naver::{NaverConfig, NaverSource};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig, whole_days_before};

pub fn run(orders: usize, days: i64, latency_ms: u64, rate: u32) {
    // Multi-threaded: the fake serves from worker threads while this thread waits on the child.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let latency = Duration::from_millis(latency_ms);
    // Whole KST days, so the windows (and the floor they are compared with) are the same at
    // any hour the benchmark runs.
    let (from, to) = whole_days_before(chrono::Utc::now(), days);
    let fake = rt.block_on(FakeNaver::start(FakeNaverConfig {
        seed: 7,
        orders,
        from,
        to,
        rate_per_sec: rate,
        latency,
        clock: ordersync_core::clock::system(),
    }));
    let windows = split(from, to, MAX_WINDOW);

    // The protocol minimum and the order the client makes its calls in (one client).
    let naver_min = crate::naver_floor::minimum(&fake.shop(), &windows, 1);
    let minimum = naver_min.calls();
    let floor = crate::naver_floor::floor(&naver_min.lanes, rate as f64, latency.as_secs_f64());

    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("own path");
    let mut command = std::process::Command::new(exe);
    command
        .args([
            "import-child",
            &dir.path().display().to_string(),
            &serde_json::to_string(&windows).unwrap(),
        ])
        .env("NAVER_COMMERCE_BASE_URL", fake.base_url())
        .env("NAVER_CLIENT_ID", fake.client_id())
        .env("NAVER_CLIENT_SECRET", fake.client_secret());
    let child = crate::run_child(command);
    let calls = child["api_calls"].as_u64().unwrap();
    let seconds = child["seconds"].as_f64().unwrap();
    let stats = fake.stats();
    println!(
        "| product orders | windows | API calls | protocol minimum | calls ÷ minimum | 429s | wall | rate-limit floor | wall ÷ floor | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {calls} | {minimum} | {:.2} | {} | {seconds:.2} s | {floor:.2} s | {:.2} | {:.1} MB |",
        naver_min.product_orders.len(),
        windows.len(),
        calls as f64 / minimum as f64,
        stats.rejected("GW.RATE_LIMIT"),
        seconds / floor,
        child["peak_rss_kib"].as_u64().unwrap() as f64 / 1024.0,
    );
}

pub fn child(dir: &Path, windows: &str) {
    let windows: Vec<Window> = serde_json::from_str(windows).expect("windows JSON");
    let store = DirStore::new(dir).expect("bench store");
    let config = NaverConfig::from_env(&ordersync_core::config::ProcessEnv).expect("NAVER config");
    let source = NaverSource::new(
        http_client(&config).expect("HTTP client"),
        config,
        EnvCredentials::from_env(&ordersync_core::config::ProcessEnv)
            .expect("NAVER_CLIENT_ID/SECRET"),
    );
    let rt = crate::runtime();
    let start = Instant::now();
    let mut api_calls = 0;
    let mut fetched = 0;
    for window in windows {
        let event = ImportEvent {
            by: None,
            sync: None,
            instances: None,
            execution: "bench".into(),
            account: AccountRef {
                secret_id: "bench".into(),
            },
            window,
        };
        let out = rt
            .block_on(ordersync_import::handle(
                &store,
                &source,
                event,
                Instant::now() + Duration::from_secs(600),
            ))
            .expect("import succeeds against the fake");
        api_calls += out.counts.api_calls;
        fetched += out.counts.fetched;
    }
    println!(
        "{}",
        serde_json::json!({
            "seconds": start.elapsed().as_secs_f64(),
            "api_calls": api_calls,
            "fetched": fetched,
            "peak_rss_kib": crate::peak_rss_kib(),
        })
    );
}
