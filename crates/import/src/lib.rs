//! The import stage: one window's changed product orders from a [`Source`] into an orders
//! object at `runs/{execution}/orders/{window}.jsonl.zst`.
//!
//! - [`call`]: the function's two jobs — the state machine's Plan step and one window's import.
//! - [`handler`]: validate, fetch, stream into the payload writer, store, report counts.
//! - [`progress`]: where a window too large for one invocation goes on in the next.
//! - [`config`]: everything the function reads from its environment, read once.
//! - [`credentials`]: the NAVER credential stores (Secrets Manager in Lambda, a file or the
//!   environment locally).
//!
//! [`Source`]: ordersync_core::source::Source

pub mod call;
pub mod config;
pub mod credentials;
pub mod handler;
pub mod progress;

pub use call::{ImportCall, handle_call, parse_call};
pub use handler::{Continuation, deadline_from, handle, handle_with, parse_event};
