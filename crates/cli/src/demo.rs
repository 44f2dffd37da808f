//! `ordersync demo`: the whole pipeline on this machine, with nothing to configure.
//!
//! Starts the sandbox's fake NAVER shop and fake Google Sheets on 127.0.0.1 (the same strict
//! fakes the tests use: signed tokens, rate limits, RAW writes), runs the real
//! `statemachine.asl.json` through the local runner with a local directory store, shows the
//! resulting sheet and writes it as CSV. Then a seller types a note into their own column, some
//! orders move on (dispatched, purchase decided), and a second execution upserts the changes:
//! same rows, new statuses, the note untouched, nothing duplicated.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::TimeDelta;
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
    // The demo runs at the real time (its shop is three whole KST days before now); the one
    // clock is shared by the shop, its server and every "now" below.
    let clock = ordersync_core::clock::system();
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

    let source = naver_source(&naver, naver.client_secret())?;
    let sheets = sheets_client(&google).await?;
    let store = DirStore::new(options.dir.join("store")).map_err(|e| e.to_string())?;
    let functions = LocalFunctions::new(&store, &source, &sheets);
    let machine = machine(DEFINITION).map_err(|e| e.to_string())?;

    let (from, _) = naver.shop().span();
    let today = clock.now().with_timezone(&from.timezone()).date_naive();
    let request = json!({
        "account": {"secret_id": "demo/naver-shop"},
        "range": {"from": from.date_naive().to_string(), "to": today.to_string()},
        "sheet": {"spreadsheet_id": SPREADSHEET, "tab": TAB}
    });
    println!(
        "Sandbox: fake NAVER shop at {} ({} product orders), fake Google Sheets at {}",
        naver.base_url(),
        naver.shop().product_order_ids().len(),
        google.base_url()
    );
    println!("Execution input:\n{request:#}\n");

    // Run 1: an empty spreadsheet gets its tab, header and every row.
    let first = run_once(&machine, &functions, &store, "demo", request.clone()).await?;
    let csv = options.dir.join("sheet.csv");
    let values = google.values(SPREADSHEET, TAB);
    println!(
        "\nThe sheet after run 1 ({} data rows; first 8 shown):",
        values.len().saturating_sub(1)
    );
    print_table(&values, 8, None);
    write_csv(&csv, &values)?;

    // Some orders move on at NAVER; the seller adds their own column and writes a note on the
    // row of one of those orders.
    let changed = naver.advance_orders(5, clock.now().fixed_offset() - TimeDelta::seconds(2));
    let note_column = values.first().map_or(0, Vec::len);
    google.person_add_column(SPREADSHEET, TAB, SELLER_COLUMN, note_column);
    let mut with_note = google.values(SPREADSHEET, TAB);
    let noted = changed.first().cloned().unwrap_or_default();
    if let Some(row) = with_note.iter_mut().find(|r| r.first() == Some(&noted)) {
        // Google leaves trailing empty cells out of a row; the note goes in the new column.
        row.resize(note_column + 1, String::new());
        row[note_column] = "단골 고객 — 사은품 동봉".into();
    }
    google.set_values(SPREADSHEET, TAB, with_note);
    println!(
        "\nMeanwhile: {} product orders changed status at NAVER, and the seller wrote a note in their own column `{SELLER_COLUMN}` on the row of {noted}.",
        changed.len()
    );

    // Run 2: a new execution with the same input upserts by key.
    let second = run_once(&machine, &functions, &store, "demo", request).await?;
    let values = google.values(SPREADSHEET, TAB);
    println!("\nThe changed rows after run 2:");
    print_table(&values, usize::MAX, Some(&changed));
    write_csv(&csv, &values)?;
    let note_kept = values
        .iter()
        .find(|r| r.first() == Some(&noted))
        .and_then(|r| r.get(note_column))
        .is_some_and(|c| c.starts_with("단골"));
    println!(
        "\nRun 1 appended {} rows; run 2 updated {}, left {} unchanged, appended {}. Rows in the sheet: {} (no duplicates). Seller's note kept: {}.",
        first.appended,
        second.updated,
        second.unchanged,
        second.appended,
        values.len().saturating_sub(1),
        if note_kept { "yes" } else { "NO" }
    );
    println!("CSV of the sheet: {}", csv.display());
    println!(
        "Payload objects and the run journal: {}",
        options.dir.join("store").display()
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
        Field::TotalPaymentAmount.default_header(),
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
