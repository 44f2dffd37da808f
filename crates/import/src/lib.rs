//! The import stage: one window's changed product orders from a [`Source`] into an orders
//! object at `runs/{execution}/orders/{window}.jsonl.zst`.
//!
//! - [`call`]: the function's two jobs — the state machine's Plan step and one window's import.
//! - [`handler`]: validate, fetch, stream into the payload writer, store, report counts.
//! - [`credentials`]: where NAVER credentials come from (Secrets Manager in Lambda, a file or
//!   the environment locally), chosen once at cold start.
//!
//! [`Source`]: ordersync_core::source::Source

pub mod call;
pub mod credentials;
pub mod handler;

pub use call::{ImportCall, handle_call, parse_call};
pub use handler::{deadline_from, handle, parse_event};
