//! Google Sheets as the pipeline's sink: an idempotent upsert by key.
//!
//! - [`a1`]: A1 notation and URL-safe ranges.
//! - [`plan`]: the pure decision — which header cells and rows to write where.
//!
//! The google-sheets4 client, retries and the insert handler build on these (issue #4).

pub mod a1;
pub mod plan;
