//! `ordersync demo`: the whole pipeline on this machine, with nothing to configure.
//!
//! Starts the sandbox's fake NAVER shop and fake Google Sheets on 127.0.0.1 (the same strict
//! fakes the tests use: signed tokens, rate limits, RAW writes), runs the real
//! `statemachine.asl.json` through the local runner with a local directory store, shows the
//! resulting sheet and writes it as CSV. The requests are **syncs**: the first backfills the
//! tab from the shop's first day; then the shop moves on (dispatches and purchase decisions,
//! deliveries that only a re-read by id finds, a partial cancel, new orders) while a seller types
//! a note into their own column, and a second sync updates exactly those rows (the note
//! untouched, nothing duplicated); a third, with nothing new, writes nothing.
//!
//! The demo's NAVER side (the shop, its server, the NAVER client, the plan and the lease) runs on
//! one clock that starts at the real time and is moved forward between syncs, so the shop's
//! changes fall inside the next sync's span without waiting.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use ordersync_core::clock::{Clock, ManualClock};
use ordersync_core::columns::{Field, KEY_FIELD};
use ordersync_core::events::RunSummary;
use ordersync_core::store::DirStore;
use ordersync_local::definition::{DEFINITION, execute, machine};
use ordersync_local::functions::LocalFunctions;
use ordersync_local::sandbox::{naver_source, sheets_client};
use ordersync_runner::{Machine, Options, Outcome};
use ordersync_sandbox::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_sandbox::naver::{FakeNaver, FakeNaverConfig};
use serde_json::json;

use crate::progress::Progress;
use crate::run::fresh_name;

pub const SPREADSHEET: &str = "demo-spreadsheet";
pub const TAB: &str = "스마트스토어 주문";
const SELLER_COLUMN: &str = "판매자 메모";

pub struct DemoOptions {
    /// Where the store and the CSV go.
    pub dir: PathBuf,
    /// Orders in the fake shop (each has 1–3 product orders).
    pub orders: usize,
}

/// Runs the demo; prints as it goes.
pub async fn demo(options: DemoOptions) -> Result<ExitCode, crate::error::CliError> {
    run_demo(options)
        .await
        .map_err(|e| crate::error::CliError::Failed(format!("demo: {e}")))
}

async fn run_demo(options: DemoOptions) -> Result<ExitCode, String> {
    // The demo starts at the real time (its shop is three whole KST days before now); the one
    // clock is shared by the shop, its server, the client and every "now" below.
    let manual = ManualClock::at(chrono::Utc::now());
    let clock: Arc<dyn Clock> = Arc::new(manual.clone());
    let naver = FakeNaver::start(FakeNaverConfig {
        seed: 2026,
        orders: options.orders,
        latency: Duration::from_millis(20),
        ..FakeNaverConfig::at(clock.clone())
    })
    .await;
    let google = FakeGoogle::start(FakeGoogleConfig {
        latency: Duration::from_millis(40),
        ..FakeGoogleConfig::default()
    })
    .await;
    google.create_spreadsheet(SPREADSHEET);

    let source = naver_source(&naver, naver.client_secret())?.with_clock(clock.clone());
    let sheets = sheets_client(&google).await?;
    // A fresh store each time: a sync's cursor lives there, and the fake shop is new too.
    let store_dir = options.dir.join("store");
    if store_dir.exists() {
        std::fs::remove_dir_all(&store_dir).map_err(|e| format!("{}: {e}", store_dir.display()))?;
    }
    let store = DirStore::new(&store_dir).map_err(|e| e.to_string())?;
    let mut functions = LocalFunctions::new(&store, &source, &sheets);
    functions.clock = clock.clone();
    let machine = machine(DEFINITION).map_err(|e| e.to_string())?;

    let (from, _) = naver.shop().span();
    let request = json!({
        "account": {"secret_id": "demo/naver-shop"},
        "since": from.date_naive().to_string(),
        "sheet": {"spreadsheet_id": SPREADSHEET, "tab": TAB}
    });
    println!(
        "Sandbox: fake NAVER shop at {} ({} product orders), fake Google Sheets at {}",
        naver.base_url(),
        naver.shop().product_order_ids().len(),
        google.base_url()
    );
    println!("Execution input:\n{request:#}\n");

    // Sync 1: an empty spreadsheet gets its tab, header and every row since `since`.
    let first = run_once(&machine, &functions, &store, "demo-sync", request.clone()).await?;
    let csv = options.dir.join("sheet.csv");
    let values = google.values(SPREADSHEET, TAB);
    println!(
        "\nThe sheet after sync 1 ({} data rows; first 8 shown; {} open orders to re-read):",
        values.len().saturating_sub(1),
        first.sync.map_or(0, |s| s.open_orders)
    );
    print_table(&values, 8, None);
    write_csv(&csv, &values)?;

    // Twenty minutes later: the shop has moved on, and the seller wrote a note in their own
    // column on the row of one of the changed orders.
    manual.advance(TimeDelta::minutes(20));
    let at = clock.now().fixed_offset() - TimeDelta::minutes(5);
    let dispatched = naver.advance_orders(4, at);
    let delivered = naver.deliver_orders(2, at);
    let cancelled = naver.cancel_one_unit(1, at);
    let added = naver.add_orders(7, 2, at - TimeDelta::minutes(10), at);
    let mut changed: Vec<String> = [&dispatched, &delivered, &cancelled, &added]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    changed.dedup();
    let note_column = values.first().map_or(0, Vec::len);
    google.person_add_column(SPREADSHEET, TAB, SELLER_COLUMN, note_column);
    let mut with_note = google.values(SPREADSHEET, TAB);
    let noted = dispatched.first().cloned().unwrap_or_default();
    if let Some(row) = with_note.iter_mut().find(|r| r.first() == Some(&noted)) {
        // Google leaves trailing empty cells out of a row; the note goes in the new column.
        row.resize(note_column + 1, String::new());
        row[note_column] = "단골 고객 — 사은품 동봉".into();
    }
    google.set_values(SPREADSHEET, TAB, with_note);
    println!(
        "\nMeanwhile at NAVER: {} dispatched or purchase-decided, {} delivered (only `/query` shows \
         a delivery: the change feed never lists it), {} partly cancelled, {} new product orders. \
         The seller wrote a note in their own column `{SELLER_COLUMN}` on the row of {noted}.",
        dispatched.len(),
        delivered.len(),
        cancelled.len(),
        added.len()
    );

    // Sync 2: the feed from the cursor, plus the open orders re-read by id.
    let second = run_once(&machine, &functions, &store, "demo-sync", request.clone()).await?;
    let values = google.values(SPREADSHEET, TAB);
    println!("\nThe changed rows after sync 2:");
    print_table(&values, usize::MAX, Some(&changed));
    write_csv(&csv, &values)?;
    let note_kept = values
        .iter()
        .find(|r| r.first() == Some(&noted))
        .and_then(|r| r.get(note_column))
        .is_some_and(|c| c.starts_with("단골"));

    // Sync 3, ten minutes later: nothing new.
    manual.advance(TimeDelta::minutes(10));
    let writes = google.stats().writes;
    let third = run_once(&machine, &functions, &store, "demo-sync", request).await?;
    let quiet = google.stats().writes == writes;
    println!(
        "\nSync 1 appended {} rows. Sync 2 appended {}, updated {} (re-read {} open orders), left \
         {} unchanged. Sync 3 changed {} rows and made {} writes. Rows in the sheet: {} (no \
         duplicates). Seller's note kept: {}.",
        first.appended,
        second.appended,
        second.updated,
        second.orders_rechecked,
        second.unchanged,
        third.appended + third.updated,
        if quiet { "no" } else { "some" },
        values.len().saturating_sub(1),
        if note_kept { "yes" } else { "NO" }
    );
    println!("CSV of the sheet: {}", csv.display());
    println!(
        "Payload objects, the run journal and the tab's sync cursor: {}",
        store_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn run_once<N: ordersync_core::source::Source>(
    machine: &Machine,
    functions: &LocalFunctions<'_, DirStore, N>,
    store: &DirStore,
    prefix: &str,
    request: serde_json::Value,
) -> Result<RunSummary, String> {
    let name = fresh_name(prefix);
    println!("Running execution {name} …");
    let progress = Progress::new();
    let outcome = execute(
        machine,
        store,
        functions,
        &progress,
        Options::default(),
        &name,
        request,
    )
    .await;
    progress.finish();
    match outcome? {
        Outcome::Succeeded { output, .. } | Outcome::AlreadySucceeded { output } => {
            let summary: RunSummary = serde_json::from_value(output).map_err(|e| e.to_string())?;
            print!("{}", crate::summary::render(&summary));
            Ok(summary)
        }
        Outcome::Failed { failure, .. } => Err(format!("execution {name} failed: {failure}")),
    }
}

/// A few columns of the sheet as a plain table; `only` limits it to rows with those keys.
fn print_table(values: &[Vec<String>], limit: usize, only: Option<&[String]>) {
    let Some(header) = values.first() else { return };
    let wanted = [
        KEY_FIELD.default_header(),
        Field::ProductOrderStatus.default_header(),
        Field::ProductName.default_header(),
        Field::RemainQuantity.default_header(),
        Field::RemainPaymentAmount.default_header(),
        Field::TrackingNumber.default_header(),
        SELLER_COLUMN,
    ];
    let columns: Vec<usize> = wanted
        .iter()
        .filter_map(|w| header.iter().position(|h| h == w))
        .collect();
    let cell = |row: &[String], i: usize| -> String {
        let text: String = row
            .get(i)
            .map(String::as_str)
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.chars().count() > 22 {
            format!("{}…", text.chars().take(21).collect::<String>())
        } else {
            text
        }
    };
    let line = |row: &[String]| {
        columns
            .iter()
            .map(|&i| cell(row, i))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!("  {}", line(header));
    let key = header
        .iter()
        .position(|h| h == KEY_FIELD.default_header())
        .unwrap_or(0);
    values
        .iter()
        .skip(1)
        .filter(|r| only.is_none_or(|ids| r.get(key).is_some_and(|k| ids.contains(k))))
        .take(limit)
        .for_each(|r| println!("  {}", line(r)));
}

fn write_csv(path: &Path, values: &[Vec<String>]) -> Result<(), String> {
    // Google leaves trailing empty cells out, so rows may differ in length.
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for row in values {
        writer.write_record(row).map_err(|e| e.to_string())?;
    }
    writer.flush().map_err(|e| e.to_string())
}
