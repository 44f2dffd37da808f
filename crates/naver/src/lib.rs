//! A strict NAVER Commerce API client for importing orders (reference:
//! `../shared/reference/naver-commerce-api.md`).
//!
//! - [`sign`]: the bcrypt `client_secret_sign`.
//! - [`config`]: base URL, timeouts, credentials (never printed), the IPv4-only HTTP client.
//! - [`client`]: tokens, change feed (≤ 24 h windows, paged), details (≤ 300 ids per call).
//! - [`limiter`] and [`retry`]: following NAVER's rate-limit headers; which answers to retry
//!   (the waits are `ordersync_core::backoff`'s, inside the caller's deadline).
//! - [`error`]: every failure with NAVER's code and trace id, mapped to pipeline error names.
//! - [`source`]: the [`ordersync_core::source::Source`] adapter and where credentials come from.
//!
//! No AWS here: the crate links no AWS SDK (`tests/architecture.rs` holds that); Secrets
//! Manager is read by the import function (`ordersync-aws`), which hands credentials in.

pub mod client;
pub mod config;
pub mod error;
pub mod limiter;
pub mod retry;
pub mod sign;
pub mod source;
mod wire;

pub use client::NaverClient;
pub use config::{Access, Credentials, NaverConfig};
pub use error::NaverError;
pub use source::{CredentialStore, NaverSource};
