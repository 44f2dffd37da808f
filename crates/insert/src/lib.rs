//! The insert stage: every window's rows objects upserted into the target tab, once, under a
//! lease on that tab.
//!
//! - [`config`]: everything the function reads from its environment, read once.
//! - [`handler`]: validate, read and verify the rows objects, take the lease, upsert, release,
//!   over any [`ordersync_sheets::Workbook`] (the Google client in Lambda, memory in tests).
//! - [`error`]: the stage's failures, classified into Step Functions names at the handler.
//! - [`key`]: where the Google service-account key comes from (Secrets Manager in Lambda, the
//!   file in `GOOGLE_APPLICATION_CREDENTIALS` locally).

pub mod config;
pub mod error;
pub mod handler;
pub mod key;

pub use error::InsertError;
pub use handler::{handle, parse_event};
