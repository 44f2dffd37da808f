//! Google Sheets as the pipeline's sink: an idempotent upsert by key.
//!
//! - [`a1`]: A1 notation and URL-safe ranges.
//! - [`plan`]: the pure decision — which header cells and rows to write where.
//! - [`scan`]: what is kept of a tab read row by row (our keys' rows and cell digests, counts),
//!   so insert's memory does not grow with the tab.
//! - [`stream`]: a `values.get` answer cut into rows as it arrives (gzip-decoded on the way).
//! - [`workbook`]: the seam — the [`Workbook`] trait, exactly the calls the upsert makes.
//! - [`client`]: google-sheets4 + yup-oauth2, scoped to spreadsheets, retried within a deadline;
//!   the [`Workbook`] the Lambda uses.
//! - [`memory`]: a [`Workbook`] in memory with Google's rules, for tests without HTTP.
//! - [`upsert`]: read once, plan, grow the grid if needed (checking the 10M-cell limit first),
//!   write explicit ranges with `RAW`, over any [`Workbook`].
//! - [`moved`]: the check before each write request that no one moved the rows it targets.
//! - [`error`]: failures mapped to pipeline error names.
//!
//! The insert Lambda (lease, handler) builds on these.

pub mod a1;
pub mod client;
pub mod error;
pub mod memory;
pub mod moved;
pub mod plan;
pub mod scan;
pub mod stream;
pub mod upsert;
pub mod workbook;

pub use client::{SheetsClient, SheetsConfig};
pub use error::SheetsError;
pub use memory::MemoryWorkbook;
pub use upsert::{Target, Unguarded, UpsertSummary, WriteGuard, try_upsert, upsert};
pub use workbook::{GridChange, KeyRead, Limits, TabInfo, TabRead, Workbook};
