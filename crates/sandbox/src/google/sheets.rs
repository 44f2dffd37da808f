//! Spreadsheet state and the Sheets API v4 operations on it, independent of HTTP.
//!
//! A [`Workbook`] holds tabs (metadata: id, title, grid size, frozen rows) and one sparse grid
//! of cells per tab. Every operation either fully succeeds or changes nothing: value writes are
//! planned and validated against the (unchanging) grid sizes before any cell is touched, and a
//! structural `spreadsheets.batchUpdate` is first dry-run on a copy of the tab metadata.
//!
//! Deliberate simplifications (documented in `mod.rs`): formulas are stored, never evaluated
//! (every render option returns the formula text); `USER_ENTERED` parses only formulas,
//! numbers, booleans and a leading `'`, not dates or percentages; `append` finds its "table" as
//! the contiguous non-blank rows (a fully blank row ends it) from the range's start row.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::a1::{self, Bounds, MAX_COLUMNS, Parsed};

/// A new tab's grid when `gridProperties` does not say otherwise (Google's default).
pub(crate) const DEFAULT_ROWS: u32 = 1000;
pub(crate) const DEFAULT_COLUMNS: u32 = 26;
/// Google's per-cell text limit.
pub(crate) const MAX_CELL_CHARS: usize = 50_000;

/// One stored cell value. Empty cells are not stored.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    /// Text, stored literally (`RAW`, or `USER_ENTERED` text that is not a number/formula).
    Text(String),
    /// A number (a JSON number, or a numeric string under `USER_ENTERED`).
    Number(f64),
    /// A boolean (a JSON boolean, or `TRUE`/`FALSE` under `USER_ENTERED`).
    Bool(bool),
    /// A formula (a string starting with `=` under `USER_ENTERED`), kept as typed.
    Formula(String),
}

/// A Sheets API error: HTTP status and message; the status name follows from the code unless
/// `status` names another one (`FAILED_PRECONDITION` is a 400 too), and `reason` adds Google's
/// `ErrorInfo` detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub message: String,
    pub status: Option<&'static str>,
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(code: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            status: None,
            reason: None,
        }
    }

    /// The Sheets API is not enabled in the caller's Cloud project (Google's wording).
    pub(crate) fn service_disabled() -> ApiError {
        ApiError {
            reason: Some("SERVICE_DISABLED"),
            ..ApiError::new(
                403,
                "Google Sheets API has not been used in project 000000000000 before or it is \
                 disabled. Enable it by visiting https://console.developers.google.com/apis/api/\
                 sheets.googleapis.com/overview?project=000000000000 then retry. If you enabled \
                 this API recently, wait a few minutes for the action to propagate to our \
                 systems and retry.",
            )
        }
    }

    /// The spreadsheet exists but is not shared with the caller.
    pub(crate) fn not_shared() -> ApiError {
        ApiError::new(403, "The caller does not have permission")
    }

    /// An Office file (.xlsx) opened in Drive, not a Google Sheet.
    pub(crate) fn office_file() -> ApiError {
        ApiError {
            status: Some("FAILED_PRECONDITION"),
            ..ApiError::new(400, "This operation is not supported for this document")
        }
    }

    /// A write into a protected range the caller may not edit.
    pub(crate) fn protected() -> ApiError {
        ApiError::new(
            400,
            "You are trying to edit a protected cell or object. Please contact the spreadsheet \
             owner to remove protection if you need to edit.",
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }

    pub(crate) fn not_found() -> ApiError {
        ApiError::new(404, "Requested entity was not found.")
    }
}

/// Google's canonical status name for an HTTP status code.
pub(crate) fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        413 => "INVALID_ARGUMENT",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "NOT_IMPLEMENTED",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

fn unable_to_parse(range: &str) -> ApiError {
    ApiError::invalid(format!("Unable to parse range: {range}"))
}

/// A tab's metadata.
#[derive(Debug, Clone)]
pub(crate) struct TabMeta {
    pub sheet_id: i32,
    pub title: String,
    pub rows: u32,
    pub cols: u32,
    pub frozen_rows: u32,
    pub frozen_cols: u32,
    pub hidden: bool,
}

type Row = Vec<Option<CellValue>>;
/// Rows of cells; shorter than the grid where the rest is empty.
type Grid = Vec<Row>;

/// One spreadsheet.
pub(crate) struct Workbook {
    pub title: String,
    pub tabs: Vec<TabMeta>,
    grids: HashMap<i32, Grid>,
    id_seed: u32,
    /// What the file is to the caller (a shared Google Sheet unless a test says otherwise).
    pub kind: BookKind,
    /// Tabs (titles, lower-case) protected against the caller: value writes into them fail.
    pub protected_tabs: std::collections::HashSet<String>,
}

/// What a spreadsheet id is to the service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookKind {
    /// A Google Sheet shared with it as an editor.
    GoogleSheet,
    /// A Google Sheet not shared with it: 403 PERMISSION_DENIED.
    NotShared,
    /// An Office file (.xlsx) in Drive: 400 FAILED_PRECONDITION on every Sheets call.
    OfficeFile,
}

/// An inclusive, concrete rectangle of cells, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    r0: u32,
    c0: u32,
    r1: u32,
    c1: u32,
}

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Major {
    #[default]
    Rows,
    Columns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Render {
    #[default]
    Formatted,
    Unformatted,
    Formula,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    Raw,
    UserEntered,
}

fn bad_enum(field: &str, proto: &str, value: &str) -> ApiError {
    ApiError::invalid(format!(
        "Invalid value at '{field}' (type.googleapis.com/google.apps.sheets.v4.{proto}), \"{value}\""
    ))
}

impl Major {
    pub(crate) fn parse(value: Option<&str>, field: &str) -> Result<Major, ApiError> {
        match value {
            None | Some("ROWS" | "DIMENSION_UNSPECIFIED") => Ok(Major::Rows),
            Some("COLUMNS") => Ok(Major::Columns),
            Some(other) => Err(bad_enum(field, "Dimension", other)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Major::Rows => "ROWS",
            Major::Columns => "COLUMNS",
        }
    }
}

impl Render {
    pub(crate) fn parse(value: Option<&str>, field: &str) -> Result<Render, ApiError> {
        match value {
            None | Some("FORMATTED_VALUE") => Ok(Render::Formatted),
            Some("UNFORMATTED_VALUE") => Ok(Render::Unformatted),
            Some("FORMULA") => Ok(Render::Formula),
            Some(other) => Err(bad_enum(field, "ValueRenderOption", other)),
        }
    }
}

/// Checks `dateTimeRenderOption` (the fake has no dates, so only the value is validated).
pub(crate) fn check_date_time_option(value: Option<&str>, field: &str) -> Result<(), ApiError> {
    match value {
        None | Some("SERIAL_NUMBER" | "FORMATTED_STRING") => Ok(()),
        Some(other) => Err(bad_enum(field, "DateTimeRenderOption", other)),
    }
}

impl Input {
    /// `valueInputOption` is required by every value write.
    pub(crate) fn parse(value: Option<&str>) -> Result<Input, ApiError> {
        match value {
            Some("RAW") => Ok(Input::Raw),
            Some("USER_ENTERED") => Ok(Input::UserEntered),
            None => Err(ApiError::invalid(
                "'valueInputOption' is required but not specified",
            )),
            Some("INPUT_VALUE_OPTION_UNSPECIFIED") => Err(ApiError::invalid(
                "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED",
            )),
            Some(other) => Err(bad_enum("value_input_option", "ValueInputOption", other)),
        }
    }
}

/// How a read renders cells.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReadOpts {
    pub major: Major,
    pub render: Render,
}

/// `insertDataOption` of `values.append`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertData {
    Overwrite,
    InsertRows,
}

impl InsertData {
    pub(crate) fn parse(value: Option<&str>) -> Result<InsertData, ApiError> {
        match value {
            None | Some("OVERWRITE") => Ok(InsertData::Overwrite),
            Some("INSERT_ROWS") => Ok(InsertData::InsertRows),
            Some(other) => Err(bad_enum("insert_data_option", "InsertDataOption", other)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request bodies (only fields google-sheets4 7 can send; anything else is a 400 like Google's
// "Invalid JSON payload received. Unknown name").

/// A `ValueRange` in a request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ValueRangeIn {
    pub range: Option<String>,
    pub major_dimension: Option<String>,
    pub values: Option<Vec<Vec<Value>>>,
}

/// `BatchUpdateValuesRequest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BatchUpdateValuesIn {
    pub value_input_option: Option<String>,
    pub data: Option<Vec<ValueRangeIn>>,
    pub include_values_in_response: Option<bool>,
    pub response_value_render_option: Option<String>,
    pub response_date_time_render_option: Option<String>,
}

/// `BatchUpdateSpreadsheetRequest`; `requests` are decoded one by one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BatchUpdateIn {
    pub requests: Option<Vec<Map<String, Value>>>,
    pub include_spreadsheet_in_response: Option<bool>,
    pub response_ranges: Option<Vec<String>>,
    pub response_include_grid_data: Option<bool>,
}

/// `ClearValuesRequest` (empty).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClearIn {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SheetPropsIn {
    sheet_id: Option<i32>,
    title: Option<String>,
    index: Option<i32>,
    sheet_type: Option<String>,
    grid_properties: Option<GridPropsIn>,
    hidden: Option<bool>,
    /// Accepted and ignored.
    #[serde(rename = "rightToLeft")]
    _right_to_left: Option<bool>,
    /// Accepted and ignored.
    #[serde(rename = "tabColor")]
    _tab_color: Option<Value>,
    /// Accepted and ignored.
    #[serde(rename = "tabColorStyle")]
    _tab_color_style: Option<Value>,
    /// Accepted and ignored.
    #[serde(rename = "dataSourceSheetProperties")]
    _data_source_sheet_properties: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GridPropsIn {
    row_count: Option<i32>,
    column_count: Option<i32>,
    frozen_row_count: Option<i32>,
    frozen_column_count: Option<i32>,
    /// Accepted and ignored.
    #[serde(rename = "hideGridlines")]
    _hide_gridlines: Option<bool>,
    /// Accepted and ignored.
    #[serde(rename = "rowGroupControlAfter")]
    _row_group_control_after: Option<bool>,
    /// Accepted and ignored.
    #[serde(rename = "columnGroupControlAfter")]
    _column_group_control_after: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddSheetIn {
    properties: Option<SheetPropsIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateSheetPropertiesIn {
    properties: Option<SheetPropsIn>,
    fields: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppendDimensionIn {
    sheet_id: Option<i32>,
    dimension: Option<String>,
    length: Option<i32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DimensionRangeIn {
    sheet_id: Option<i32>,
    dimension: Option<String>,
    start_index: Option<i32>,
    end_index: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InsertDimensionIn {
    range: Option<DimensionRangeIn>,
    inherit_from_before: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteDimensionIn {
    range: Option<DimensionRangeIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeleteSheetIn {
    sheet_id: Option<i32>,
}

/// Request kinds of the real API that the fake does not implement (a 400 that says so).
const UNSUPPORTED_KINDS: &[&str] = &[
    "updateSpreadsheetProperties",
    "updateDimensionProperties",
    "updateNamedRange",
    "repeatCell",
    "addNamedRange",
    "deleteNamedRange",
    "duplicateSheet",
    "findReplace",
    "updateCells",
    "appendCells",
    "insertRange",
    "deleteRange",
    "copyPaste",
    "cutPaste",
    "mergeCells",
    "unmergeCells",
    "updateBorders",
    "autoFill",
    "pasteData",
    "textToColumns",
    "setDataValidation",
    "setBasicFilter",
    "clearBasicFilter",
    "addFilterView",
    "deleteFilterView",
    "updateFilterView",
    "duplicateFilterView",
    "addConditionalFormatRule",
    "updateConditionalFormatRule",
    "deleteConditionalFormatRule",
    "sortRange",
    "addProtectedRange",
    "updateProtectedRange",
    "deleteProtectedRange",
    "autoResizeDimensions",
    "addChart",
    "updateChartSpec",
    "deleteEmbeddedObject",
    "updateEmbeddedObjectPosition",
    "updateEmbeddedObjectBorder",
    "addBanding",
    "updateBanding",
    "deleteBanding",
    "createDeveloperMetadata",
    "updateDeveloperMetadata",
    "deleteDeveloperMetadata",
    "randomizeRange",
    "addDimensionGroup",
    "deleteDimensionGroup",
    "updateDimensionGroup",
    "trimWhitespace",
    "deleteDuplicates",
    "addSlicer",
    "updateSlicerSpec",
    "addDataSource",
    "updateDataSource",
    "deleteDataSource",
    "refreshDataSource",
    "cancelDataSourceRefresh",
    "addTable",
    "updateTable",
    "deleteTable",
    "moveDimension",
];

// ---------------------------------------------------------------------------------------------
// Cells

/// Renders a number the way a default-formatted cell shows it.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn number_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        json!(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn render(cell: Option<&CellValue>, render: Render) -> Value {
    match (cell, render) {
        (None, _) => Value::String(String::new()),
        (Some(CellValue::Text(s) | CellValue::Formula(s)), _) => Value::String(s.clone()),
        (Some(CellValue::Number(n)), Render::Formatted) => Value::String(format_number(*n)),
        (Some(CellValue::Number(n)), _) => number_json(*n),
        (Some(CellValue::Bool(b)), Render::Formatted) => {
            Value::String(if *b { "TRUE" } else { "FALSE" }.to_owned())
        }
        (Some(CellValue::Bool(b)), _) => Value::Bool(*b),
    }
}

/// The text a person sees in a cell.
fn display(cell: Option<&CellValue>) -> String {
    match render(cell, Render::Formatted) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn is_empty(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.is_empty())
}

/// A plain decimal number as a person would type it: optional sign, digits, optional fraction
/// and exponent. (No thousands separators, currency, percentages or dates.)
fn parse_typed_number(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let ok = (!int.is_empty() || !frac.is_empty())
        && digits(int)
        && digits(frac)
        && exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && digits(e)
        });
    if !ok {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// One cell of a write.
#[derive(Debug, Clone, PartialEq)]
enum Write {
    /// Not covered by the data (a short column in a `COLUMNS` write): left as it is.
    Keep,
    /// An empty string: the cell is cleared.
    Clear,
    Set(CellValue),
}

type WriteRows = Vec<Vec<Write>>;

fn input_cell(value: &Value, input: Input, path: &str) -> Result<Write, ApiError> {
    match value {
        Value::Null => Err(ApiError::invalid(format!(
            "Invalid value at '{path}' (type.googleapis.com/google.protobuf.ListValue): null is \
             not a cell value. (The fake rejects null: google-sheets4 strips nulls from arrays \
             before sending, which would shift the rest of the row left. Send \"\" instead.)"
        ))),
        Value::Array(_) | Value::Object(_) => Err(ApiError::invalid(format!(
            "Invalid value at '{path}' (type.googleapis.com/google.protobuf.ListValue): a cell \
             must be a string, number or boolean, got {value}"
        ))),
        Value::Bool(b) => Ok(Write::Set(CellValue::Bool(*b))),
        Value::Number(n) => Ok(n
            .as_f64()
            .map_or(Write::Clear, |n| Write::Set(CellValue::Number(n)))),
        Value::String(s) => {
            if s.chars().count() > MAX_CELL_CHARS {
                return Err(ApiError::invalid(format!(
                    "Your input contains more than the maximum of {MAX_CELL_CHARS} characters in \
                     a single cell. ({path})"
                )));
            }
            if s.is_empty() {
                return Ok(Write::Clear);
            }
            Ok(Write::Set(match input {
                Input::Raw => CellValue::Text(s.clone()),
                Input::UserEntered => user_entered(s),
            }))
        }
    }
}

/// Interprets a typed string like the Sheets UI, a little.
fn user_entered(text: &str) -> CellValue {
    if let Some(literal) = text.strip_prefix('\'') {
        return CellValue::Text(literal.to_owned());
    }
    if text.len() > 1 && text.starts_with('=') {
        return CellValue::Formula(text.to_owned());
    }
    if text.eq_ignore_ascii_case("true") {
        return CellValue::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return CellValue::Bool(false);
    }
    match parse_typed_number(text.trim()) {
        Some(n) => CellValue::Number(n),
        None => CellValue::Text(text.to_owned()),
    }
}

/// Parses a request's `values` into cell rows (row-major), transposing `COLUMNS` data.
fn input_rows(
    values: &[Vec<Value>],
    major: Major,
    input: Input,
    prefix: &str,
) -> Result<WriteRows, ApiError> {
    let mut parsed = Vec::with_capacity(values.len());
    for (i, row) in values.iter().enumerate() {
        let mut cells = Vec::with_capacity(row.len());
        for (j, value) in row.iter().enumerate() {
            cells.push(input_cell(
                value,
                input,
                &format!("{prefix}values[{i}][{j}]"),
            )?);
        }
        parsed.push(cells);
    }
    if major == Major::Columns {
        Ok(transpose_cells(parsed))
    } else {
        Ok(parsed)
    }
}

/// Column-major input to row-major; a short column leaves its lower cells as they are.
fn transpose_cells(columns: WriteRows) -> WriteRows {
    let height = columns.iter().map(Vec::len).max().unwrap_or(0);
    let mut rows: WriteRows = vec![Vec::new(); height];
    for (c, column) in columns.into_iter().enumerate() {
        for (r, cell) in column.into_iter().enumerate() {
            let row = &mut rows[r];
            row.resize(c, Write::Keep);
            row.push(cell);
        }
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// Workbook

impl Workbook {
    /// A new spreadsheet with one 1000×26 tab `Sheet1` (sheetId 0), as Google creates it.
    pub(crate) fn new(title: &str) -> Workbook {
        let mut grids = HashMap::new();
        grids.insert(0, Grid::new());
        Workbook {
            title: title.to_owned(),
            tabs: vec![TabMeta {
                sheet_id: 0,
                title: "Sheet1".to_owned(),
                rows: DEFAULT_ROWS,
                cols: DEFAULT_COLUMNS,
                frozen_rows: 0,
                frozen_cols: 0,
                hidden: false,
            }],
            grids,
            id_seed: 1,
            kind: BookKind::GoogleSheet,
            protected_tabs: std::collections::HashSet::new(),
        }
    }

    pub(crate) fn tab_index(&self, title: &str) -> Option<usize> {
        self.tabs.iter().position(|t| t.title == title)
    }

    fn grid(&self, sheet_id: i32) -> &[Row] {
        self.grids.get(&sheet_id).map_or(&[], Vec::as_slice)
    }

    fn grid_mut(&mut self, sheet_id: i32) -> &mut Grid {
        self.grids.entry(sheet_id).or_default()
    }

    pub(crate) fn total_cells(&self) -> u64 {
        total_cells(&self.tabs)
    }

    /// Resolves a range string to a tab index and bounds.
    fn resolve(&self, range: &str) -> Result<(usize, Bounds), ApiError> {
        match a1::parse(range).map_err(|_| unable_to_parse(range))? {
            Parsed::Qualified { title, bounds } => {
                let tab = self
                    .tab_index(&title)
                    .ok_or_else(|| unable_to_parse(range))?;
                Ok((tab, bounds.unwrap_or(Bounds::ALL)))
            }
            Parsed::Bare(text) => {
                if let Some(tab) = self.tab_index(&text) {
                    return Ok((tab, Bounds::ALL));
                }
                let bounds = a1::parse_bounds(&text).map_err(|_| unable_to_parse(range))?;
                if self.tabs.is_empty() {
                    return Err(unable_to_parse(range));
                }
                Ok((0, bounds))
            }
        }
    }

    /// The concrete rectangle a range covers; every coordinate written in it must be inside
    /// the grid (open ends stop at the grid's edge).
    fn rect(&self, tab: usize, bounds: Bounds) -> Result<Rect, ApiError> {
        let meta = &self.tabs[tab];
        let inside = bounds.start_row < meta.rows
            && bounds.start_col < meta.cols
            && bounds.end_row.is_none_or(|r| r < meta.rows)
            && bounds.end_col.is_none_or(|c| c < meta.cols);
        if !inside {
            return Err(exceeds_grid(meta, &bounds_text(bounds)));
        }
        Ok(Rect {
            r0: bounds.start_row,
            c0: bounds.start_col,
            r1: bounds.end_row.unwrap_or(meta.rows - 1),
            c1: bounds.end_col.unwrap_or(meta.cols - 1),
        })
    }

    fn format(&self, tab: usize, rect: Rect) -> String {
        a1::format_range(&self.tabs[tab].title, rect.r0, rect.c0, rect.r1, rect.c1)
    }

    /// Renders a rectangle as a `ValueRange` JSON object, trailing empties trimmed.
    fn value_range(&self, tab: usize, rect: Rect, opts: ReadOpts) -> Value {
        let grid = self.grid(self.tabs[tab].sheet_id);
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let last_row = (rect.r1 as usize).min(grid.len().saturating_sub(1));
        if (rect.r0 as usize) < grid.len() {
            for row in &grid[rect.r0 as usize..=last_row] {
                let cells = (rect.c0..=rect.c1)
                    .map(|c| render(row.get(c as usize).and_then(Option::as_ref), opts.render))
                    .collect();
                rows.push(cells);
            }
        }
        if opts.major == Major::Columns {
            let width = (rect.c1 - rect.c0 + 1) as usize;
            let mut columns = vec![Vec::with_capacity(rows.len()); width];
            for row in rows {
                for (c, value) in row.into_iter().enumerate() {
                    columns[c].push(value);
                }
            }
            rows = columns;
        }
        for row in &mut rows {
            while row.last().is_some_and(is_empty) {
                row.pop();
            }
        }
        while rows.last().is_some_and(Vec::is_empty) {
            rows.pop();
        }
        let mut out = json!({
            "range": self.format(tab, rect),
            "majorDimension": opts.major.name(),
        });
        if !rows.is_empty() {
            out["values"] = json!(rows);
        }
        out
    }

    // -- reads ---------------------------------------------------------------------------------

    /// `values.get`.
    pub(crate) fn get_values(&self, range: &str, opts: ReadOpts) -> Result<Value, ApiError> {
        let (tab, bounds) = self.resolve(range)?;
        let rect = self.rect(tab, bounds)?;
        Ok(self.value_range(tab, rect, opts))
    }

    /// `values.batchGet`.
    pub(crate) fn batch_get(
        &self,
        id: &str,
        ranges: &[String],
        opts: ReadOpts,
    ) -> Result<Value, ApiError> {
        let value_ranges = ranges
            .iter()
            .map(|r| self.get_values(r, opts))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = json!({ "spreadsheetId": id });
        if !value_ranges.is_empty() {
            out["valueRanges"] = json!(value_ranges);
        }
        Ok(out)
    }

    /// `spreadsheets.get` (no grid data). `ranges` limits the tabs returned, like Google.
    pub(crate) fn spreadsheet(&self, id: &str, ranges: &[String]) -> Result<Value, ApiError> {
        let mut wanted: Vec<usize> = Vec::new();
        for range in ranges {
            let (tab, _) = self.resolve(range)?;
            if !wanted.contains(&tab) {
                wanted.push(tab);
            }
        }
        wanted.sort_unstable();
        let tabs: Vec<usize> = if ranges.is_empty() {
            (0..self.tabs.len()).collect()
        } else {
            wanted
        };
        Ok(json!({
            "spreadsheetId": id,
            "properties": {
                "title": self.title,
                "locale": "ko_KR",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Asia/Seoul",
            },
            "sheets": tabs
                .into_iter()
                .map(|i| json!({ "properties": props_json(&self.tabs[i], i) }))
                .collect::<Vec<_>>(),
            "spreadsheetUrl": format!("https://docs.google.com/spreadsheets/d/{id}/edit"),
        }))
    }

    // -- value writes --------------------------------------------------------------------------

    /// Plans a write of `rows` at `range`: the written rectangle, or Google's 400.
    fn plan_write(
        &self,
        range: &str,
        rows: &[Vec<Write>],
    ) -> Result<(usize, Option<Rect>), ApiError> {
        let (tab, bounds) = self.resolve(range)?;
        let meta = &self.tabs[tab];
        let height = rows.len() as u32;
        let width = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        if height == 0 || width == 0 {
            // Nothing to write; the range must still be valid.
            self.rect(tab, bounds)?;
            return Ok((tab, None));
        }
        if !bounds.is_single_cell() {
            if let Some(end) = bounds.end_row
                && bounds.start_row + height - 1 > end
            {
                return Err(ApiError::invalid(format!(
                    "Requested writing within range [{range}], but tried writing to row [{}]",
                    end + 2
                )));
            }
            if let Some(end) = bounds.end_col
                && bounds.start_col + width - 1 > end
            {
                return Err(ApiError::invalid(format!(
                    "Requested writing within range [{range}], but tried writing to column [{}]",
                    a1::column_letters(end + 1)
                )));
            }
        }
        let rect = Rect {
            r0: bounds.start_row,
            c0: bounds.start_col,
            r1: bounds.start_row + height - 1,
            c1: bounds.start_col + width - 1,
        };
        if rect.r1 >= meta.rows || rect.c1 >= meta.cols {
            return Err(exceeds_grid(
                meta,
                &a1::cells(rect.r0, rect.c0, rect.r1, rect.c1),
            ));
        }
        Ok((tab, Some(rect)))
    }

    /// Writes planned cells (never fails).
    fn apply_write(&mut self, tab: usize, rect: Rect, rows: WriteRows) {
        let sheet_id = self.tabs[tab].sheet_id;
        let grid = self.grid_mut(sheet_id);
        for (i, row) in rows.into_iter().enumerate() {
            for (j, cell) in row.into_iter().enumerate() {
                let cell = match cell {
                    Write::Keep => continue,
                    Write::Clear => None,
                    Write::Set(value) => Some(value),
                };
                set_cell(grid, rect.r0 as usize + i, rect.c0 as usize + j, cell);
            }
        }
    }

    fn update_response(
        &self,
        id: &str,
        tab: usize,
        rect: Option<Rect>,
        rows: &[Vec<Write>],
        fallback_range: &str,
        echo: Option<ReadOpts>,
    ) -> Value {
        let Some(rect) = rect else {
            return json!({ "spreadsheetId": id, "updatedRange": fallback_range });
        };
        let cells = rows.iter().flatten().filter(|c| **c != Write::Keep).count();
        let mut out = json!({
            "spreadsheetId": id,
            "updatedRange": self.format(tab, rect),
            "updatedRows": rows.iter().filter(|r| !r.is_empty()).count(),
            "updatedColumns": rect.c1 - rect.c0 + 1,
            "updatedCells": cells,
        });
        if let Some(opts) = echo {
            out["updatedData"] = self.value_range(tab, rect, opts);
        }
        out
    }

    /// The rows of a `ValueRange` body sent to `range` (update and append): a `range` in the
    /// body must name the same cells as the URL's, as Google requires.
    fn body_rows(
        &self,
        range: &str,
        body: &ValueRangeIn,
        input: Input,
    ) -> Result<WriteRows, ApiError> {
        if let Some(body_range) = &body.range
            && self.resolve(body_range).ok() != Some(self.resolve(range)?)
        {
            return Err(ApiError::invalid(format!(
                "Invalid ValueRange: the range in the body [{body_range}] does not match the \
                 range in the URL [{range}]"
            )));
        }
        let major = Major::parse(body.major_dimension.as_deref(), "major_dimension")?;
        input_rows(body.values.as_deref().unwrap_or(&[]), major, input, "")
    }

    /// `values.update`. Returns the response and the written range (if any).
    pub(crate) fn update_values(
        &mut self,
        id: &str,
        range: &str,
        body: &ValueRangeIn,
        input: Input,
        echo: Option<ReadOpts>,
    ) -> Result<(Value, Option<String>), ApiError> {
        let rows = self.body_rows(range, body, input)?;
        let (tab, rect) = self.plan_write(range, &rows)?;
        if let Some(rect) = rect {
            self.apply_write(tab, rect, rows.clone());
        }
        let response = self.update_response(id, tab, rect, &rows, range, echo);
        Ok((response, rect.map(|r| self.format(tab, r))))
    }

    /// `values.batchUpdate`: all ranges are validated before any is written.
    pub(crate) fn batch_update_values(
        &mut self,
        id: &str,
        data: &[ValueRangeIn],
        input: Input,
        echo: Option<ReadOpts>,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let mut plans = Vec::with_capacity(data.len());
        for (i, entry) in data.iter().enumerate() {
            let range = entry.range.as_deref().ok_or_else(|| {
                ApiError::invalid(format!("Invalid data[{i}]: range is required"))
            })?;
            let major = Major::parse(
                entry.major_dimension.as_deref(),
                &format!("data[{i}].major_dimension"),
            )?;
            let rows = input_rows(
                entry.values.as_deref().unwrap_or(&[]),
                major,
                input,
                &format!("data[{i}]."),
            )?;
            let (tab, rect) = self
                .plan_write(range, &rows)
                .map_err(|e| ApiError::new(e.code, format!("Invalid data[{i}]: {}", e.message)))?;
            plans.push((range, tab, rect, rows));
        }
        for (_, tab, rect, rows) in &plans {
            if let Some(rect) = rect {
                self.apply_write(*tab, *rect, rows.clone());
            }
        }
        let mut responses = Vec::with_capacity(plans.len());
        let mut written = Vec::new();
        let (mut total_rows, mut total_cols, mut total_cells) = (0u64, 0u64, 0u64);
        let mut sheets = HashSet::new();
        for (range, tab, rect, rows) in &plans {
            let response = self.update_response(id, *tab, *rect, rows, range, echo);
            if let Some(rect) = rect {
                written.push(self.format(*tab, *rect));
                sheets.insert(*tab);
                total_rows += response["updatedRows"].as_u64().unwrap_or(0);
                total_cols += response["updatedColumns"].as_u64().unwrap_or(0);
                total_cells += response["updatedCells"].as_u64().unwrap_or(0);
            }
            responses.push(response);
        }
        Ok((
            json!({
                "spreadsheetId": id,
                "totalUpdatedRows": total_rows,
                "totalUpdatedColumns": total_cols,
                "totalUpdatedCells": total_cells,
                "totalUpdatedSheets": sheets.len(),
                "responses": responses,
            }),
            written,
        ))
    }

    /// `values.append`: finds the table at `range`, writes after it, growing the grid as
    /// needed (`INSERT_ROWS` inserts rows instead of overwriting what follows the table).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn append_values(
        &mut self,
        id: &str,
        range: &str,
        body: &ValueRangeIn,
        input: Input,
        insert: InsertData,
        echo: Option<ReadOpts>,
        max_cells: u64,
    ) -> Result<(Value, Option<String>), ApiError> {
        let rows = self.body_rows(range, body, input)?;
        let (tab, bounds) = self.resolve(range)?;
        let meta = self.tabs[tab].clone();
        if bounds.start_row >= meta.rows || bounds.start_col >= meta.cols {
            return Err(exceeds_grid(&meta, &bounds_text(bounds)));
        }
        // Table detection: the contiguous non-blank rows from the first non-blank row at or
        // below the range's start, looking at the range's columns.
        let search_c0 = bounds.start_col as usize;
        let search_c1 = match bounds.end_col {
            Some(c) if !bounds.is_single_cell() => c as usize,
            _ => meta.cols as usize - 1,
        };
        let grid = self.grid(meta.sheet_id);
        let blank = |r: usize| {
            grid.get(r).is_none_or(|row| {
                row.iter()
                    .enumerate()
                    .all(|(c, cell)| c < search_c0 || c > search_c1 || cell.is_none())
            })
        };
        let first = (bounds.start_row as usize..grid.len()).find(|&r| !blank(r));
        let (table, at) = match first {
            Some(top) => {
                let mut bottom = top;
                while bottom + 1 < grid.len() && !blank(bottom + 1) {
                    bottom += 1;
                }
                let right = (top..=bottom)
                    .filter_map(|r| {
                        grid[r]
                            .iter()
                            .enumerate()
                            .rposition(|(c, cell)| c <= search_c1 && cell.is_some())
                    })
                    .max()
                    .unwrap_or(search_c0)
                    .max(search_c0);
                let table = a1::format_range(
                    &meta.title,
                    top as u32,
                    search_c0 as u32,
                    bottom as u32,
                    right as u32,
                );
                (Some(table), bottom as u32 + 1)
            }
            None => (None, bounds.start_row),
        };
        let height = rows.len() as u32;
        let width = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        if height == 0 || width == 0 {
            let mut out = json!({
                "spreadsheetId": id,
                "updates": { "spreadsheetId": id },
            });
            if let Some(table) = table {
                out["tableRange"] = json!(table);
            }
            return Ok((out, None));
        }
        let rect = Rect {
            r0: at,
            c0: bounds.start_col,
            r1: at + height - 1,
            c1: bounds.start_col + width - 1,
        };
        let new_rows = match insert {
            InsertData::InsertRows => meta.rows + height,
            InsertData::Overwrite => meta.rows.max(rect.r1 + 1),
        };
        let new_cols = meta.cols.max(rect.c1 + 1);
        if new_cols > MAX_COLUMNS {
            return Err(ApiError::invalid(format!(
                "Range ({}!{}) exceeds the maximum of {MAX_COLUMNS} columns",
                a1::always_quoted(&meta.title),
                a1::cells(rect.r0, rect.c0, rect.r1, rect.c1)
            )));
        }
        let mut grown = self.tabs.clone();
        grown[tab].rows = new_rows;
        grown[tab].cols = new_cols;
        check_cell_limit(self.total_cells(), total_cells(&grown), max_cells)?;

        self.tabs = grown;
        if insert == InsertData::InsertRows {
            insert_rows(self.grid_mut(meta.sheet_id), at as usize, height as usize);
        }
        self.apply_write(tab, rect, rows.clone());
        let updates = self.update_response(id, tab, Some(rect), &rows, range, echo);
        let mut out = json!({ "spreadsheetId": id, "updates": updates });
        if let Some(table) = table {
            out["tableRange"] = json!(table);
        }
        Ok((out, Some(self.format(tab, rect))))
    }

    /// `values.clear`.
    pub(crate) fn clear_values(
        &mut self,
        id: &str,
        range: &str,
    ) -> Result<(Value, String), ApiError> {
        let (tab, bounds) = self.resolve(range)?;
        let rect = self.rect(tab, bounds)?;
        let sheet_id = self.tabs[tab].sheet_id;
        let grid = self.grid_mut(sheet_id);
        for r in rect.r0 as usize..=(rect.r1 as usize).min(grid.len().saturating_sub(1)) {
            if let Some(row) = grid.get_mut(r) {
                for c in rect.c0 as usize..=(rect.c1 as usize).min(row.len().saturating_sub(1)) {
                    row[c] = None;
                }
            }
        }
        let cleared = self.format(tab, rect);
        Ok((
            json!({ "spreadsheetId": id, "clearedRange": cleared }),
            cleared,
        ))
    }

    // -- structure -----------------------------------------------------------------------------

    /// `spreadsheets.batchUpdate`: dry-run on a copy of the metadata, then applied for real.
    pub(crate) fn batch_update(
        &mut self,
        id: &str,
        body: &BatchUpdateIn,
        max_cells: u64,
    ) -> Result<Value, ApiError> {
        let requests = body.requests.as_deref().unwrap_or(&[]);
        if requests.is_empty() {
            return Err(ApiError::invalid("Must specify at least one request."));
        }
        if body.response_include_grid_data == Some(true) {
            return Err(ApiError::invalid(
                "The fake Google server does not implement responseIncludeGridData",
            ));
        }
        let parsed = requests
            .iter()
            .enumerate()
            .map(|(i, r)| StructRequest::parse(i, r))
            .collect::<Result<Vec<_>, _>>()?;

        let mut dry_tabs = self.tabs.clone();
        let mut dry_seed = self.id_seed;
        for (i, request) in parsed.iter().enumerate() {
            apply_struct(i, request, &mut dry_tabs, None, &mut dry_seed, max_cells)?;
        }
        let mut replies = Vec::with_capacity(parsed.len());
        for (i, request) in parsed.iter().enumerate() {
            replies.push(apply_struct(
                i,
                request,
                &mut self.tabs,
                Some(&mut self.grids),
                &mut self.id_seed,
                max_cells,
            )?);
        }
        let mut out = json!({ "spreadsheetId": id, "replies": replies });
        if body.include_spreadsheet_in_response == Some(true) {
            let ranges = body.response_ranges.clone().unwrap_or_default();
            out["updatedSpreadsheet"] = self.spreadsheet(id, &ranges)?;
        }
        Ok(out)
    }

    // -- a person's edits (host side) ----------------------------------------------------------

    /// The tab's grid as displayed text, trailing empties trimmed per row and at the end.
    pub(crate) fn text(&self, tab: &TabMeta) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .grid(tab.sheet_id)
            .iter()
            .map(|row| {
                let mut cells: Vec<String> = row.iter().map(|c| display(c.as_ref())).collect();
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                cells
            })
            .collect();
        while rows.last().is_some_and(Vec::is_empty) {
            rows.pop();
        }
        rows
    }

    pub(crate) fn cell(&self, tab: &TabMeta, row: usize, col: usize) -> Option<CellValue> {
        self.grid(tab.sheet_id)
            .get(row)
            .and_then(|r| r.get(col))
            .cloned()
            .flatten()
    }

    /// Replaces every cell with `rows` as typed text (a paste), growing the grid to fit.
    pub(crate) fn set_text(&mut self, tab: usize, rows: Vec<Vec<String>>) {
        let height = rows.len() as u32;
        let width = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let meta = &mut self.tabs[tab];
        meta.rows = meta.rows.max(height);
        meta.cols = meta.cols.max(width);
        let grid: Grid = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|s| (!s.is_empty()).then_some(CellValue::Text(s)))
                    .collect()
            })
            .collect();
        self.grids.insert(meta.sheet_id, grid);
    }

    /// Sets one cell to a number (0-based), growing the grid to fit.
    pub(crate) fn set_number(&mut self, tab: usize, row: usize, col: usize, value: f64) {
        let meta = &mut self.tabs[tab];
        meta.rows = meta.rows.max(row as u32 + 1);
        meta.cols = meta.cols.max(col as u32 + 1);
        let sheet_id = meta.sheet_id;
        set_cell(
            self.grid_mut(sheet_id),
            row,
            col,
            Some(CellValue::Number(value)),
        );
    }

    /// Inserts one empty row before 0-based row `at` (clamped to the grid), growing it.
    pub(crate) fn insert_blank_row(&mut self, tab: usize, at: usize) {
        let meta = &mut self.tabs[tab];
        let at = at.min(meta.rows as usize);
        meta.rows += 1;
        if (at as u32) < meta.frozen_rows {
            meta.frozen_rows += 1;
        }
        let sheet_id = meta.sheet_id;
        insert_rows(self.grid_mut(sheet_id), at, 1);
    }

    /// Inserts one column before 0-based column `at` (clamped) with `header` in row 1.
    pub(crate) fn add_column(&mut self, tab: usize, header: &str, at: usize) {
        let meta = &mut self.tabs[tab];
        let at = at.min(meta.cols as usize);
        meta.cols += 1;
        let sheet_id = meta.sheet_id;
        let grid = self.grid_mut(sheet_id);
        insert_cols(grid, at, 1);
        let header = (!header.is_empty()).then(|| CellValue::Text(header.to_owned()));
        set_cell(grid, 0, at, header);
    }

    /// Sorts the data rows (row 1 stays) by a 0-based column; blanks sort last either way.
    pub(crate) fn sort_rows_by(&mut self, tab: usize, column: usize, descending: bool) {
        let sheet_id = self.tabs[tab].sheet_id;
        let grid = self.grid_mut(sheet_id);
        while grid.last().is_some_and(|r| r.iter().all(Option::is_none)) {
            grid.pop();
        }
        if grid.len() <= 2 {
            return;
        }
        grid[1..].sort_by(|a, b| {
            let (ka, kb) = (
                a.get(column).and_then(Option::as_ref),
                b.get(column).and_then(Option::as_ref),
            );
            match (ka, kb) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => {
                    let order = compare_cells(x, y);
                    if descending { order.reverse() } else { order }
                }
            }
        });
    }
}

/// Sheets' sort order: numbers before text before booleans; text case-insensitively.
fn compare_cells(a: &CellValue, b: &CellValue) -> std::cmp::Ordering {
    fn rank(c: &CellValue) -> u8 {
        match c {
            CellValue::Number(_) => 0,
            CellValue::Text(_) | CellValue::Formula(_) => 1,
            CellValue::Bool(_) => 2,
        }
    }
    match (a, b) {
        (CellValue::Number(x), CellValue::Number(y)) => x.total_cmp(y),
        (
            CellValue::Text(x) | CellValue::Formula(x),
            CellValue::Text(y) | CellValue::Formula(y),
        ) => x.to_lowercase().cmp(&y.to_lowercase()).then(x.cmp(y)),
        (CellValue::Bool(x), CellValue::Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn set_cell(grid: &mut Grid, r: usize, c: usize, cell: Option<CellValue>) {
    if cell.is_none() && grid.get(r).is_none_or(|row| c >= row.len()) {
        return;
    }
    if grid.len() <= r {
        grid.resize_with(r + 1, Vec::new);
    }
    let row = &mut grid[r];
    if row.len() <= c {
        row.resize(c + 1, None);
    }
    row[c] = cell;
}

fn insert_rows(grid: &mut Grid, at: usize, n: usize) {
    if at < grid.len() {
        grid.splice(at..at, std::iter::repeat_with(Vec::new).take(n));
    }
}

fn delete_rows(grid: &mut Grid, start: usize, end: usize) {
    if start < grid.len() {
        grid.drain(start..end.min(grid.len()));
    }
}

fn insert_cols(grid: &mut Grid, at: usize, n: usize) {
    for row in grid.iter_mut() {
        if at < row.len() {
            row.splice(at..at, std::iter::repeat_n(None, n));
        }
    }
}

fn delete_cols(grid: &mut Grid, start: usize, end: usize) {
    for row in grid.iter_mut() {
        if start < row.len() {
            row.drain(start..end.min(row.len()));
        }
    }
}

fn total_cells(tabs: &[TabMeta]) -> u64 {
    tabs.iter()
        .map(|t| u64::from(t.rows) * u64::from(t.cols))
        .sum()
}

/// Google refuses an action that grows the workbook past its cell limit.
fn check_cell_limit(before: u64, after: u64, max_cells: u64) -> Result<(), ApiError> {
    if after > max_cells && after > before {
        return Err(ApiError::invalid(format!(
            "This action would increase the number of cells in the workbook above the limit of \
             {max_cells} cells."
        )));
    }
    Ok(())
}

fn exceeds_grid(meta: &TabMeta, cells: &str) -> ApiError {
    ApiError::invalid(format!(
        "Range ({}!{cells}) exceeds grid limits. Max rows: {}, max columns: {}",
        a1::always_quoted(&meta.title),
        meta.rows,
        meta.cols
    ))
}

/// The cell part of bounds as written (`A2:Z`, `A:A`, `1:1`, `B2`).
fn bounds_text(b: Bounds) -> String {
    let start_col = a1::column_letters(b.start_col);
    match (b.end_row, b.end_col) {
        (Some(r1), Some(c1)) => a1::cells(b.start_row, b.start_col, r1, c1),
        (None, Some(c1)) if b.start_row == 0 => {
            format!("{start_col}:{}", a1::column_letters(c1))
        }
        (None, Some(c1)) => format!("{start_col}{}:{}", b.start_row + 1, a1::column_letters(c1)),
        (Some(r1), None) if b.start_col == 0 => format!("{}:{}", b.start_row + 1, r1 + 1),
        (Some(r1), None) => format!("{start_col}{}:{}", b.start_row + 1, r1 + 1),
        (None, None) => format!("{start_col}{}", b.start_row + 1),
    }
}

/// `SheetProperties` JSON as Google returns it (zero frozen counts omitted).
pub(crate) fn props_json(meta: &TabMeta, index: usize) -> Value {
    let mut grid = json!({ "rowCount": meta.rows, "columnCount": meta.cols });
    if meta.frozen_rows > 0 {
        grid["frozenRowCount"] = json!(meta.frozen_rows);
    }
    if meta.frozen_cols > 0 {
        grid["frozenColumnCount"] = json!(meta.frozen_cols);
    }
    let mut props = json!({
        "sheetId": meta.sheet_id,
        "title": meta.title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": grid,
    });
    if meta.hidden {
        props["hidden"] = json!(true);
    }
    props
}

// ---------------------------------------------------------------------------------------------
// spreadsheets.batchUpdate requests

#[derive(Debug)]
enum StructRequest {
    AddSheet(SheetPropsIn),
    UpdateSheetProperties {
        props: SheetPropsIn,
        fields: String,
    },
    AppendDimension(AppendDimensionIn),
    InsertDimension {
        range: DimensionRangeIn,
        inherit_before: bool,
    },
    DeleteDimension(DimensionRangeIn),
    DeleteSheet(i32),
}

impl StructRequest {
    fn kind(&self) -> &'static str {
        match self {
            StructRequest::AddSheet(_) => "addSheet",
            StructRequest::UpdateSheetProperties { .. } => "updateSheetProperties",
            StructRequest::AppendDimension(_) => "appendDimension",
            StructRequest::InsertDimension { .. } => "insertDimension",
            StructRequest::DeleteDimension(_) => "deleteDimension",
            StructRequest::DeleteSheet(_) => "deleteSheet",
        }
    }

    fn parse(i: usize, request: &Map<String, Value>) -> Result<StructRequest, ApiError> {
        let mut kinds = request.iter();
        let (kind, value) = match (kinds.next(), kinds.next()) {
            (None, _) => {
                return Err(ApiError::invalid(format!(
                    "Invalid requests[{i}]: No request set."
                )));
            }
            (Some(_), Some(_)) => {
                let names: Vec<&str> = request.keys().map(String::as_str).collect();
                return Err(ApiError::invalid(format!(
                    "Invalid value at 'requests[{i}]' (oneof field 'kind' is already set. \
                     Cannot set {names:?})"
                )));
            }
            (Some(one), None) => one,
        };
        fn body<T: serde::de::DeserializeOwned>(
            i: usize,
            kind: &str,
            value: &Value,
        ) -> Result<T, ApiError> {
            serde_json::from_value(value.clone()).map_err(|e| {
                ApiError::invalid(format!(
                    "Invalid JSON payload received. requests[{i}].{kind}: {e}"
                ))
            })
        }
        Ok(match kind.as_str() {
            "addSheet" => {
                let add: AddSheetIn = body(i, kind, value)?;
                StructRequest::AddSheet(add.properties.unwrap_or_default())
            }
            "updateSheetProperties" => {
                let update: UpdateSheetPropertiesIn = body(i, kind, value)?;
                let fields = update.fields.unwrap_or_default();
                if fields.trim().is_empty() {
                    return Err(ApiError::invalid(format!(
                        "Invalid requests[{i}].updateSheetProperties: At least one field must \
                         be specified in 'fields'."
                    )));
                }
                StructRequest::UpdateSheetProperties {
                    props: update.properties.unwrap_or_default(),
                    fields,
                }
            }
            "appendDimension" => StructRequest::AppendDimension(body(i, kind, value)?),
            "insertDimension" => {
                let insert: InsertDimensionIn = body(i, kind, value)?;
                StructRequest::InsertDimension {
                    range: insert.range.unwrap_or_default(),
                    inherit_before: insert.inherit_from_before.unwrap_or(false),
                }
            }
            "deleteDimension" => {
                let delete: DeleteDimensionIn = body(i, kind, value)?;
                StructRequest::DeleteDimension(delete.range.unwrap_or_default())
            }
            "deleteSheet" => {
                let delete: DeleteSheetIn = body(i, kind, value)?;
                StructRequest::DeleteSheet(delete.sheet_id.unwrap_or(0))
            }
            other if UNSUPPORTED_KINDS.contains(&other) => {
                return Err(ApiError::invalid(format!(
                    "The fake Google server does not implement requests[{i}].{other}"
                )));
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "Invalid JSON payload received. Unknown name \"{other}\" at 'requests[{i}]': \
                     Cannot find field."
                )));
            }
        })
    }
}

fn next_sheet_id(tabs: &[TabMeta], seed: &mut u32) -> i32 {
    loop {
        *seed = seed.wrapping_add(1);
        // Spread ids like Google's random ones, deterministically.
        let id = (seed.wrapping_mul(2_654_435_761) % 2_000_000_000) as i32 + 1;
        if tabs.iter().all(|t| t.sheet_id != id) {
            return id;
        }
    }
}

fn positive(value: Option<i32>, what: &str, prefix: &str) -> Result<Option<u32>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) if v < 0 => Err(ApiError::invalid(format!(
            "{prefix}: {what} must not be negative, got {v}"
        ))),
        Some(v) => Ok(Some(v as u32)),
    }
}

fn check_grid_shape(meta: &TabMeta, prefix: &str) -> Result<(), ApiError> {
    if meta.rows == 0 || meta.cols == 0 {
        return Err(ApiError::invalid(format!(
            "{prefix}: rowCount and columnCount must be at least 1 (a field mask that names \
             gridProperties resets fields you did not send)"
        )));
    }
    if meta.cols > MAX_COLUMNS {
        return Err(ApiError::invalid(format!(
            "{prefix}: columnCount {} exceeds the maximum of {MAX_COLUMNS}",
            meta.cols
        )));
    }
    if meta.frozen_rows >= meta.rows {
        return Err(ApiError::invalid(format!(
            "{prefix}: You can't freeze all visible rows on the sheet."
        )));
    }
    if meta.frozen_cols >= meta.cols {
        return Err(ApiError::invalid(format!(
            "{prefix}: You can't freeze all visible columns on the sheet."
        )));
    }
    Ok(())
}

fn title_taken(tabs: &[TabMeta], title: &str, except: Option<i32>) -> bool {
    tabs.iter()
        .any(|t| Some(t.sheet_id) != except && t.title.to_lowercase() == title.to_lowercase())
}

fn check_title(title: &str, prefix: &str) -> Result<(), ApiError> {
    if title.trim().is_empty() {
        return Err(ApiError::invalid(format!(
            "{prefix}: Sheet title must not be empty."
        )));
    }
    if title.chars().count() > 100 {
        return Err(ApiError::invalid(format!(
            "{prefix}: Sheet title is longer than 100 characters."
        )));
    }
    Ok(())
}

fn find_tab(tabs: &[TabMeta], sheet_id: i32, prefix: &str) -> Result<usize, ApiError> {
    tabs.iter()
        .position(|t| t.sheet_id == sheet_id)
        .ok_or_else(|| ApiError::invalid(format!("{prefix}: No grid with id: {sheet_id}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Rows,
    Columns,
}

fn dimension(value: Option<&str>, prefix: &str) -> Result<Dim, ApiError> {
    match value {
        Some("ROWS") => Ok(Dim::Rows),
        Some("COLUMNS") => Ok(Dim::Columns),
        Some(other) if other != "DIMENSION_UNSPECIFIED" => {
            Err(bad_enum(&format!("{prefix}.dimension"), "Dimension", other))
        }
        _ => Err(ApiError::invalid(format!(
            "{prefix}: dimension must be ROWS or COLUMNS"
        ))),
    }
}

/// Applies one structural request to `tabs` (and to the grids, when given). Returns its reply.
fn apply_struct(
    i: usize,
    request: &StructRequest,
    tabs: &mut Vec<TabMeta>,
    grids: Option<&mut HashMap<i32, Grid>>,
    seed: &mut u32,
    max_cells: u64,
) -> Result<Value, ApiError> {
    let prefix = format!("Invalid requests[{i}].{}", request.kind());
    let prefix = prefix.as_str();
    let before = total_cells(tabs);
    let reply = match request {
        StructRequest::AddSheet(props) => {
            if props.sheet_type.as_deref().is_some_and(|t| t != "GRID") {
                return Err(ApiError::invalid(format!(
                    "{prefix}: the fake Google server only creates GRID sheets"
                )));
            }
            let sheet_id = match props.sheet_id {
                Some(id) if id < 0 => {
                    return Err(ApiError::invalid(format!(
                        "{prefix}: sheetId must not be negative"
                    )));
                }
                Some(id) if tabs.iter().any(|t| t.sheet_id == id) => {
                    return Err(ApiError::invalid(format!(
                        "{prefix}: Sheet with id {id} already exists."
                    )));
                }
                Some(id) => id,
                None => next_sheet_id(tabs, seed),
            };
            let title = match &props.title {
                Some(title) => title.clone(),
                None => (tabs.len() + 1..)
                    .map(|n| format!("Sheet{n}"))
                    .find(|t| !title_taken(tabs, t, None))
                    .unwrap_or_default(),
            };
            check_title(&title, prefix)?;
            if title_taken(tabs, &title, None) {
                return Err(ApiError::invalid(format!(
                    "{prefix}: A sheet with the name \"{title}\" already exists. Please enter \
                     another name."
                )));
            }
            let grid = props.grid_properties.as_ref();
            let field = |f: fn(&GridPropsIn) -> Option<i32>| grid.and_then(f);
            let meta = TabMeta {
                sheet_id,
                title,
                rows: positive(field(|g| g.row_count), "rowCount", prefix)?.unwrap_or(DEFAULT_ROWS),
                cols: positive(field(|g| g.column_count), "columnCount", prefix)?
                    .unwrap_or(DEFAULT_COLUMNS),
                frozen_rows: positive(field(|g| g.frozen_row_count), "frozenRowCount", prefix)?
                    .unwrap_or(0),
                frozen_cols: positive(
                    field(|g| g.frozen_column_count),
                    "frozenColumnCount",
                    prefix,
                )?
                .unwrap_or(0),
                hidden: props.hidden.unwrap_or(false),
            };
            check_grid_shape(&meta, prefix)?;
            let index = match positive(props.index, "index", prefix)? {
                None => tabs.len(),
                Some(index) if index as usize <= tabs.len() => index as usize,
                Some(index) => {
                    return Err(ApiError::invalid(format!(
                        "{prefix}: index {index} is past the last sheet ({})",
                        tabs.len()
                    )));
                }
            };
            tabs.insert(index, meta);
            check_cell_limit(before, total_cells(tabs), max_cells)?;
            if let Some(grids) = grids {
                grids.insert(sheet_id, Grid::new());
            }
            json!({ "addSheet": { "properties": props_json(&tabs[index], index) } })
        }
        StructRequest::UpdateSheetProperties { props, fields } => {
            let at = find_tab(tabs, props.sheet_id.unwrap_or(0), prefix)?;
            let mut meta = tabs[at].clone();
            let mut move_to = None;
            let grid = props.grid_properties.as_ref();
            let grid_field = |f: fn(&GridPropsIn) -> Option<i32>| grid.and_then(f);
            let mut paths: Vec<&str> = fields.split(',').map(str::trim).collect();
            if paths.contains(&"*") {
                paths = vec!["title", "index", "hidden", "gridProperties"];
            }
            for path in paths {
                match path {
                    "title" => {
                        let title = props.title.clone().unwrap_or_default();
                        check_title(&title, prefix)?;
                        if title_taken(tabs, &title, Some(meta.sheet_id)) {
                            return Err(ApiError::invalid(format!(
                                "{prefix}: A sheet with the name \"{title}\" already exists. \
                                 Please enter another name."
                            )));
                        }
                        meta.title = title;
                    }
                    "index" => move_to = Some(positive(props.index, "index", prefix)?.unwrap_or(0)),
                    "hidden" => meta.hidden = props.hidden.unwrap_or(false),
                    "rightToLeft" | "tabColor" | "tabColorStyle" => {}
                    "gridProperties" => {
                        meta.rows =
                            positive(grid_field(|g| g.row_count), "rowCount", prefix)?.unwrap_or(0);
                        meta.cols =
                            positive(grid_field(|g| g.column_count), "columnCount", prefix)?
                                .unwrap_or(0);
                        meta.frozen_rows =
                            positive(grid_field(|g| g.frozen_row_count), "frozenRowCount", prefix)?
                                .unwrap_or(0);
                        meta.frozen_cols = positive(
                            grid_field(|g| g.frozen_column_count),
                            "frozenColumnCount",
                            prefix,
                        )?
                        .unwrap_or(0);
                    }
                    "gridProperties.rowCount" => {
                        meta.rows =
                            positive(grid_field(|g| g.row_count), "rowCount", prefix)?.unwrap_or(0);
                    }
                    "gridProperties.columnCount" => {
                        meta.cols =
                            positive(grid_field(|g| g.column_count), "columnCount", prefix)?
                                .unwrap_or(0);
                    }
                    "gridProperties.frozenRowCount" => {
                        meta.frozen_rows =
                            positive(grid_field(|g| g.frozen_row_count), "frozenRowCount", prefix)?
                                .unwrap_or(0);
                    }
                    "gridProperties.frozenColumnCount" => {
                        meta.frozen_cols = positive(
                            grid_field(|g| g.frozen_column_count),
                            "frozenColumnCount",
                            prefix,
                        )?
                        .unwrap_or(0);
                    }
                    "gridProperties.hideGridlines"
                    | "gridProperties.rowGroupControlAfter"
                    | "gridProperties.columnGroupControlAfter" => {}
                    "sheetId" | "sheetType" => {
                        return Err(ApiError::invalid(format!(
                            "{prefix}: {path} cannot be updated."
                        )));
                    }
                    other => {
                        return Err(ApiError::invalid(format!(
                            "{prefix}: Invalid field mask path \"{other}\" in fields \
                             \"{fields}\""
                        )));
                    }
                }
            }
            check_grid_shape(&meta, prefix)?;
            let (old_rows, old_cols, sheet_id) = (tabs[at].rows, tabs[at].cols, meta.sheet_id);
            let (new_rows, new_cols) = (meta.rows, meta.cols);
            tabs[at] = meta;
            if let Some(to) = move_to {
                let to = (to as usize).min(tabs.len() - 1);
                let tab = tabs.remove(at);
                tabs.insert(to, tab);
            }
            check_cell_limit(before, total_cells(tabs), max_cells)?;
            if let Some(grids) = grids {
                let grid = grids.entry(sheet_id).or_default();
                if new_rows < old_rows {
                    grid.truncate(new_rows as usize);
                }
                if new_cols < old_cols {
                    for row in grid.iter_mut() {
                        row.truncate(new_cols as usize);
                    }
                }
            }
            json!({})
        }
        StructRequest::AppendDimension(append) => {
            let at = find_tab(tabs, append.sheet_id.unwrap_or(0), prefix)?;
            let dim = dimension(append.dimension.as_deref(), prefix)?;
            let length = match append.length {
                Some(n) if n > 0 => n as u32,
                _ => {
                    return Err(ApiError::invalid(format!(
                        "{prefix}: length must be at least 1"
                    )));
                }
            };
            let meta = &mut tabs[at];
            match dim {
                Dim::Rows => meta.rows = meta.rows.saturating_add(length),
                Dim::Columns => meta.cols = meta.cols.saturating_add(length),
            }
            check_grid_shape(meta, prefix)?;
            check_cell_limit(before, total_cells(tabs), max_cells)?;
            json!({})
        }
        StructRequest::InsertDimension {
            range,
            inherit_before,
        } => {
            let at = find_tab(tabs, range.sheet_id.unwrap_or(0), prefix)?;
            let dim = dimension(range.dimension.as_deref(), prefix)?;
            let start = positive(range.start_index, "startIndex", prefix)?.unwrap_or(0);
            let end = positive(range.end_index, "endIndex", prefix)?.unwrap_or(0);
            let meta = &mut tabs[at];
            let count = match dim {
                Dim::Rows => meta.rows,
                Dim::Columns => meta.cols,
            };
            if end <= start {
                return Err(ApiError::invalid(format!(
                    "{prefix}: endIndex ({end}) must be greater than startIndex ({start})"
                )));
            }
            if start > count {
                return Err(ApiError::invalid(format!(
                    "{prefix}: startIndex ({start}) is past the end of the grid ({count})"
                )));
            }
            if *inherit_before && start == 0 {
                return Err(ApiError::invalid(format!(
                    "{prefix}: Cannot inherit properties from before when inserting at index 0"
                )));
            }
            let n = end - start;
            match dim {
                Dim::Rows => {
                    meta.rows += n;
                    if start < meta.frozen_rows {
                        meta.frozen_rows += n;
                    }
                }
                Dim::Columns => {
                    meta.cols += n;
                    if start < meta.frozen_cols {
                        meta.frozen_cols += n;
                    }
                }
            }
            check_grid_shape(meta, prefix)?;
            let sheet_id = meta.sheet_id;
            check_cell_limit(before, total_cells(tabs), max_cells)?;
            if let Some(grids) = grids {
                let grid = grids.entry(sheet_id).or_default();
                match dim {
                    Dim::Rows => insert_rows(grid, start as usize, n as usize),
                    Dim::Columns => insert_cols(grid, start as usize, n as usize),
                }
            }
            json!({})
        }
        StructRequest::DeleteDimension(range) => {
            let at = find_tab(tabs, range.sheet_id.unwrap_or(0), prefix)?;
            let dim = dimension(range.dimension.as_deref(), prefix)?;
            let start = positive(range.start_index, "startIndex", prefix)?.unwrap_or(0);
            let end = positive(range.end_index, "endIndex", prefix)?.unwrap_or(0);
            let meta = &mut tabs[at];
            let (count, frozen) = match dim {
                Dim::Rows => (meta.rows, meta.frozen_rows),
                Dim::Columns => (meta.cols, meta.frozen_cols),
            };
            if end <= start || end > count {
                return Err(ApiError::invalid(format!(
                    "{prefix}: Invalid range [{start}, {end}) for a dimension of size {count}"
                )));
            }
            if start == 0 && end == count {
                return Err(ApiError::invalid(format!(
                    "{prefix}: You can't delete all the {} on the sheet.",
                    if dim == Dim::Rows { "rows" } else { "columns" }
                )));
            }
            let n = end - start;
            let frozen_removed = frozen.saturating_sub(start).min(n);
            match dim {
                Dim::Rows => {
                    meta.rows -= n;
                    meta.frozen_rows -= frozen_removed;
                }
                Dim::Columns => {
                    meta.cols -= n;
                    meta.frozen_cols -= frozen_removed;
                }
            }
            check_grid_shape(meta, prefix)?;
            let sheet_id = meta.sheet_id;
            if let Some(grids) = grids {
                let grid = grids.entry(sheet_id).or_default();
                match dim {
                    Dim::Rows => delete_rows(grid, start as usize, end as usize),
                    Dim::Columns => delete_cols(grid, start as usize, end as usize),
                }
            }
            json!({})
        }
        StructRequest::DeleteSheet(sheet_id) => {
            let at = find_tab(tabs, *sheet_id, prefix)?;
            if tabs.len() == 1 {
                return Err(ApiError::invalid(format!(
                    "{prefix}: You can't remove all the sheets in a document."
                )));
            }
            tabs.remove(at);
            if let Some(grids) = grids {
                grids.remove(sheet_id);
            }
            json!({})
        }
    };
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        json!(v)
    }

    #[test]
    fn user_entered_interpretation() {
        assert_eq!(
            user_entered("=SUM(A1:A2)"),
            CellValue::Formula("=SUM(A1:A2)".into())
        );
        assert_eq!(user_entered("0012"), CellValue::Number(12.0));
        assert_eq!(
            user_entered("+821012345678"),
            CellValue::Number(821012345678.0)
        );
        assert_eq!(user_entered("1.5e3"), CellValue::Number(1500.0));
        assert_eq!(user_entered("'0012"), CellValue::Text("0012".into()));
        assert_eq!(user_entered("TRUE"), CellValue::Bool(true));
        assert_eq!(
            user_entered("2024-01-01"),
            CellValue::Text("2024-01-01".into())
        );
        assert_eq!(user_entered("1,000"), CellValue::Text("1,000".into()));
        assert_eq!(user_entered("e5"), CellValue::Text("e5".into()));
    }

    #[test]
    fn raw_keeps_text() {
        for text in ["=SUM(A1:A2)", "+821012345678", "0012", "TRUE"] {
            assert_eq!(
                input_cell(&s(text), Input::Raw, "x"),
                Ok(Write::Set(CellValue::Text(text.into())))
            );
        }
        assert_eq!(input_cell(&s(""), Input::Raw, "x"), Ok(Write::Clear));
        assert!(input_cell(&Value::Null, Input::Raw, "x").is_err());
        assert!(input_cell(&json!([1]), Input::Raw, "x").is_err());
    }

    #[test]
    fn read_trims_and_renders() {
        let mut book = Workbook::new("t");
        let rows = vec![
            vec![json!("a"), json!(1.5), json!(""), json!("")],
            vec![json!(""), json!(""), json!(""), json!("")],
            vec![json!(true), json!(12)],
        ];
        let body = ValueRangeIn {
            range: None,
            major_dimension: None,
            values: Some(rows),
        };
        book.update_values("id", "Sheet1!A1", &body, Input::Raw, None)
            .expect("update");
        let read = book
            .get_values("Sheet1!A1:D5", ReadOpts::default())
            .expect("get");
        assert_eq!(read["range"], "Sheet1!A1:D5");
        assert_eq!(read["values"], json!([["a", "1.5"], [], ["TRUE", "12"]]));
        let unformatted = book
            .get_values(
                "Sheet1",
                ReadOpts {
                    major: Major::Columns,
                    render: Render::Unformatted,
                },
            )
            .expect("get");
        assert_eq!(unformatted["range"], "Sheet1!A1:Z1000");
        assert_eq!(
            unformatted["values"],
            json!([["a", "", true], [1.5, "", 12]])
        );
        let empty = book
            .get_values("Sheet1!E1:F2", ReadOpts::default())
            .expect("get");
        assert!(empty.get("values").is_none());
    }
}
