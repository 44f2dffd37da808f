//! The insert handler over an in-memory workbook ([`MemoryWorkbook`], held to Google's rules)
//! and a directory store, without HTTP: what lands in the sheet on a first run, a rerun, a
//! seller's edits and a later window, and what a bad event, a leased tab or a refused structure
//! change leave behind. The same handler over the Google client and the fake server is tested
//! in `rerun_and_races.rs`.

use std::time::{Duration, Instant};

use ordersync_core::clock::SystemClock;
use ordersync_core::columns::{Column, ColumnChoice, KEY_FIELD};
use ordersync_core::errors::ErrorName;
use ordersync_core::events::{InsertEvent, RunSummary, TransformCounts, WindowOutcome};
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::lease::{self, LeaseConfig};
use ordersync_core::payload::encode;
use ordersync_core::request::SheetTarget;
use ordersync_core::rows::{Cell, RowsMeta, RowsSchema, SheetRow};
use ordersync_core::store::{DirStore, write_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::{MAX_WINDOW, Window, split};
use ordersync_insert::handle;
use ordersync_sheets::{Limits, MemoryWorkbook, Workbook};
use serde_json::json;

const BOOK: &str = "book";
const TAB: &str = "주문";

fn columns() -> Vec<Column> {
    ColumnChoice::default().resolve().unwrap()
}

fn key_col() -> usize {
    columns().iter().position(|c| c.field == KEY_FIELD).unwrap()
}

/// The default columns, with the key in its column and `status` in every other one.
fn row(key: u64, status: &str) -> SheetRow {
    let key = format!("20261101{key:011}");
    let cells = columns()
        .iter()
        .map(|c| {
            if c.field == KEY_FIELD {
                Cell::Text(key.clone())
            } else {
                Cell::Text(status.into())
            }
        })
        .collect();
    SheetRow {
        key,
        cells,
        sync: None,
    }
}

/// Consecutive one-day windows from 2026-11-01.
fn days(n: usize) -> Vec<Window> {
    let from = parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap();
    let to = parse_instant("2026-11-30", DateOnly::EndOfDay).unwrap();
    split(from, to, MAX_WINDOW).into_iter().take(n).collect()
}

/// One rows object per window in `store`, as transform would write them.
async fn windows(store: &DirStore, execution: &str, rows: &[Vec<SheetRow>]) -> Vec<WindowOutcome> {
    let mut out = Vec::new();
    for (window, rows) in days(rows.len()).into_iter().zip(rows) {
        let key = object_key(execution, Stage::Rows, &window).unwrap();
        let meta = RowsMeta {
            window,
            columns: columns(),
        };
        let reference =
            write_object::<RowsSchema>(store, &key, encode::<RowsSchema>(&meta, rows).unwrap())
                .await
                .unwrap();
        out.push(WindowOutcome {
            window,
            rows: reference,
            fetched: Default::default(),
            transformed: TransformCounts {
                orders_in: rows.len() as u64,
                rows_out: rows.len() as u64,
                duplicates_dropped: 0,
            },
        });
    }
    out
}

fn event(execution: &str, tab: &str, windows: Vec<WindowOutcome>) -> InsertEvent {
    InsertEvent {
        sync: None,
        execution: execution.into(),
        sheet: SheetTarget {
            spreadsheet_id: BOOK.into(),
            tab: tab.into(),
        },
        windows,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

async fn run(
    store: &DirStore,
    book: &MemoryWorkbook,
    event: InsertEvent,
) -> Result<RunSummary, ordersync_core::StepError> {
    handle(
        store,
        book,
        &LeaseConfig::default(),
        &SystemClock,
        event,
        soon(),
    )
    .await
}

/// The sheet's data rows by key: each row's text.
fn by_key(book: &MemoryWorkbook) -> std::collections::BTreeMap<String, Vec<String>> {
    let key_at = key_col();
    book.text(TAB)
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|r| (r[key_at].clone(), r))
        .collect()
}

#[tokio::test]
async fn a_first_run_creates_the_tab_and_a_rerun_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let book = MemoryWorkbook::new(BOOK);
    let rows: Vec<SheetRow> = (0..40).map(|i| row(i, "결제완료")).collect();
    let refs = windows(&store, "exec-1", std::slice::from_ref(&rows)).await;

    let first = run(&store, &book, event("exec-1", TAB, refs.clone()))
        .await
        .unwrap();
    assert_eq!((first.appended, first.updated, first.unchanged), (40, 0, 0));
    // Read, tabs, addSheet, the key check, one value write.
    assert_eq!(first.sheets_api_calls, 5);
    assert_eq!(book.calls(), (3, 2));
    // The tabs were listed (the tab was created): the summary says how full the workbook is.
    let budget = first.cell_budget.expect("known when the tabs were listed");
    assert_eq!((budget.limit, budget.warning), (10_000_000, false));
    assert!(budget.cells > 0);
    let tab = book.tab(TAB).unwrap();
    assert_eq!(tab.frozen_rows, 1, "the header row is frozen");
    let text = book.text(TAB).unwrap();
    let headers: Vec<String> = columns().into_iter().map(|c| c.header).collect();
    assert_eq!(text[0], headers);
    assert_eq!(text.len(), 41);
    assert_eq!(text[1][key_col()], rows[0].key);

    let rerun = run(&store, &book, event("exec-1", TAB, refs))
        .await
        .unwrap();
    assert_eq!((rerun.appended, rerun.updated, rerun.unchanged), (0, 0, 40));
    assert_eq!(rerun.sheets_api_calls, 1, "one read, no write");
    assert_eq!(book.text(TAB).unwrap(), text);
}

#[tokio::test]
async fn a_sellers_column_and_notes_are_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let book = MemoryWorkbook::new(BOOK);
    let rows: Vec<SheetRow> = (0..10).map(|i| row(i, "결제완료")).collect();
    let refs = windows(&store, "exec-1", std::slice::from_ref(&rows)).await;
    run(&store, &book, event("exec-1", TAB, refs))
        .await
        .unwrap();

    // The seller puts a notes column between the key and the next managed column.
    let memo_at = key_col() + 1;
    assert!(book.insert_column(TAB, memo_at));
    assert!(book.set_cell(TAB, 0, memo_at, json!("포장메모")));
    for r in 1..=10 {
        assert!(book.set_cell(TAB, r, memo_at, json!(format!("박스 {r}"))));
    }

    // Every other order changes status: rewritten in place, notes untouched.
    let changed: Vec<SheetRow> = (0..10)
        .map(|i| {
            row(
                i,
                if i % 2 == 0 {
                    "배송중"
                } else {
                    "결제완료"
                },
            )
        })
        .collect();
    let refs = windows(&store, "exec-2", std::slice::from_ref(&changed)).await;
    let s = run(&store, &book, event("exec-2", TAB, refs))
        .await
        .unwrap();
    assert_eq!((s.appended, s.updated, s.unchanged), (0, 5, 5));
    let text = book.text(TAB).unwrap();
    assert_eq!(text.len(), 11, "no row added");
    assert_eq!(text[0][memo_at], "포장메모");
    for (r, want) in text.iter().skip(1).zip(&changed) {
        let i = r[key_col()].clone();
        assert_eq!(i, want.key);
        assert_eq!(
            r[memo_at],
            format!("박스 {}", want.key[8..].parse::<u64>().unwrap() + 1)
        );
        // The cell after the notes column is the managed one that follows the key.
        assert_eq!(
            Cell::Text(r[memo_at + 1].clone()),
            want.cells[key_col() + 1]
        );
    }
}

#[tokio::test]
async fn a_key_in_several_windows_is_written_once_with_its_latest_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let book = MemoryWorkbook::new(BOOK);
    // Day 1: orders 0..5; day 2: orders 3..8 changed again (3 and 4 are in both).
    let day1: Vec<SheetRow> = (0..5).map(|i| row(i, "결제완료")).collect();
    let day2: Vec<SheetRow> = (3..8).map(|i| row(i, "배송중")).collect();
    let refs = windows(&store, "exec-1", &[day1.clone(), day2.clone()]).await;
    let s = run(&store, &book, event("exec-1", TAB, refs))
        .await
        .unwrap();
    assert_eq!((s.appended, s.rows), (8, 10));
    let sheet = by_key(&book);
    assert_eq!(sheet.len(), 8, "one row per key");
    for want in day1.iter().take(3).chain(&day2) {
        assert_eq!(
            sheet[&want.key][key_col() + 1],
            match &want.cells[key_col() + 1] {
                Cell::Text(t) => t.clone(),
                Cell::Number(n) => n.to_string(),
                Cell::Keep(_) => unreachable!("transform keeps no cell of a feed row"),
            }
        );
    }
    // Order 3 keeps the place of its first row (the fourth data row), with day 2's values.
    let text = book.text(TAB).unwrap();
    assert_eq!(text[4][key_col()], day2[0].key);
    assert_eq!(text[4][key_col() + 1], "배송중");

    // A later run with one more window merges into the sheet: new keys after the last row,
    // known keys in place.
    let day3: Vec<SheetRow> = [(7, "배송완료"), (8, "결제완료")]
        .iter()
        .map(|&(i, s)| row(i, s))
        .collect();
    let refs = windows(&store, "exec-2", &[vec![], vec![], day3.clone()]).await;
    let s = run(&store, &book, event("exec-2", TAB, refs))
        .await
        .unwrap();
    assert_eq!((s.appended, s.updated, s.unchanged), (1, 1, 0));
    let text = book.text(TAB).unwrap();
    assert_eq!(text.len(), 10);
    assert_eq!(text[8][key_col()], day3[0].key);
    assert_eq!(text[8][key_col() + 1], "배송완료");
    assert_eq!(text[9][key_col()], day3[1].key);
}

#[tokio::test]
async fn a_bad_event_or_a_leased_tab_leaves_the_sheet_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let book = MemoryWorkbook::new(BOOK);
    let refs = windows(&store, "exec-1", &[vec![row(1, "결제완료")]]).await;

    let err = run(&store, &book, event("exec-1", " ", refs.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::InvalidInput, "{err}");
    assert_eq!(err.message, "sheet.tab is empty");

    let config = LeaseConfig::default();
    let other = lease::acquire(&store, BOOK, TAB, "exec-other", &config, chrono::Utc::now())
        .await
        .unwrap();
    let err = run(&store, &book, event("exec-1", TAB, refs.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::Busy, "{err}");
    assert_eq!(book.calls(), (0, 0), "the sheet was never called");

    lease::release(&store, other).await.unwrap();
    let s = run(&store, &book, event("exec-1", TAB, refs))
        .await
        .unwrap();
    assert_eq!(s.appended, 1);
}

#[tokio::test]
async fn a_workbook_over_its_cell_limit_refuses_before_any_value_and_frees_the_tab() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    // Room for the new tab's header and a few rows, not for 50.
    let width = columns().len();
    let book = MemoryWorkbook::new(BOOK).with_limits(Limits {
        max_cells: width * 20,
        max_request_bytes: 2_000_000,
    });
    let rows: Vec<SheetRow> = (0..50).map(|i| row(i, "결제완료")).collect();
    let refs = windows(&store, "exec-1", &[rows]).await;
    let err = run(&store, &book, event("exec-1", TAB, refs))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::Sheet, "{err}");
    assert!(err.message.contains("nothing was written"), "{err}");
    assert_eq!(book.tab(TAB), None);
    assert_eq!(book.calls().1, 0, "no write was attempted");
    // The lease was released: another execution takes the tab at once.
    lease::acquire(
        &store,
        BOOK,
        TAB,
        "exec-2",
        &LeaseConfig::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn small_requests_split_the_write_into_several() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let book = MemoryWorkbook::new(BOOK).with_limits(Limits {
        max_cells: 10_000_000,
        max_request_bytes: 8_192,
    });
    let rows: Vec<SheetRow> = (0..200).map(|i| row(i, "결제완료")).collect();
    let refs = windows(&store, "exec-1", &[rows]).await;
    let s = run(&store, &book, event("exec-1", TAB, refs))
        .await
        .unwrap();
    assert_eq!(s.appended, 200);
    let (_, writes) = book.calls();
    assert!(writes > 3, "the values went in several requests: {writes}");
    assert_eq!(by_key(&book).len(), 200);
}

#[tokio::test]
async fn the_summary_warns_when_the_workbook_passes_80_percent_of_the_cell_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let columns = columns().len();
    // Room for the header and 40 rows of the standard columns, and a little more.
    let limit = 41 * columns * 120 / 100;
    let book = MemoryWorkbook::new(BOOK).with_limits(Limits {
        max_cells: limit,
        ..MemoryWorkbook::new(BOOK).limits()
    });
    let rows: Vec<SheetRow> = (0..40).map(|i| row(i, "결제완료")).collect();
    let refs = windows(&store, "exec-full", std::slice::from_ref(&rows)).await;
    let summary = run(&store, &book, event("exec-full", TAB, refs))
        .await
        .unwrap();
    let budget = summary.cell_budget.unwrap();
    assert_eq!(budget.cells as usize, 41 * columns);
    assert!(budget.warning, "{budget:?}");
}
