//! `report`: measures the Lambda packages and the whole pipeline end to end, then writes
//! `BENCHMARKS.md` and its charts (`benchmarks/*.svg`). Numbers only; it asserts nothing about
//! speed, but marks each target met (✔) or missed (✘) so a regression is visible in review.

use std::fmt::Write as _;
use std::path::Path;

use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig, NAVER_RATE_PER_SEC};
use ordersync_testkit::s3::S3Server;

use crate::e2e::{self, Run};
use crate::package::{self, Binary};
use crate::sync_e2e::{self, SyncRun};

/// Init within 1.5× the all-clients floor; idle RSS within 32 MB; zip within 5 MB.
const INIT_RATIO: f64 = 1.5;
const IDLE_MB: f64 = 32.0;
const ZIP_MB: f64 = 5.0;
const PEAK_MB: f64 = 128.0;
const WALL_RATIO: f64 = 1.2;

fn mark(ok: bool) -> &'static str {
    if ok { "✔" } else { "✘" }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The shop the report's sync rows sync: `(product orders, days)`, and how many product
/// orders move before the incremental sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncShop {
    pub size: (usize, i64),
    pub changes: usize,
}

pub fn run(sizes: &[(usize, i64)], shop: SyncShop, init_runs: usize, out: &Path) {
    let binaries = package::build();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (measured, runs, syncs) = rt.block_on(async {
        let s3 = S3Server::start().await;
        let naver = FakeNaver::start(FakeNaverConfig::default()).await;
        let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("sa.json");
        std::fs::write(&key, google.service_account_key_json()).expect("key file");
        let env = package::environment(&s3, &naver, &google, &key);
        let mut measured = Vec::new();
        for (label, binary, extra) in package::init_subjects() {
            eprintln!("init: {label}");
            let path = &binaries
                .iter()
                .find(|(name, _)| name == binary)
                .expect("built")
                .1;
            let mut env = env.clone();
            env.extend(extra);
            measured.push(package::measure(&label, path, &env, init_runs).await);
        }
        let mut runs = Vec::new();
        for (i, &(orders, days)) in sizes.iter().enumerate() {
            eprintln!("end to end: {orders} product orders over {days} days");
            runs.push(e2e::run(&binaries, orders, days, 100 + i as u64).await);
        }
        let (orders, days) = shop.size;
        eprintln!("syncs: {orders} product orders over {days} days");
        let syncs = sync_e2e::run(&binaries, orders, days, shop.changes, 200).await;
        (measured, runs, syncs)
    });
    let charts = out.parent().unwrap_or(Path::new(".")).join("benchmarks");
    std::fs::create_dir_all(&charts).expect("charts directory");
    crate::chart::growth(&runs, &charts.join("end-to-end.svg")).expect("growth chart");
    crate::chart::init(&measured, &charts.join("init.svg")).expect("init chart");
    let text = markdown(&measured, &runs, &syncs, sizes, shop, init_runs);
    std::fs::write(out, text).expect("write BENCHMARKS.md");
    eprintln!("wrote {} and {}/*.svg", out.display(), charts.display());
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cores} cores ({cpu}), {}", std::env::consts::ARCH)
}

fn markdown(
    binaries: &[Binary],
    runs: &[Run],
    syncs: &[SyncRun],
    sizes: &[(usize, i64)],
    shop: SyncShop,
    init_runs: usize,
) -> String {
    let mut s = String::new();
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let sizes_arg: Vec<String> = sizes.iter().map(|(o, d)| format!("{o}:{d}")).collect();
    let _ = writeln!(
        s,
        "# Benchmarks\n\nWritten by `cargo run --release -p ordersync-bench -- report` on {date}, on {}.\n\
         Reproduce: `cargo run --release -p ordersync-bench -- report --sizes {} --sync {}:{} --sync-changes {} --init-runs {init_runs}`\n\
         (needs `zip`; most of its time is NAVER's 2 requests/s). The harness asserts nothing; ✔/✘ mark the targets.\n\
         Stage benchmarks (transform throughput, import and insert alone) are in README.md, Benchmarks.\n",
        machine(),
        sizes_arg.join(","),
        shop.size.0,
        shop.size.1,
        shop.changes,
    );

    // Package.
    // Each function against the floor that builds its own clients.
    let floor_of = |name: &str| {
        binaries
            .iter()
            .find(|b| b.name == format!("floor-clients ({name})"))
    };
    let _ = writeln!(
        s,
        "## Lambda package\n\nRelease builds (`opt-level = \"z\"`, LTO, stripped) for this machine; zip = `zip -9` of the \
         binary as `bootstrap`. Init = process start → first `GET /runtime/invocation/next` against a local \
         Runtime API (median and best of {init_runs} starts); idle RSS = `VmRSS` at that moment; init peak = `VmHWM`. \
         `floor-empty` is a bare `lambda_runtime` function; `floor-clients (f)` builds only the clients function \
         `f` builds (import: S3 store, NAVER HTTP client and credentials; transform: S3 store; insert: S3 store, \
         Google key and Sheets client; each with logging) and is the floor `f` is compared with.\n\n\
         ![init time and idle memory](benchmarks/init.svg)\n\n\
         | binary | binary size | zip | init median | init best | init ÷ clients floor | idle RSS | init peak | targets (zip ≤ {ZIP_MB} MB, init ≤ {INIT_RATIO}× floor, idle ≤ {IDLE_MB} MB) |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    for b in binaries {
        let ratio = floor_of(&b.name).map_or(1.0, |f| b.init_median_ms / f.init_median_ms);
        let is_function = !b.name.starts_with("floor");
        let verdict = if is_function {
            let ok_zip = mb(b.zip_bytes) <= ZIP_MB;
            let ok_init = ratio <= INIT_RATIO;
            let ok_idle = mib(b.idle_rss_kib) <= IDLE_MB;
            format!("{} {} {}", mark(ok_zip), mark(ok_init), mark(ok_idle))
        } else {
            "(floor)".to_owned()
        };
        let _ = writeln!(
            s,
            "| {} | {:.1} MB | {:.2} MB | {:.1} ms | {:.1} ms | {} | {:.1} MB | {:.1} MB | {verdict} |",
            b.name,
            mb(b.binary_bytes),
            mb(b.zip_bytes),
            b.init_median_ms,
            b.init_best_ms,
            if is_function {
                format!("{ratio:.2}")
            } else {
                "—".to_owned()
            },
            mib(b.idle_rss_kib),
            mib(b.init_peak_kib),
        );
    }
    let deployed = package::deployed_zips();
    if !deployed.is_empty() {
        let list: Vec<String> = deployed
            .iter()
            .map(|(f, bytes)| format!("{f} {:.2} MB", mb(*bytes)))
            .collect();
        let _ = writeln!(
            s,
            "\nThe deployed zips in `target/lambda` (built by `infra/build-zips.sh`, arm64 by default): {}.",
            list.join(", ")
        );
    }

    // End to end.
    let _ = writeln!(
        s,
        "\n## End to end\n\nThe real `statemachine.asl.json` run by the local runner; the three functions as the release \
         binaries above behind local Runtime APIs (cold starts, one instance per concurrent Map iteration, as in \
         Lambda); S3 over the real protocol (s3s-fs on 127.0.0.1); the fake NAVER at 30 ms per answer and its real \
         {NAVER_RATE_PER_SEC} req/s per API (burst {}); the fake Google at 150 ms per answer and 60 writes/min; Map concurrency 2 (the default). \
         Each run starts from an empty tab.\n\n\
         *Minimum*: NAVER — per window one feed page per 300 changes (at least one) and one details call per 300 \
         distinct ids, plus one token per import instance running at once; Google — one OAuth token, one read of the tab, one \
         `spreadsheets.get` and one structure write for the new tab, one value write per 2 MB of rows, each after its \
         key check (row 1 and the key column of the rows it writes, read again: did a person move them?). \
         *Floor*: the time those NAVER calls need when each waits exactly what the token buckets require, with two \
         windows at a time, plus 150 ms per Sheets call (transform, S3 and process start-up are ours, so not in it).\n\n\
         ![peak memory and wall time by size](benchmarks/end-to-end.svg)\n\n\
         | product orders | days | windows | NAVER calls ÷ minimum | 429s | Sheets calls ÷ minimum | wall | floor | wall ÷ floor | peak RSS import / transform / insert | targets (calls 1.00, wall ≤ {WALL_RATIO}× floor, peak ≤ {PEAK_MB} MB) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|",
        2 * NAVER_RATE_PER_SEC
    );
    for r in runs {
        let naver_ratio = r.naver_calls as f64 / r.naver_minimum as f64;
        let sheets_ratio = r.sheets_calls as f64 / r.sheets_minimum as f64;
        let wall_ratio = r.wall_s / r.floor_s;
        let peak = [r.import_peak_kib, r.transform_peak_kib, r.insert_peak_kib];
        let peak_ok = peak.iter().all(|&k| mib(k) <= PEAK_MB);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} ÷ {} = {:.2} | {} | {} ÷ {} = {:.2} | {:.1} s | {:.1} s | {:.2} | {:.1} / {:.1} / {:.1} MB | {} {} {} |",
            r.product_orders,
            r.days,
            r.windows,
            r.naver_calls,
            r.naver_minimum,
            naver_ratio,
            r.naver_429,
            r.sheets_calls,
            r.sheets_minimum,
            sheets_ratio,
            r.wall_s,
            r.floor_s,
            wall_ratio,
            mib(peak[0]),
            mib(peak[1]),
            mib(peak[2]),
            mark((naver_ratio - 1.0).abs() < 1e-9 && (sheets_ratio - 1.0).abs() < 1e-9),
            mark(wall_ratio <= WALL_RATIO),
            mark(peak_ok),
        );
    }
    let _ = writeln!(
        s,
        "\nThen a new execution with the same input, on fresh instances: every row is already in the tab, so \
         insert reads the whole tab (one `values.get`) and writes nothing.\n\n\
         | product orders | Sheets calls (token + read) | wall | insert peak RSS | target (≤ {PEAK_MB} MB) |\n\
         |---|---|---|---|---|"
    );
    for r in runs {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} s | {:.1} MB | {} |",
            r.product_orders,
            r.rerun_sheets_calls,
            r.rerun_wall_s,
            mib(r.rerun_insert_peak_kib),
            mark(mib(r.rerun_insert_peak_kib) <= PEAK_MB),
        );
    }

    // Syncs.
    let (orders, days) = shop.size;
    let _ = writeln!(
        s,
        "\n## Syncs\n\nThe same pipeline syncing one tab of a shop of {orders} product orders over {days} days, \
         on the real clock, each sync on fresh instances (so each peak is that sync's): the backfill, then an \
         incremental sync after {} product orders moved (dispatches and purchase decisions the feed lists, \
         deliveries only the re-read by id finds, new orders), then a sync with nothing new. *Minimum* as above; \
         past the backfill one feed page per window, one details call per 300 changed and per 300 re-read product \
         orders, and one token per import instance. The in-process `sync` command measures longer schedules \
         (README, Benchmarks).\n\n\
         | sync | windows | NAVER calls (feed + details + token) ÷ minimum | 429s | re-read | rows appended / updated | Sheets reads / writes | wall | floor | wall ÷ floor | peak RSS import / transform / insert | targets (calls 1.00, wall ≤ 1.1× floor, peak ≤ {PEAK_MB} MB) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|",
        shop.changes
    );
    for r in syncs {
        let calls = r.naver_calls();
        let peak = [r.import_peak_kib, r.transform_peak_kib, r.insert_peak_kib];
        let _ = writeln!(
            s,
            "| {} | {} | {calls} ({} + {} + {}) ÷ {} = {:.2} | {} | {} | {} / {} | {} / {} | {:.1} s | {} | {} | {:.1} / {:.1} / {:.1} MB | {} {}{} |",
            r.what,
            r.windows,
            r.feed_calls,
            r.detail_calls,
            r.token_calls,
            r.naver_minimum,
            calls as f64 / r.naver_minimum as f64,
            r.naver_429,
            r.rechecked,
            r.appended,
            r.updated,
            r.sheets_reads,
            r.sheets_writes,
            r.wall_s,
            r.floor_s.map_or("—".into(), |f| format!("{f:.1} s")),
            r.floor_s
                .map_or("—".into(), |f| format!("{:.2}", r.wall_s / f)),
            mib(peak[0]),
            mib(peak[1]),
            mib(peak[2]),
            mark(calls == r.naver_minimum),
            r.floor_s
                .map_or(String::new(), |f| format!("{} ", mark(r.wall_s <= 1.1 * f))),
            mark(peak.iter().all(|&k| mib(k) <= PEAK_MB)),
        );
    }
    // The insert at scale takes its own run (`insert-scale`, ~15 minutes): its last table.
    let scale = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks/insert-scale.md");
    if let Ok(table) = std::fs::read_to_string(scale) {
        let _ = writeln!(s, "\n## Insert at scale\n\n{}", table.trim_end());
    }
    s.push_str(PROOF);
    s
}

/// The other half of the proof: what the test suite shows (each count is asserted there).
const PROOF: &str = "
## Faults, bad input, fuzzing and privacy (the test suite)

These are tests, not measurements; each prints or asserts its count. Run one with its output:

| what | command | scenarios |
|---|---|---|
| fault matrix: error, killed process, timeout and applied-then-503 in every state and before every insert write, each recovered by a rerun of the same execution and by a new one; sheet = clean run's | `cargo test -p ordersync-e2e --test fault_matrix -- --nocapture` | 56 (7 places × 4 faults × 2 recoveries), plus token expiry, 429 storms on both APIs, two executions on one tab |
| malformed execution inputs → `Ordersync.InvalidInput`, no side effect | `cargo test -p ordersync-e2e --test bad_inputs -- --nocapture` | 34 |
| malformed NAVER and Google answers, broken header rows, odd key cells → documented name or behaviour; rerun after healing = clean sheet | `cargo test -p ordersync-e2e --test bad_upstream -- --nocapture` | 50 |
| credentials and customer data only in the payload objects and the sheet (in-process at DEBUG, and the built binaries' own logs); SSE on every put | `cargo test -p ordersync-e2e --test privacy` | 2 runs each |
| fuzzing: payload decoder, transform, stage events | `.ci/run` (20 s each) or README, Fuzzing | — |
";
