//! End to end: the real `statemachine.asl.json` run by the local runner, the three functions
//! as release binaries behind local Runtime APIs (cold starts, one instance per concurrent
//! Map iteration, as in Lambda), S3 over the real protocol (s3s-fs), and the fakes at
//! realistic latency and limits (NAVER 30 ms and its real 2 req/s per API with burst 4; Sheets
//! 150 ms and 60 writes/min).
//!
//! For each size it reports the API calls made beside the protocol's minimum, the wall time
//! beside the rate-limit floor, and the peak RSS of each function. The minimum: per window one
//! feed page per 300 changes (at least one) and one details call per 300 distinct ids, one token
//! per import instance the Map runs at once; for Google one OAuth token, one read of the tab, one
//! `spreadsheets.get` and one structure write for a new tab, and one value write per 2 MB of
//! rows, each after its key check (the narrow read that no person moved the rows). The floor:
//! the time those NAVER calls need when each waits exactly what the token
//! buckets require, spread over the Map's concurrent iterations, plus 150 ms per Sheets call.
//! Transform, S3 and process start-up are not in the floor: they are ours to keep small.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use ordersync_aws::S3Store;
use ordersync_core::events::RunSummary;
use ordersync_core::plan::{PlanConfig, plan_range};
use ordersync_core::request::RunRequest;
use ordersync_local::definition::{DEFINITION, machine};
use ordersync_local::definition::{IMPORT, INSERT, TRANSFORM};
use ordersync_runner::{Options, Outcome, Quiet};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::lambdas::{FunctionSpec, Lambdas};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig, NAVER_RATE_PER_SEC, whole_days_before};
use ordersync_testkit::s3::S3Server;
use serde_json::json;

pub const NAVER_LATENCY: Duration = Duration::from_millis(30);
pub const SHEETS_LATENCY: Duration = Duration::from_millis(150);
pub const BOOK: &str = "bench-book";
pub const REQUEST_BYTES: usize = 2_000_000;

/// One run's numbers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    pub product_orders: usize,
    pub days: i64,
    pub windows: usize,
    pub naver_calls: u64,
    pub naver_minimum: u64,
    pub naver_429: u64,
    pub sheets_calls: u64,
    pub sheets_minimum: u64,
    pub wall_s: f64,
    pub floor_s: f64,
    pub rows: u64,
    pub import_peak_kib: u64,
    pub transform_peak_kib: u64,
    pub insert_peak_kib: u64,
    /// A new execution with the same input on fresh instances: every row is already in the
    /// tab, so insert reads the whole tab and writes nothing.
    pub rerun_sheets_calls: u64,
    pub rerun_wall_s: f64,
    pub rerun_insert_peak_kib: u64,
}

/// The pipeline the end-to-end benchmarks run: the fakes, S3 over the real protocol, and the
/// release binaries' environment. Each [`Pipeline::pool`] is a fresh set of instances (cold
/// starts), so its stats are one execution's.
pub struct Pipeline {
    pub naver: FakeNaver,
    pub google: FakeGoogle,
    _s3: S3Server,
    store: S3Store,
    _dir: tempfile::TempDir,
    spec: [(String, FunctionSpec); 3],
}

impl Pipeline {
    /// Starts NAVER (30 ms, 2 req/s per API) with `product_orders` generated from `seed` in
    /// `[from, to)`, Google (150 ms, 60 writes/min, one spreadsheet `bench-book`) and S3.
    pub async fn start(
        binaries: &[(String, PathBuf)],
        product_orders: usize,
        seed: u64,
        (from, to): (DateTime<FixedOffset>, DateTime<FixedOffset>),
    ) -> Pipeline {
        let naver = FakeNaver::start(FakeNaverConfig {
            seed,
            // 1–3 product orders per order: two on average.
            orders: product_orders / 2,
            from,
            to,
            rate_per_sec: NAVER_RATE_PER_SEC,
            latency: NAVER_LATENCY,
            clock: ordersync_core::clock::system(),
        })
        .await;
        let google = FakeGoogle::start(FakeGoogleConfig {
            latency: SHEETS_LATENCY,
            ..FakeGoogleConfig::default()
        })
        .await;
        google.create_spreadsheet(BOOK);
        let s3 = S3Server::start().await;
        let store = s3.store("bench");
        let dir = tempfile::tempdir().expect("temp dir");
        let key_path = dir.path().join("sa.json");
        std::fs::write(&key_path, google.service_account_key_json()).expect("key file");
        let env = crate::package::environment(&s3, &naver, &google, &key_path);
        let spec = |function: &str, bin: &str| {
            let binary = binaries
                .iter()
                .find(|(n, _)| n == bin)
                .expect("binary built")
                .1
                .clone();
            (
                function.to_owned(),
                FunctionSpec {
                    binary,
                    env: env.clone(),
                    timeout: Duration::from_secs(900),
                },
            )
        };
        let spec = [
            spec(IMPORT, "import"),
            spec(TRANSFORM, "transform"),
            spec(INSERT, "insert"),
        ];
        Pipeline {
            naver,
            google,
            _s3: s3,
            store,
            _dir: dir,
            spec,
        }
    }

    /// Fresh instances of the three functions.
    pub fn pool(&self) -> Lambdas {
        Lambdas::new(self.spec.clone())
    }

    /// One execution on `functions`: its summary and wall time (Step Functions' own waits).
    pub async fn execute(
        &self,
        functions: &Lambdas,
        name: &str,
        request: &serde_json::Value,
    ) -> (RunSummary, f64) {
        let started = Instant::now();
        let outcome = ordersync_runner::run_execution(
            &machine(DEFINITION).expect("definition"),
            &self.store,
            functions,
            &Quiet,
            Options {
                retry_time_scale: 1.0,
            },
            name,
            request.clone(),
        )
        .await
        .expect("the runner starts");
        let wall_s = started.elapsed().as_secs_f64();
        match outcome {
            Outcome::Succeeded { output, .. } => {
                let summary: RunSummary = serde_json::from_value(output).expect("summary");
                (summary, wall_s)
            }
            other => panic!("benchmark execution {name} did not succeed: {other:?}"),
        }
    }
}

pub async fn run(
    binaries: &[(String, PathBuf)],
    product_orders: usize,
    days: i64,
    seed: u64,
) -> Run {
    // Whole KST days, so the windows (and the floor they are compared with) are the same at
    // any hour the benchmark runs.
    let now = chrono::Utc::now();
    let (from, to) = whole_days_before(now, days);
    let pipeline = Pipeline::start(binaries, product_orders, seed, (from, to)).await;
    let (naver, google) = (&pipeline.naver, &pipeline.google);
    let lambdas = pipeline.pool();

    let request = json!({
        "account": {"secret_id": "shops/bench"},
        "range": {"from": from.date_naive().to_string(), "to": to.date_naive().to_string(), "by": "changed"},
        "sheet": {"spreadsheet_id": BOOK, "tab": "orders"}
    });
    let (summary, wall_s) = pipeline
        .execute(
            &lambdas,
            &format!("bench-{product_orders}-{days}"),
            &request,
        )
        .await;

    let stats = lambdas.stats();
    let n = naver.stats();
    let g = google.stats();
    let values = google.values(BOOK, "orders");

    // The same input again, as a new execution on fresh instances.
    let again = pipeline.pool();
    let (rerun, rerun_wall_s) = pipeline
        .execute(
            &again,
            &format!("bench-{product_orders}-{days}-again"),
            &request,
        )
        .await;
    assert_eq!(
        (rerun.appended, rerun.updated),
        (0, 0),
        "the rerun writes nothing"
    );
    let g2 = google.stats();
    let rerun_sheets_calls =
        (g2.token_calls + g2.reads + g2.writes) - (g.token_calls + g.reads + g.writes);
    let rerun_insert_peak_kib = again.stats().get(INSERT).map_or(0, |s| s.peak_rss_kib);

    // The protocol minimum and floor, from the windows the Plan step made.
    let config = PlanConfig::default();
    let parsed: RunRequest = serde_json::from_value(request).expect("request");
    let valid = parsed
        .validate(&config.limits, now.fixed_offset())
        .expect("a valid request");
    let windows = plan_range(&parsed, &valid, &config).expect("plan").windows;
    let naver_min =
        crate::naver_floor::minimum(&naver.shop(), &windows, config.max_concurrency as usize);
    let rows_bytes = serde_json::to_vec(&values).map(|v| v.len()).unwrap_or(0);
    // The OAuth token, the tab read, spreadsheets.get, the structure write, the value writes
    // each after its key check.
    let sheets_minimum = 4 + 2 * rows_bytes.div_ceil(REQUEST_BYTES) as u64;
    let floor_s = crate::naver_floor::floor(
        &naver_min.lanes,
        NAVER_RATE_PER_SEC as f64,
        NAVER_LATENCY.as_secs_f64(),
    ) + sheets_minimum as f64 * SHEETS_LATENCY.as_secs_f64();

    let peak = |f: &str| stats.get(f).map_or(0, |s| s.peak_rss_kib);
    assert_eq!(
        values.len() - 1,
        naver_min.product_orders.len(),
        "every product order one row"
    );
    Run {
        product_orders: naver_min.product_orders.len(),
        days,
        windows: windows.len(),
        naver_calls: n.token_calls + n.feed_calls + n.detail_calls,
        naver_minimum: naver_min.calls(),
        naver_429: n.rejected("GW.RATE_LIMIT"),
        sheets_calls: g.token_calls + g.reads + g.writes,
        sheets_minimum,
        wall_s,
        floor_s,
        rows: summary.appended,
        import_peak_kib: peak(IMPORT),
        transform_peak_kib: peak(TRANSFORM),
        insert_peak_kib: peak(INSERT),
        rerun_sheets_calls,
        rerun_wall_s,
        rerun_insert_peak_kib,
    }
}
