//! A spreadsheet in memory, held to Google's rules: the [`Workbook`] the insert stage's logic is
//! tested with, without HTTP.
//!
//! Strict where the upsert could go wrong, in Google's words: a write outside the tab's grid
//! ("exceeds grid limits"), a range naming no tab by its exact title ("Unable to parse range"),
//! more values than the range holds, a JSON null (google-sheets4 would drop it and shift the
//! row), text over 50,000 characters, a second tab whose title differs only in case ("already
//! exists"), freezing every row of a tab, and growing the workbook past its cell limit are all
//! refused, as 400s are ([`SheetsError::Rejected`]), and a refused request changes nothing.
//! Cells come back as `UNFORMATTED_VALUE` returns them: text stays text (`RAW`), numbers are
//! numbers (doubles: a whole number is written without a fraction), `""` is an empty cell, and
//! trailing empty cells and rows are trimmed. The write guard is asked before every write, as
//! the HTTP client asks it before every attempt.
//!
//! Not here: retries, quotas and faults (the HTTP client's, tested against the test kit's fake
//! Google), formulas (`RAW` never makes one), formatting, and any call the upsert does not make.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use google_sheets4::api::ValueRange;
use serde_json::Value;

use crate::error::SheetsError;
use crate::plan::cell_text;
use crate::scan::{PlanNeeds, TabIndex};
use crate::upsert::{MAX_REQUEST_BYTES, WriteGuard, same_title};
use crate::workbook::{GridChange, KeyRead, Limits, TabInfo, TabRead, Workbook};

/// Google's limit of characters in one cell.
pub const MAX_CELL_CHARS: usize = 50_000;
/// Google's limit of columns in one tab (`ZZZ`).
pub const MAX_COLUMNS: usize = 18_278;
/// Whole numbers a double holds exactly (below 2^53) come back without a fraction.
const PLAIN_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// One tab: its properties and its cells (`Null` = empty), ragged, never beyond the grid.
#[derive(Debug, Clone)]
struct Tab {
    info: TabInfo,
    cells: Vec<Vec<Value>>,
}

#[derive(Debug, Default)]
struct State {
    tabs: Vec<Tab>,
    next_sheet_id: i32,
}

/// A spreadsheet in memory, identified by its id like a real one.
#[derive(Debug)]
pub struct MemoryWorkbook {
    spreadsheet: String,
    limits: Limits,
    state: Mutex<State>,
    reads: AtomicU64,
    writes: AtomicU64,
}

fn rejected(message: impl Into<String>) -> SheetsError {
    SheetsError::Rejected {
        status: "HTTP 400 INVALID_ARGUMENT".into(),
        message: message.into(),
    }
}

impl MemoryWorkbook {
    /// An empty spreadsheet with Google's limits (10 million cells, 2 MB requests).
    pub fn new(spreadsheet: &str) -> Self {
        MemoryWorkbook {
            spreadsheet: spreadsheet.to_owned(),
            limits: Limits {
                max_cells: 10_000_000,
                max_request_bytes: MAX_REQUEST_BYTES,
            },
            state: Mutex::new(State {
                tabs: Vec::new(),
                next_sheet_id: 1,
            }),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// The same with other limits (a small cell limit, small requests to force several writes).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while the lock was held leaves state that is still whole (every
        // change is checked before it is applied), so keep using it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_spreadsheet(&self, spreadsheet: &str) -> Result<(), SheetsError> {
        if spreadsheet == self.spreadsheet {
            Ok(())
        } else {
            Err(SheetsError::NotFound {
                spreadsheet: spreadsheet.to_owned(),
            })
        }
    }

    /// A person adds a tab (no API call is counted). `None` when Google would refuse it.
    pub fn add_tab(&self, title: &str, rows: usize, cols: usize) -> Option<TabInfo> {
        let mut state = self.state();
        add_tab(&mut state, self.limits.max_cells, title, rows, cols, 0).ok()
    }

    /// A tab's properties, by exact title.
    pub fn tab(&self, title: &str) -> Option<TabInfo> {
        let state = self.state();
        state
            .tabs
            .iter()
            .find(|t| t.info.title == title)
            .map(|t| t.info.clone())
    }

    /// The tab's cells as a read returns them (header row first), or `None` without the tab.
    pub fn values(&self, title: &str) -> Option<Vec<Vec<Value>>> {
        let state = self.state();
        let tab = state.tabs.iter().find(|t| t.info.title == title)?;
        Some(trimmed(&tab.cells))
    }

    /// The tab's cells as text, the way the plan compares keys and headers.
    pub fn text(&self, title: &str) -> Option<Vec<Vec<String>>> {
        self.values(title).map(|rows| {
            rows.iter()
                .map(|r| r.iter().map(cell_text).collect())
                .collect()
        })
    }

    /// A person types `value` into a cell (0-based; row 0 is the header row). `false` when the
    /// cell is outside the grid or the value is not one a cell holds.
    pub fn set_cell(&self, title: &str, row: usize, col: usize, value: Value) -> bool {
        let mut state = self.state();
        let Some(tab) = state.tabs.iter_mut().find(|t| t.info.title == title) else {
            return false;
        };
        if row >= tab.info.rows || col >= tab.info.cols {
            return false;
        }
        let Ok(value) = stored(&value) else {
            return false;
        };
        put(&mut tab.cells, row, col, value);
        true
    }

    /// A person inserts an empty column before column `at` (the grid grows by one column and
    /// every cell from `at` on moves right). `false` without the tab, or past its last column.
    pub fn insert_column(&self, title: &str, at: usize) -> bool {
        let mut state = self.state();
        let Some(tab) = state.tabs.iter_mut().find(|t| t.info.title == title) else {
            return false;
        };
        if at > tab.info.cols || tab.info.cols >= MAX_COLUMNS {
            return false;
        }
        tab.info.cols += 1;
        for row in &mut tab.cells {
            if row.len() > at {
                row.insert(at, Value::Null);
            }
        }
        true
    }
}

/// What a cell holds after a `RAW` write of `value`: `""` clears it; text, numbers and booleans
/// are kept as they are (numbers as doubles); anything else is refused.
fn stored(value: &Value) -> Result<Value, String> {
    match value {
        Value::String(s) if s.is_empty() => Ok(Value::Null),
        Value::String(s) if s.chars().count() > MAX_CELL_CHARS => Err(format!(
            "Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
        )),
        Value::String(_) | Value::Bool(_) => Ok(value.clone()),
        Value::Number(n) => n
            .as_f64()
            .map(number)
            .ok_or_else(|| format!("Invalid value {n}: not a number a cell holds")),
        Value::Null => Err("a null value: google-sheets4 would drop it and shift the row".into()),
        Value::Array(_) | Value::Object(_) => {
            Err("Invalid values: a cell holds a string, a number or a boolean".into())
        }
    }
}

/// A double as `UNFORMATTED_VALUE` returns it.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < PLAIN_INTEGERS {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn put(cells: &mut Vec<Vec<Value>>, row: usize, col: usize, value: Value) {
    if cells.len() <= row {
        cells.resize(row + 1, Vec::new());
    }
    let cells = &mut cells[row];
    if cells.len() <= col {
        cells.resize(col + 1, Value::Null);
    }
    cells[col] = value;
}

/// The cells as Google returns them: empty cells inside a row as `""`, trailing empty cells and
/// trailing empty rows left out.
fn trimmed(cells: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = cells
        .iter()
        .map(|row| {
            let len = row.iter().rposition(|v| !v.is_null()).map_or(0, |i| i + 1);
            row[..len]
                .iter()
                .map(|v| match v {
                    Value::Null => Value::String(String::new()),
                    other => other.clone(),
                })
                .collect()
        })
        .collect();
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    rows
}

fn total_cells(tabs: &[Tab]) -> usize {
    tabs.iter().map(|t| t.info.rows * t.info.cols).sum()
}

/// The checks Google makes on a tab's grid properties.
fn check_grid(rows: usize, cols: usize, frozen_rows: usize) -> Result<(), SheetsError> {
    if rows == 0 || cols == 0 {
        return Err(rejected(
            "Invalid grid size: a tab has at least one row and one column",
        ));
    }
    if cols > MAX_COLUMNS {
        return Err(rejected(format!(
            "columnCount {cols} exceeds the maximum of {MAX_COLUMNS}"
        )));
    }
    if frozen_rows >= rows {
        return Err(rejected("You can't freeze all visible rows on the sheet."));
    }
    Ok(())
}

fn check_cell_limit(before: usize, after: usize, max_cells: usize) -> Result<(), SheetsError> {
    if after > before && after > max_cells {
        return Err(rejected(format!(
            "This action would increase the number of cells in the workbook above the limit of {max_cells} cells."
        )));
    }
    Ok(())
}

fn add_tab(
    state: &mut State,
    max_cells: usize,
    title: &str,
    rows: usize,
    cols: usize,
    frozen_rows: usize,
) -> Result<TabInfo, SheetsError> {
    if title.trim().is_empty() {
        return Err(rejected("Invalid sheet title: it is empty"));
    }
    // Titles are unique without regard to case.
    if state.tabs.iter().any(|t| same_title(&t.info.title, title)) {
        return Err(rejected(format!(
            "Invalid requests[0].addSheet: A sheet with the name \"{title}\" already exists. Please enter another name."
        )));
    }
    check_grid(rows, cols, frozen_rows)?;
    let before = total_cells(&state.tabs);
    check_cell_limit(before, before + rows * cols, max_cells)?;
    let info = TabInfo {
        sheet_id: state.next_sheet_id,
        title: title.to_owned(),
        rows,
        cols,
        frozen_rows,
    };
    state.next_sheet_id += 1;
    state.tabs.push(Tab {
        info: info.clone(),
        cells: Vec::new(),
    });
    Ok(info)
}

fn resize(
    state: &mut State,
    max_cells: usize,
    sheet_id: i32,
    rows: usize,
    cols: usize,
) -> Result<(), SheetsError> {
    let before = total_cells(&state.tabs);
    let Some(tab) = state.tabs.iter_mut().find(|t| t.info.sheet_id == sheet_id) else {
        return Err(rejected(format!(
            "Invalid requests[0].updateSheetProperties: No grid with id: {sheet_id}"
        )));
    };
    check_grid(rows, cols, tab.info.frozen_rows)?;
    let after = before - tab.info.rows * tab.info.cols + rows * cols;
    check_cell_limit(before, after, max_cells)?;
    tab.info.rows = rows;
    tab.info.cols = cols;
    // A smaller grid drops the cells outside it, as Google does.
    tab.cells.truncate(rows);
    for row in &mut tab.cells {
        row.truncate(cols);
    }
    Ok(())
}

/// A cell's 0-based (row, column).
type At = (usize, usize);

/// `'title'!A2:C10` (or `title!A2`) → the title and 0-based inclusive corners.
fn parse_range(range: &str) -> Option<(String, At, At)> {
    let (title, cells) = if let Some(rest) = range.strip_prefix('\'') {
        let mut title = String::new();
        let mut chars = rest.char_indices().peekable();
        let end = loop {
            let (i, c) = chars.next()?;
            if c == '\'' {
                if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                    chars.next();
                    title.push('\'');
                    continue;
                }
                break i + 1;
            }
            title.push(c);
        };
        (title, rest[end..].strip_prefix('!')?)
    } else {
        let (title, cells) = range.rsplit_once('!')?;
        (title.to_owned(), cells)
    };
    let (start, end) = cells.split_once(':').unwrap_or((cells, cells));
    let start = parse_cell(start)?;
    let end = parse_cell(end)?;
    (start.0 <= end.0 && start.1 <= end.1).then_some((title, start, end))
}

/// `C10` → (9, 2).
fn parse_cell(cell: &str) -> Option<At> {
    let split = cell.find(|c: char| !c.is_ascii_alphabetic())?;
    let (letters, digits) = cell.split_at(split);
    if letters.is_empty() || letters.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let col = letters.bytes().fold(0usize, |n, b| {
        n * 26 + (b.to_ascii_uppercase() - b'A' + 1) as usize
    });
    let row: usize = digits.parse().ok()?;
    (row >= 1).then(|| (row - 1, col - 1))
}

/// One checked range of a value write: where, and the cells to store.
struct Checked {
    tab: usize,
    first: At,
    rows: Vec<Vec<Value>>,
}

/// Checks one range of a write against the tabs as they are, without changing anything.
fn check_range(tabs: &[Tab], data: &ValueRange) -> Result<Checked, SheetsError> {
    let range = data.range.as_deref().unwrap_or("");
    let unparsable = || rejected(format!("Unable to parse range: {range}"));
    let (title, first, last) = parse_range(range).ok_or_else(unparsable)?;
    // A range names its tab by the exact title.
    let tab = tabs
        .iter()
        .position(|t| t.info.title == title)
        .ok_or_else(unparsable)?;
    let info = &tabs[tab].info;
    if last.0 >= info.rows || last.1 >= info.cols {
        return Err(rejected(format!(
            "Range ({range}) exceeds grid limits. Max rows: {}, max columns: {}",
            info.rows, info.cols
        )));
    }
    if !matches!(data.major_dimension.as_deref(), None | Some("ROWS")) {
        return Err(rejected(
            "the in-memory workbook takes ROWS, the only major dimension the upsert writes",
        ));
    }
    let values = data.values.as_deref().unwrap_or_default();
    if values.len() > last.0 - first.0 + 1 {
        return Err(rejected(format!(
            "Requested writing within range [{range}], but tried writing to row [{}]",
            first.0 + values.len()
        )));
    }
    let mut rows = Vec::with_capacity(values.len());
    for row in values {
        if row.len() > last.1 - first.1 + 1 {
            return Err(rejected(format!(
                "Requested writing within range [{range}], but tried writing to column [{}]",
                crate::a1::column_letters(first.1 + row.len() - 1)
            )));
        }
        rows.push(
            row.iter()
                .map(stored)
                .collect::<Result<Vec<_>, _>>()
                .map_err(rejected)?,
        );
    }
    Ok(Checked { tab, first, rows })
}

impl Workbook for MemoryWorkbook {
    fn limits(&self) -> Limits {
        self.limits
    }

    fn calls(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    async fn read_tab(
        &self,
        spreadsheet: &str,
        tab: &str,
        needs: &PlanNeeds<'_>,
        _deadline: Instant,
    ) -> Result<Option<TabRead>, SheetsError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.check_spreadsheet(spreadsheet)?;
        let state = self.state();
        // Like values.get: only the exact title names a tab ("Unable to parse range" otherwise,
        // which the HTTP client reads as "no such tab").
        let Some(found) = state.tabs.iter().find(|t| t.info.title == tab) else {
            return Ok(None);
        };
        Ok(Some(TabRead {
            index: TabIndex::of_rows(trimmed(&found.cells), needs),
            grid_rows: found.info.rows,
            grid_cols: found.info.cols,
        }))
    }

    async fn read_keys(
        &self,
        spreadsheet: &str,
        tab: &str,
        key_col: usize,
        (first, last): (usize, usize),
        _deadline: Instant,
    ) -> Result<KeyRead, SheetsError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.check_spreadsheet(spreadsheet)?;
        let state = self.state();
        let Some(found) = state.tabs.iter().find(|t| t.info.title == tab) else {
            return Err(SheetsError::Rejected {
                status: "400 INVALID_ARGUMENT".into(),
                message: format!("Unable to parse range: '{tab}'!1:1"),
            });
        };
        let rows = trimmed(&found.cells);
        let header = rows.first().cloned().unwrap_or_default();
        let mut keys: Vec<Value> = (first..=last)
            .map(|r| {
                rows.get(r)
                    .and_then(|row| row.get(key_col))
                    .cloned()
                    .unwrap_or(Value::String(String::new()))
            })
            .collect();
        while keys
            .last()
            .is_some_and(|v| v.as_str().is_some_and(str::is_empty))
        {
            keys.pop();
        }
        Ok(KeyRead { header, keys })
    }

    async fn tabs(
        &self,
        spreadsheet: &str,
        _deadline: Instant,
    ) -> Result<Vec<TabInfo>, SheetsError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.check_spreadsheet(spreadsheet)?;
        Ok(self.state().tabs.iter().map(|t| t.info.clone()).collect())
    }

    async fn change_grid<G: WriteGuard>(
        &self,
        spreadsheet: &str,
        change: &GridChange,
        _deadline: Instant,
        guard: &mut G,
    ) -> Result<(), SheetsError> {
        guard.before_write().await.map_err(SheetsError::Guard)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.check_spreadsheet(spreadsheet)?;
        let mut state = self.state();
        match change {
            GridChange::AddTab {
                title,
                rows,
                cols,
                frozen_rows,
            } => add_tab(
                &mut state,
                self.limits.max_cells,
                title,
                *rows,
                *cols,
                *frozen_rows,
            )
            .map(|_| ()),
            GridChange::Resize {
                sheet_id,
                rows,
                cols,
            } => resize(&mut state, self.limits.max_cells, *sheet_id, *rows, *cols),
        }
    }

    async fn write_values<G: WriteGuard>(
        &self,
        spreadsheet: &str,
        data: Vec<ValueRange>,
        _deadline: Instant,
        guard: &mut G,
    ) -> Result<(), SheetsError> {
        guard.before_write().await.map_err(SheetsError::Guard)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.check_spreadsheet(spreadsheet)?;
        let mut state = self.state();
        // Every range is checked before any cell changes: a refused request writes nothing.
        let checked = data
            .iter()
            .map(|range| check_range(&state.tabs, range))
            .collect::<Result<Vec<_>, _>>()?;
        for Checked { tab, first, rows } in checked {
            let cells = &mut state.tabs[tab].cells;
            for (dr, row) in rows.into_iter().enumerate() {
                for (dc, value) in row.into_iter().enumerate() {
                    put(cells, first.0 + dr, first.1 + dc, value);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upsert::Unguarded;
    use serde_json::json;

    const BOOK: &str = "book";

    fn soon() -> Instant {
        Instant::now() + std::time::Duration::from_secs(5)
    }

    fn range(range: &str, values: Vec<Vec<Value>>) -> ValueRange {
        ValueRange {
            range: Some(range.into()),
            major_dimension: Some("ROWS".into()),
            values: Some(values),
        }
    }

    async fn write(book: &MemoryWorkbook, data: Vec<ValueRange>) -> Result<(), SheetsError> {
        book.write_values(BOOK, data, soon(), &mut Unguarded).await
    }

    #[tokio::test]
    async fn writes_outside_the_grid_or_past_the_range_are_refused_and_change_nothing() {
        let book = MemoryWorkbook::new(BOOK);
        book.add_tab("t", 3, 2).unwrap();
        let ok = range("'t'!A1:B1", vec![vec![json!("a"), json!("b")]]);
        for bad in [
            range("'t'!A4:B4", vec![vec![json!("x")]]),
            range("'t'!C1", vec![vec![json!("x")]]),
            range("'t'!A2:A2", vec![vec![json!("x"), json!("y")]]),
            range("'t'!A2:B2", vec![vec![json!("x")], vec![json!("y")]]),
            range("'T'!A2", vec![vec![json!("x")]]),
            range("t!nonsense", vec![vec![json!("x")]]),
            range("'t'!A2", vec![vec![Value::Null]]),
            range("'t'!A2", vec![vec![json!("긴".repeat(MAX_CELL_CHARS + 1))]]),
        ] {
            let err = write(&book, vec![ok.clone(), bad.clone()])
                .await
                .unwrap_err();
            assert!(
                matches!(err, SheetsError::Rejected { .. }),
                "{:?}: {err}",
                bad.range
            );
            assert_eq!(book.values("t").unwrap(), Vec::<Vec<Value>>::new());
        }
        let err = write(&book, vec![range("'t'!A4:B4", vec![])])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("exceeds grid limits"), "{err}");
    }

    #[tokio::test]
    async fn cells_come_back_as_unformatted_values_do() {
        let book = MemoryWorkbook::new(BOOK);
        book.add_tab("It's #1", 5, 4).unwrap();
        write(
            &book,
            vec![range(
                &crate::a1::block("It's #1", 0, 0, 3, 2),
                vec![
                    vec![json!("=SUM(A1)"), json!("007"), json!(3), json!(true)],
                    vec![json!(""), json!(""), json!(2.5), json!("")],
                    vec![json!(2026110112345678_i64), json!(""), json!(""), json!("")],
                ],
            )],
        )
        .await
        .unwrap();
        let needs = PlanNeeds {
            headers: &[],
            key_index: 0,
            keys: Default::default(),
        };
        let read = book
            .read_tab(BOOK, "It's #1", &needs, soon())
            .await
            .unwrap()
            .unwrap();
        // RAW keeps text as typed (no formula, no number), "" is empty, trailing empties go.
        let header = vec![json!("=SUM(A1)"), json!("007"), json!(3), json!(true)];
        assert_eq!(read.index.header, header);
        assert_eq!(
            book.values("It's #1").unwrap(),
            [
                header,
                vec![json!(""), json!(""), json!(2.5)],
                vec![json!(2026110112345678_i64)]
            ]
        );
        assert_eq!((read.index.rows, read.index.last_filled), (2, Some(1)));
        assert_eq!((read.grid_rows, read.grid_cols), (5, 4));
        assert_eq!(
            book.read_tab(BOOK, "it's #1", &needs, soon())
                .await
                .unwrap(),
            None
        );
        assert!(matches!(
            book.read_tab("other", "It's #1", &needs, soon()).await,
            Err(SheetsError::NotFound { .. })
        ));
        assert_eq!(book.calls(), (3, 1));
    }

    #[tokio::test]
    async fn structure_changes_follow_googles_rules() {
        let book = MemoryWorkbook::new(BOOK).with_limits(Limits {
            max_cells: 100,
            max_request_bytes: MAX_REQUEST_BYTES,
        });
        let change = |change: GridChange| {
            let book = &book;
            async move {
                book.change_grid(BOOK, &change, soon(), &mut Unguarded)
                    .await
            }
        };
        let add = |title: &str, rows, frozen_rows| GridChange::AddTab {
            title: title.into(),
            rows,
            cols: 5,
            frozen_rows,
        };
        let refused = |r: Result<(), SheetsError>| matches!(r, Err(SheetsError::Rejected { .. }));
        assert!(refused(change(add("t", 1, 1)).await), "every row frozen");
        change(add("t", 2, 1)).await.unwrap();
        assert!(refused(change(add("T", 2, 1)).await), "titles ignore case");
        let id = book.tab("t").unwrap().sheet_id;
        let resize = |rows, cols| GridChange::Resize {
            sheet_id: id,
            rows,
            cols,
        };
        assert!(refused(change(resize(1, 5)).await), "the header is frozen");
        assert!(refused(change(resize(21, 5)).await), "over the cell limit");
        change(resize(20, 5)).await.unwrap();
        assert_eq!(
            book.tab("t").unwrap(),
            TabInfo {
                sheet_id: id,
                title: "t".into(),
                rows: 20,
                cols: 5,
                frozen_rows: 1,
            }
        );
        assert!(refused(
            change(GridChange::Resize {
                sheet_id: 99,
                rows: 2,
                cols: 2
            })
            .await
        ));
        assert_eq!(book.calls(), (0, 7));
    }

    #[tokio::test]
    async fn the_guard_is_asked_before_every_write_and_can_stop_it() {
        struct Refuse;
        impl WriteGuard for Refuse {
            async fn before_write(&mut self) -> Result<(), ordersync_core::StepError> {
                Err(ordersync_core::StepError::new(
                    ordersync_core::ErrorName::Busy,
                    "lease lost",
                ))
            }
        }
        let book = MemoryWorkbook::new(BOOK);
        book.add_tab("t", 3, 3).unwrap();
        let err = book
            .write_values(
                BOOK,
                vec![range("'t'!A1", vec![vec![json!("x")]])],
                soon(),
                &mut Refuse,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SheetsError::Guard(_)), "{err}");
        assert_eq!(book.values("t").unwrap(), Vec::<Vec<Value>>::new());
        assert_eq!(book.calls(), (0, 0), "a refused attempt is never sent");
    }

    #[test]
    fn a_person_edits_inside_the_grid_only() {
        let book = MemoryWorkbook::new(BOOK);
        book.add_tab("t", 2, 2).unwrap();
        assert!(book.set_cell("t", 1, 1, json!("memo")));
        assert!(!book.set_cell("t", 2, 0, json!("x")));
        assert!(book.insert_column("t", 0));
        assert_eq!(book.text("t").unwrap(), [vec![], vec!["", "", "memo"]]);
        assert_eq!(book.tab("t").unwrap().cols, 3);
    }
}
