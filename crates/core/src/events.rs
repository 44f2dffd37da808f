//! The events each stage receives from Step Functions and returns to it.
//!
//! Only references and counts: a window's event is a few hundred bytes however many orders it
//! covers, so the state machine stays far below its 256 KB limit and its history holds no
//! customer data. The ASL builds these shapes with `Parameters`/`ItemSelector`; tests round-trip
//! every one of them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::columns::ColumnChoice;
use crate::refs::ObjectRef;
use crate::window::Window;

/// Input of the transform function for one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformEvent {
    /// `$$.Execution.Name`: names the objects this run writes.
    pub execution: String,
    /// The window the orders were imported for.
    pub window: Window,
    /// The imported orders (usually one object per window).
    pub orders: Vec<ObjectRef>,
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
}

/// Output of the import function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportResult {
    pub window: Window,
    pub orders: ObjectRef,
    pub counts: crate::source::FetchCounts,
}

/// Input of the insert function: every window's rows, upserted once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertEvent {
    /// `$$.Execution.Name`: the lease holder.
    pub execution: String,
    /// The target tab.
    pub sheet: crate::request::SheetTarget,
    /// Rows objects in window order (a later window's row for a key wins).
    pub rows: Vec<ObjectRef>,
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
}
