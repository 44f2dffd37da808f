//! Google Sheets as the pipeline's sink: an idempotent upsert by key.
//!
//! - [`a1`]: A1 notation and URL-safe ranges.
//! - [`plan`]: the pure decision — which header cells and rows to write where.
//! - [`client`]: google-sheets4 + yup-oauth2, scoped to spreadsheets, retried within a deadline.
//! - [`upsert`]: read once, plan, grow the grid if needed (checking the 10M-cell limit first),
//!   write explicit ranges with `RAW`.
//! - [`error`]: failures mapped to pipeline error names.
//!
//! The insert Lambda (lease, handler) builds on these.

pub mod a1;
pub mod client;
pub mod error;
pub mod plan;
pub mod upsert;

pub use client::{SheetsClient, SheetsConfig};
pub use error::SheetsError;
pub use upsert::{Target, Unguarded, UpsertSummary, WriteGuard, upsert};
