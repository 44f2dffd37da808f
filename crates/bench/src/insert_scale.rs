//! `insert-scale`: the insert Lambda (release binary, behind a local Runtime API, one fresh
//! instance per run so each peak is that run's) upserting `write` rows into a tab that already
//! holds `tab` rows, against the fake Google at 150 ms per call with Google's quotas (60 writes
//! a minute per user).
//!
//! For each tab size, three runs: 0 %, 10 % and 100 % of the rows already in the tab changed
//! (the first `min(tab, write)` keys to write are in the tab; the rest are appended). Each run
//! reports Sheets calls beside the minimum, the bytes Google sent (on the wire, gzip, and what
//! the same answers are uncompressed), the insert process's peak RSS and the wall time. The
//! minimum: one OAuth token and one read of the tab; with anything to write, one value write
//! per 2 MB of what the value writes carried (so a count above it is requests packed below the
//! limit), each after its key check; when the grid must grow, one `spreadsheets.get`
//! and one structure write.
//!
//! The table goes to `benchmarks/insert-scale.md`, which the report puts into BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ordersync_core::columns::ColumnChoice;
use ordersync_core::events::TransformCounts;
use ordersync_core::payload::PayloadWriter;
use ordersync_core::rows::{Cell, RowsMeta, RowsSchema, SheetRow};
use ordersync_core::source::FetchCounts;
use ordersync_core::store::write_object;
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::Window;
use ordersync_local::definition::INSERT;
use ordersync_sheets::{SheetsClient, SheetsConfig, Target, Unguarded, upsert};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::lambdas::{FunctionSpec, Lambdas};
use ordersync_testkit::orders::{Rng, order};
use ordersync_testkit::s3::S3Server;
use serde_json::json;

const BOOK: &str = "scale-book";
const TAB: &str = "주문";
const PEAK_TARGET_MB: [(usize, f64); 2] = [(100_000, 128.0), (500_000, 192.0)];

/// One run's numbers.
struct Run {
    tab: usize,
    write: usize,
    changed_pct: u32,
    appended: u64,
    updated: u64,
    unchanged: u64,
    calls: u64,
    minimum: u64,
    wire_bytes: u64,
    plain_bytes: u64,
    peak_kib: u64,
    wall_s: f64,
}

/// The largest tab of `cols` columns that leaves room under Google's 10M cells.
pub fn max_tab_rows(cols: usize) -> usize {
    (10_000_000 / cols.max(1)) - 1_000
}

pub fn run(binary: &Path, tabs: &[usize], write: usize, out: &Path) -> String {
    let rt = crate::runtime();
    let columns = ColumnChoice::default().resolve().expect("standard columns");
    let headers: Vec<String> = columns.iter().map(|c| c.header.clone()).collect();
    let status = columns
        .iter()
        .position(|c| c.header == "주문상태")
        .expect("status column");
    let largest = tabs.iter().copied().max().unwrap_or(0).max(write);
    let mut rng = Rng::new(11);
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00+09:00").expect("time");
    let rows: Vec<SheetRow> = (0..largest as u64)
        .map(|i| ordersync_transform::mapping::row(&order(i, at, &mut rng), &columns, &[]))
        .collect();
    let mut runs = Vec::new();
    for &tab in tabs {
        for changed_pct in [0, 10, 100] {
            let run = rt.block_on(one(
                binary,
                &columns,
                &headers,
                status,
                &rows,
                tab,
                write,
                changed_pct,
            ));
            eprintln!(
                "tab {tab}, {changed_pct} % changed: {} calls, peak {:.1} MB, {:.1} s",
                run.calls,
                run.peak_kib as f64 / 1024.0,
                run.wall_s
            );
            runs.push(run);
        }
    }
    let table = render(&runs, headers.len());
    std::fs::write(out, &table).expect("write the table");
    table
}

#[allow(clippy::too_many_arguments)]
async fn one(
    binary: &Path,
    columns: &[ordersync_core::columns::Column],
    headers: &[String],
    status: usize,
    rows: &[SheetRow],
    tab: usize,
    write: usize,
    changed_pct: u32,
) -> Run {
    let google = FakeGoogle::start(FakeGoogleConfig {
        latency: crate::e2e::SHEETS_LATENCY,
        ..FakeGoogleConfig::default()
    })
    .await;
    google.create_spreadsheet(BOOK);
    // The tab as a person's earlier runs left it: made by one upsert, then filled.
    let client = SheetsClient::new(
        &google.service_account_key_json(),
        SheetsConfig {
            base_url: google.base_url(),
            ..SheetsConfig::default()
        },
    )
    .await
    .expect("client");
    let target = Target {
        spreadsheet: BOOK,
        tab: TAB,
        headers,
        key_index: 0,
    };
    upsert(
        &client,
        &target,
        &rows[..1],
        Instant::now() + Duration::from_secs(60),
        &mut Unguarded,
    )
    .await
    .expect("the tab");
    let text = |c: &Cell| match c {
        Cell::Text(t) => t.clone(),
        Cell::Number(n) => n.to_string(),
        Cell::Keep(_) => String::new(),
    };
    let grid: Vec<Vec<String>> = std::iter::once(headers.to_vec())
        .chain(
            rows[..tab]
                .iter()
                .map(|r| r.cells.iter().map(text).collect()),
        )
        .collect();
    google.set_values(BOOK, TAB, grid);

    // The rows to write: the first keys (in the tab up to its size), `changed_pct` of those
    // in the tab with a new status.
    let existing = tab.min(write);
    let changes = |i: usize| match changed_pct {
        0 => false,
        p => i < existing && i.is_multiple_of((100 / p as usize).max(1)),
    };
    let delivered = Cell::Text("배송완료".into());
    let to_write: Vec<SheetRow> = rows[..write]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            if changes(i) {
                r.cells[status] = delivered.clone();
            }
            r
        })
        .collect();

    let s3 = S3Server::start().await;
    let store = s3.store("bench");
    let window = Window::new(
        parse_instant("2026-11-01", DateOnly::StartOfDay).expect("from"),
        parse_instant("2026-11-01", DateOnly::EndOfDay).expect("to"),
    )
    .expect("window");
    let execution = format!("scale-{tab}-{changed_pct}");
    let mut writer = PayloadWriter::<RowsSchema>::new(&RowsMeta {
        window,
        columns: columns.to_vec(),
    })
    .expect("writer");
    for r in &to_write {
        writer.push(r).expect("row");
    }
    let key = format!("runs/{execution}/rows/{}.jsonl.zst", window.id());
    let reference = write_object::<RowsSchema>(&store, &key, writer.finish().expect("rows"))
        .await
        .expect("rows object");
    drop(to_write);

    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("sa.json");
    std::fs::write(&key_path, google.service_account_key_json()).expect("key file");
    let mut env = s3.store_env("bench");
    env.push(("GOOGLE_SHEETS_BASE_URL".into(), google.base_url()));
    env.push((
        "GOOGLE_APPLICATION_CREDENTIALS".into(),
        key_path.display().to_string(),
    ));
    let lambdas = Lambdas::new([(
        INSERT.to_owned(),
        FunctionSpec {
            binary: PathBuf::from(binary),
            env,
            timeout: Duration::from_secs(900),
        },
    )]);
    let event = json!({
        "execution": execution,
        "sheet": {"spreadsheet_id": BOOK, "tab": TAB},
        "windows": [{
            "window": window,
            "rows": reference,
            "fetched": FetchCounts::default(),
            "transformed": TransformCounts::default(),
        }],
        "sync": null,
    });
    let before = google.stats();
    let started = Instant::now();
    let answer = lambdas
        .invoke_function(INSERT, event)
        .await
        .unwrap_or_else(|f| panic!("insert failed: {f:?}"));
    let wall_s = started.elapsed().as_secs_f64();
    let after = google.stats();
    let count = |v: &str| answer[v].as_u64().unwrap_or(0);
    let (appended, updated, unchanged) = (count("appended"), count("updated"), count("unchanged"));
    assert_eq!(appended + updated + unchanged, write as u64, "{answer}");
    let grew = tab < write;
    // The fewest value writes that can carry what was sent, 2 MB each, each after its key
    // check: a count above it is requests packed below the limit.
    let sent = after.values_write_bytes - before.values_write_bytes;
    let value_writes = sent.div_ceil(crate::e2e::REQUEST_BYTES as u64);
    let minimum = 2 + 2 * value_writes + if grew { 2 } else { 0 };
    Run {
        tab,
        write,
        changed_pct,
        appended,
        updated,
        unchanged,
        calls: (after.token_calls + after.reads + after.writes)
            - (before.token_calls + before.reads + before.writes),
        minimum,
        wire_bytes: after.answer_bytes - before.answer_bytes,
        plain_bytes: after.answer_plain_bytes - before.answer_plain_bytes,
        peak_kib: lambdas.stats().get(INSERT).map_or(0, |s| s.peak_rss_kib),
        wall_s,
    }
}

fn render(runs: &[Run], cols: usize) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "The insert Lambda (release binary, a fresh instance per run) upserting rows into a tab of {cols} \
         standard columns that already holds rows, against the fake Google at 150 ms per call with Google's \
         quotas. The first keys to write are in the tab (as many as it holds), the rest are new; 0 %, 10 % or \
         100 % of those in the tab changed. *Minimum*: one OAuth token, one read of the tab; one value write \
         per 2 MB of what the writes carried, each after its key check; a `spreadsheets.get` and a structure write when the grid \
         grows. *Bytes*: what Google sent for the run (on the wire, gzip) and the same answers uncompressed. \
         Produced by `cargo run --release -p ordersync-bench -- insert-scale`.\n\n\
         | rows in the tab | rows to write | changed | appended / updated / unchanged | Sheets calls ÷ minimum | bytes received (gzip) / uncompressed | insert peak RSS | wall | target (calls 1.00, peak) |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    for r in runs {
        let peak_mb = r.peak_kib as f64 / 1024.0;
        let target = PEAK_TARGET_MB
            .iter()
            .find(|(rows, _)| r.tab <= *rows)
            .map_or(192.0, |(_, mb)| *mb);
        let mark = |ok: bool| if ok { "✔" } else { "✘" };
        let _ = writeln!(
            s,
            "| {} | {} | {} % | {} / {} / {} | {} ÷ {} = {:.2} | {:.1} / {:.1} MB | {:.1} MB | {:.1} s | {} {} (≤ {target:.0} MB) |",
            r.tab,
            r.write,
            r.changed_pct,
            r.appended,
            r.updated,
            r.unchanged,
            r.calls,
            r.minimum,
            r.calls as f64 / r.minimum as f64,
            r.wire_bytes as f64 / 1e6,
            r.plain_bytes as f64 / 1e6,
            peak_mb,
            r.wall_s,
            mark(r.calls == r.minimum),
            mark(peak_mb <= target),
        );
    }
    s
}
