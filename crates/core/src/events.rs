//! The events each stage receives from Step Functions and returns to it.
//!
//! Only references and counts: a window's event is a few hundred bytes however many orders it
//! covers, so the state machine stays far below its 256 KB limit and its history holds no
//! customer data. The ASL builds these shapes with `Parameters`/`ItemSelector`; tests round-trip
//! every one of them. [`parse_event`] and [`parse_event_value`] read any of them (and the
//! execution input) naming the path of a bad field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::columns::ColumnChoice;
use crate::refs::ObjectRef;
use crate::request::InvalidInput;
use crate::window::Window;

/// Input of the transform function for one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformEvent {
    /// `$$.Execution.Name`: names the objects this run writes.
    pub execution: String,
    /// The window the orders were imported for.
    pub window: Window,
    /// The window's orders object, as import returned it.
    pub orders: ObjectRef,
    /// The request's column choice; the `standard` preset when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<ColumnChoice>,
}

/// Output of the transform function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformResult {
    pub window: Window,
    pub rows: ObjectRef,
    pub counts: TransformCounts,
}

/// What transform did, for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformCounts {
    /// Order records read.
    pub orders_in: u64,
    /// Rows written (one per distinct `productOrderId`).
    pub rows_out: u64,
    /// Records dropped because a more recent change of the same product order was present.
    pub duplicates_dropped: u64,
}

/// Input of the import function for one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportEvent {
    /// `$$.Execution.Name`: names the objects this run writes.
    pub execution: String,
    /// Whose orders (a credentials reference, never credentials).
    pub account: crate::request::AccountRef,
    /// The window to import (at most 24 h).
    pub window: Window,
    /// Which date the window is about; the change feed's when absent.
    #[serde(default)]
    pub by: Option<crate::request::RangeBy>,
    /// A sync's plan (null for a range request): the window it names also re-reads the
    /// sync's open orders.
    #[serde(default)]
    pub sync: Option<crate::cursor::SyncPlan>,
    /// Imports of this execution that run at once (the Map's concurrency, at most its windows):
    /// each keeps to its part of NAVER's per-application rate. Absent: the function's configured
    /// Map concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
}

/// Output of the import function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportResult {
    pub window: Window,
    pub orders: ObjectRef,
    pub counts: crate::source::FetchCounts,
}

/// What one Map iteration hands on: the window's rows object and what import and transform
/// counted (built by the ASL's `WindowDone` Pass state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowOutcome {
    pub window: Window,
    pub rows: ObjectRef,
    pub fetched: crate::source::FetchCounts,
    pub transformed: TransformCounts,
}

/// Input of the insert function: every window's rows, upserted once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertEvent {
    /// `$$.Execution.Name`: the lease holder.
    pub execution: String,
    /// The target tab.
    pub sheet: crate::request::SheetTarget,
    /// The Map's results in window order (a later window's row for a key wins).
    pub windows: Vec<WindowOutcome>,
    /// A sync's plan (null for a range request): the cursor moves once the sheet holds the
    /// windows.
    #[serde(default)]
    pub sync: Option<crate::cursor::SyncPlan>,
}

/// Output of the insert function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertResult {
    /// Rows written after the last data row.
    pub appended: u64,
    /// Existing rows whose managed cells changed.
    pub updated: u64,
    /// Existing rows left alone.
    pub unchanged: u64,
    /// Keys found more than once in the sheet (the first row was used).
    pub duplicate_keys_in_sheet: u64,
    /// Sheets API requests, retries included.
    pub api_calls: u64,
    /// What happened to a sync's cursor (absent for a range request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOutcome>,
    /// The workbook's cells (every tab, empty cells included) and Google's limit, when this run
    /// listed the tabs (it does when the tab is created or grown, which a run that appends does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_budget: Option<CellBudget>,
}

/// How much of Google's per-workbook cell limit the workbook uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CellBudget {
    pub cells: u64,
    pub limit: u64,
    /// At least [`CELL_BUDGET_WARNING_PERCENT`] of the limit: new rows will soon be refused.
    /// Archive old rows to another spreadsheet, or delete unused tabs and columns.
    pub warning: bool,
}

/// The share of the cell limit at which the run summary warns.
pub const CELL_BUDGET_WARNING_PERCENT: u64 = 80;

impl CellBudget {
    pub fn new(cells: u64, limit: u64) -> Self {
        CellBudget {
            cells,
            limit,
            warning: limit > 0
                && cells.saturating_mul(100) >= limit.saturating_mul(CELL_BUDGET_WARNING_PERCENT),
        }
    }
}

/// A sync's cursor after the insert step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncOutcome {
    /// What the step did with the cursor.
    pub commit: SyncCommit,
    /// The cursor now: every change before it is in the sheet.
    pub cursor: chrono::DateTime<chrono::FixedOffset>,
    /// The cursor's generation now.
    pub generation: u64,
    /// Product orders the cursor lists for re-reading.
    pub open_orders: u64,
}

/// What the insert step did with a sync's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncCommit {
    /// Written, then moved to the sync's end.
    Moved,
    /// Already moved by this execution (a rerun after the commit): nothing written again.
    AlreadyMoved,
    /// Another sync moved it after this one planned: nothing written (the next sync covers
    /// whatever this one saw beyond it).
    Superseded,
}

/// Input of the Plan step, which the import function runs before any API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanEvent {
    /// `$$.Execution.Name`: checked here, so a bad name fails before any work.
    pub execution: String,
    /// The execution input exactly as the backend sent it (a `RunRequest`, read and validated by
    /// the plan so its problems are reported with field names).
    pub request: serde_json::Value,
}

/// Output of the Plan step: the validated request, split into windows. Everything later states
/// use comes from here, not from the raw input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanResult {
    pub account: crate::request::AccountRef,
    pub sheet: crate::request::SheetTarget,
    /// The request's column choice, or the default made explicit (JSONPath cannot default a
    /// missing field, so later states always find one).
    pub columns: ColumnChoice,
    /// At most 24 h each, consecutive, in KST.
    pub windows: Vec<Window>,
    /// The Map's `MaxConcurrencyPath`: windows imported at once (NAVER's rate limit is per
    /// application, so more is not faster), at most the windows there are; each import gets it
    /// as `instances` and keeps to that share of the rate.
    pub max_concurrency: u32,
    /// Which date the windows are about (`changed` for a sync).
    pub by: crate::request::RangeBy,
    /// A sync's plan; null (never absent: the ASL's paths need the field) for a range request.
    pub sync: Option<crate::cursor::SyncPlan>,
}

/// The execution's output: what the run did, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// Windows imported.
    pub windows: u64,
    /// Product orders the change feed listed (summed over windows).
    pub orders_changed: u64,
    /// Product orders whose details were fetched.
    pub orders_fetched: u64,
    /// Listed by the feed but not returned by the details call.
    pub orders_missing: u64,
    /// Rows the windows produced (before insert merges windows by key).
    pub rows: u64,
    /// Rows written after the last data row.
    pub appended: u64,
    /// Existing rows whose managed cells changed.
    pub updated: u64,
    /// Existing rows left alone.
    pub unchanged: u64,
    /// Keys found more than once in the sheet (the first row was used).
    pub duplicate_keys_in_sheet: u64,
    /// NAVER Commerce API requests (tokens and retries included).
    pub naver_api_calls: u64,
    /// Google Sheets API requests (retries included).
    pub sheets_api_calls: u64,
    /// Open product orders a sync re-read by id.
    #[serde(default)]
    pub orders_rechecked: u64,
    /// A sync's cursor (absent for a range request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOutcome>,
    /// The workbook's use of Google's cell limit, when this run listed the tabs; `warning` at
    /// 80 % and over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_budget: Option<CellBudget>,
}

impl RunSummary {
    /// Totals over the Map's outcomes plus what insert did.
    pub fn new(windows: &[WindowOutcome], insert: &InsertResult) -> Self {
        // Saturating: the counts arrive in the event, and a sum past u64::MAX must neither panic
        // (overflow checks) nor wrap to a small number.
        let sum = |f: fn(&WindowOutcome) -> u64| windows.iter().map(f).fold(0, u64::saturating_add);
        RunSummary {
            windows: windows.len() as u64,
            orders_changed: sum(|w| w.fetched.changed),
            orders_fetched: sum(|w| w.fetched.fetched),
            orders_missing: sum(|w| w.fetched.missing),
            rows: sum(|w| w.transformed.rows_out),
            appended: insert.appended,
            updated: insert.updated,
            unchanged: insert.unchanged,
            duplicate_keys_in_sheet: insert.duplicate_keys_in_sheet,
            naver_api_calls: sum(|w| w.fetched.api_calls),
            sheets_api_calls: insert.api_calls,
            orders_rechecked: sum(|w| w.fetched.rechecked),
            sync: insert.sync,
            cell_budget: insert.cell_budget,
        }
    }
}

impl From<TransformResult> for WindowOutcome {
    /// A window's outcome without import's counts (zero): for tools and tests that start from
    /// rows objects.
    fn from(result: TransformResult) -> Self {
        WindowOutcome {
            window: result.window,
            rows: result.rows,
            fetched: crate::source::FetchCounts::default(),
            transformed: result.counts,
        }
    }
}

/// Reads any stage event or request from JSON, naming the path of a bad or unknown field.
/// serde's own messages can quote the offending value; for requests that value is ours to see
/// (no customer data travels in events), and it is cut short to keep messages small.
pub fn parse_event<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, InvalidInput> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(path_error)
}

/// [`parse_event`] for an event that is already a JSON value (as Lambda hands it over).
pub fn parse_event_value<T: serde::de::DeserializeOwned>(
    json: serde_json::Value,
) -> Result<T, InvalidInput> {
    serde_path_to_error::deserialize(json).map_err(path_error)
}

fn path_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> InvalidInput {
    let path = e.path().to_string();
    let inner: String = e.inner().to_string().chars().take(300).collect();
    InvalidInput::new(if path == "." {
        inner
    } else {
        format!("{path}: {inner}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_sums_saturate() {
        // An insert event found while writing fuzz/fuzz_targets/events.rs: it panicked with
        // overflow checks on (tests, debug builds) and wrapped in release.
        let outcome: WindowOutcome = serde_json::from_value(serde_json::json!({
            "window": {"from": "2026-11-25T00:00:00+09:00", "to": "2026-11-26T00:00:00+09:00"},
            "rows": {"uri": "file:///r", "schema": "ordersync.rows", "version": 1,
                     "records": 1, "bytes": 1, "sha256": "00"},
            "fetched": {"changed": u64::MAX, "fetched": 1, "missing": 0, "api_calls": 2},
            "transformed": {"orders_in": 1, "rows_out": 1, "duplicates_dropped": 0}
        }))
        .unwrap();
        let summary = RunSummary::new(&[outcome.clone(), outcome], &InsertResult::default());
        assert_eq!(summary.windows, 2);
        assert_eq!(summary.orders_changed, u64::MAX);
        assert_eq!(summary.orders_fetched, 2);
        assert_eq!(summary.naver_api_calls, 4);
    }
}
