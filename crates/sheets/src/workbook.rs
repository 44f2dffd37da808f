//! The seam between the upsert and a spreadsheet: exactly the calls [`crate::upsert()`] makes,
//! and nothing else (no `append`, no formatting, no formulas).
//!
//! [`SheetsClient`](crate::SheetsClient) implements it over HTTP (google-sheets4, retried inside
//! the deadline, the guard asked before every write attempt); [`MemoryWorkbook`] implements it
//! in memory with Google's rules, so the insert stage's logic is tested without a server, the
//! way import's is tested with an in-process `Source`.
//!
//! What is here: reading one tab's values and grid size, reading row 1 and the key column of the
//! rows a write targets (`values.batchGet`), listing the tabs (`spreadsheets.get`),
//! one structure change (`spreadsheets.batchUpdate`), one value write (`values.batchUpdate`,
//! `RAW`, explicit ranges) and the call counts the run summary reports. Deciding what to write
//! is [`crate::plan`]'s; packing the writes into requests is [`upsert`](mod@crate::upsert)'s.
//!
//! [`MemoryWorkbook`]: crate::memory::MemoryWorkbook

use std::future::Future;
use std::time::Instant;

use google_sheets4::api::ValueRange;

use crate::error::SheetsError;
use crate::scan::{PlanNeeds, TabIndex};
use crate::upsert::WriteGuard;

/// A tab as the sheet describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabInfo {
    pub sheet_id: i32,
    pub title: String,
    pub rows: usize,
    pub cols: usize,
    pub frozen_rows: usize,
}

/// What the plan keeps of a tab's contents, plus its grid size (from the range the API echoes).
#[derive(Debug, Clone, PartialEq)]
pub struct TabRead {
    pub index: TabIndex,
    pub grid_rows: usize,
    pub grid_cols: usize,
}

/// Row 1 and the key column over the rows a write request targets, read just before it is sent
/// (see [`crate::moved`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRead {
    /// Row 1 (trailing empties trimmed).
    pub header: Vec<serde_json::Value>,
    /// The key column's cells of grid rows `first..=last`: `keys[i]` is row `first + i`;
    /// trailing empties trimmed, so a missing entry is a blank cell.
    pub keys: Vec<serde_json::Value>,
}

/// The structure changes the upsert makes, each one atomic request applied before any value is
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GridChange {
    /// A new tab (`addSheet`) of this size with its first `frozen_rows` rows frozen (the
    /// header). Google refuses to freeze every row, so `rows` must be larger.
    AddTab {
        title: String,
        rows: usize,
        cols: usize,
        frozen_rows: usize,
    },
    /// Sets the tab's grid to exactly this size (`updateSheetProperties` of the row and column
    /// counts only). Absolute, not relative like `appendDimension`: a retry after an answer that
    /// was lost sets the same size again instead of growing the grid twice, and the frozen rows
    /// are left as they are.
    Resize {
        sheet_id: i32,
        rows: usize,
        cols: usize,
    },
}

/// The workbook's limits that shape an upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cells in the whole workbook, every tab and empty cells included (Google: 10 million).
    pub max_cells: usize,
    /// The largest value-write request body (Google advises 2 MB).
    pub max_request_bytes: usize,
}

/// A spreadsheet the upsert can read and write. The methods are the upsert's calls, one each;
/// errors are [`SheetsError`]s, already classified.
pub trait Workbook: Sync {
    /// The limits an upsert must stay within.
    fn limits(&self) -> Limits;

    /// (reads, writes) made so far, retries included: the run summary reports the difference.
    fn calls(&self) -> (u64, u64);

    /// The whole tab (header + data, unformatted values, trailing empties trimmed), kept as
    /// `needs` asks ([`crate::scan`]: never the whole tab in memory), and its grid size, or
    /// `None` when the spreadsheet has no tab of exactly this title.
    fn read_tab(
        &self,
        spreadsheet: &str,
        tab: &str,
        needs: &PlanNeeds<'_>,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<TabRead>, SheetsError>> + Send;

    /// Row 1 and column `key_col`'s cells of grid rows `rows.0..=rows.1` (0-based; row 0 is the
    /// header), in one read (`values.batchGet` of two narrow ranges).
    fn read_keys(
        &self,
        spreadsheet: &str,
        tab: &str,
        key_col: usize,
        rows: (usize, usize),
        deadline: Instant,
    ) -> impl Future<Output = Result<KeyRead, SheetsError>> + Send;

    /// Every tab's properties.
    fn tabs(
        &self,
        spreadsheet: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<Vec<TabInfo>, SheetsError>> + Send;

    /// Applies one structure change, asking `guard` before every attempt.
    fn change_grid<G: WriteGuard>(
        &self,
        spreadsheet: &str,
        change: &GridChange,
        deadline: Instant,
        guard: &mut G,
    ) -> impl Future<Output = Result<(), SheetsError>> + Send;

    /// Writes explicit ranges (`RAW`: text stays text) in one request, asking `guard` before
    /// every attempt. Either every range is written or none.
    fn write_values<G: WriteGuard>(
        &self,
        spreadsheet: &str,
        data: Vec<ValueRange>,
        deadline: Instant,
        guard: &mut G,
    ) -> impl Future<Output = Result<(), SheetsError>> + Send;
}
